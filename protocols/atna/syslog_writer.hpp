#pragma once
// Writing RFC 5424 syslog messages: what the gateway uses to forward its own audit records
// to an upstream audit repository (frame them with octet_frame() for TCP/TLS).
// Pure functions; safe from any thread.

#include <string>

#include "protocols/atna/syslog_message.hpp"

namespace cg::atna {

// Writes `message` as "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [SP [BOM] MSG]".
// `format` is ignored (the output is always RFC 5424). Empty header fields and an empty
// structured_data are written as "-"; `timestamp` is written as given (make it with
// format_rfc5424_timestamp()). SD-PARAM values are escaped (" \ ]). MSG is written as bytes,
// after the BOM when msg_bom is set; SP MSG is left out when both are empty.
// Errors (kInvalid, naming the field): facility or severity out of range, a header field
// or SD name that the parser would not read back (see check_header_field, check_sd_name).
// Whatever parse_syslog_message() read as RFC 5424 is written back so that it parses to
// the same fields.
Result<std::string> format_rfc5424(const SyslogMessage& message);

}  // namespace cg::atna
