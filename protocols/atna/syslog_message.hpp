#pragma once
// SyslogMessage: one syslog message as the ATNA receiver reads it, and the parser that
// reads it from the bytes of one frame (TCP/TLS) or one datagram (UDP).
//
// RFC 5424 is read strictly where its grammar decides the field boundaries (PRI, VERSION,
// header field characters and lengths, STRUCTURED-DATA) and leniently elsewhere: a
// TIMESTAMP that is not a valid date-time is kept as text without an epoch time, SD-PARAM
// values are kept as bytes (UTF-8 not checked), an unescaped ']' inside a quoted value is
// accepted. MSG is kept as bytes; a leading UTF-8 BOM is removed and remembered.
// RFC 3164 ("BSD syslog") is tolerated: "<PRI>Mmm dd hh:mm:ss HOST TAG[pid]: msg", with the
// timestamp, host or tag missing, or an RFC 5424 timestamp in place of the BSD one.
// Anything else after a valid PRI is kept as `msg` with format kUnknown.
//
// Pure functions over values; safe from any thread. Messages never throw across the API.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::atna {

enum class SyslogFormat {
  kRfc5424,  // "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]"
  kRfc3164,  // BSD syslog: a BSD or ISO timestamp, or a TAG, after PRI
  kUnknown,  // a valid PRI followed by free text
};

// One SD-PARAM; `value` is unescaped (RFC 5424 §6.3.3: \" \\ \] stand for " \ ]; a backslash
// before any other character is kept).
struct SdParam {
  std::string name;
  std::string value;
  bool operator==(const SdParam&) const = default;
};

struct SdElement {
  std::string id;
  std::vector<SdParam> params;
  bool operator==(const SdElement&) const = default;
};

// Header fields hold "" for NILVALUE ("-") and for fields the format does not have.
struct SyslogMessage {
  SyslogFormat format = SyslogFormat::kUnknown;
  int facility = 1;       // 0..23; 1 (user) with severity 5 (notice) is RFC 3164's default PRI 13
  int severity = 5;       // 0..7
  std::string timestamp;  // as sent
  std::optional<std::int64_t> timestamp_ms;  // epoch ms, when `timestamp` is a valid date-time
  std::string hostname;
  std::string app_name;  // RFC 3164: the TAG
  std::string procid;    // RFC 3164: the pid in TAG[pid]
  std::string msgid;
  std::vector<SdElement> structured_data;
  std::string msg;       // bytes as sent, BOM removed; may be invalid UTF-8
  bool msg_bom = false;  // MSG started with the UTF-8 BOM (RFC 5424 MSG-UTF8)
  bool operator==(const SyslogMessage&) const = default;
};

// Parses one message (the bytes of one frame or datagram, framing removed). Errors are
// kInvalid with a message naming the field at fault ("PRI", "APP-NAME", "STRUCTURED-DATA"...)
// and no message content; kUnsupported for an RFC 5424 VERSION other than 1.
Result<SyslogMessage> parse_syslog_message(std::string_view bytes);

// The RFC 5424 header fields with the limits of §6: PRINTUSASCII (33..126), 1..max_length.
struct HeaderFieldRule {
  std::string_view name;
  std::size_t max_length;
};
inline constexpr HeaderFieldRule kTimestampField{"TIMESTAMP", 64};
inline constexpr HeaderFieldRule kHostnameField{"HOSTNAME", 255};
inline constexpr HeaderFieldRule kAppNameField{"APP-NAME", 48};
inline constexpr HeaderFieldRule kProcIdField{"PROCID", 128};
inline constexpr HeaderFieldRule kMsgIdField{"MSGID", 32};

// Checks a non-NIL header field value against `rule`; the error names the field.
Status check_header_field(const HeaderFieldRule& rule, std::string_view value);

// Checks an SD-ID or PARAM-NAME (SD-NAME: 1..32 PRINTUSASCII except '=', SP, ']', '"').
// `what` names it in the error.
Status check_sd_name(std::string_view what, std::string_view name);

}  // namespace cg::atna
