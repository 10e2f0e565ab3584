#pragma once
// Parsing HL7v2 messages in ER7 ("pipe and hat") encoding into Message values.
//
// Accepted: a message starting with MSH (optionally after a UTF-8 byte order mark); delimiters
// from MSH-1/MSH-2; segments ended by "\r", "\n" or "\r\n" (the last one may be unended);
// empty or blank lines between segments (skipped); MSH-18 naming ASCII, 8859/1 or UNICODE
// UTF-8 (charset.hpp) — empty means options.default_charset, or UTF-8 after a BOM; any other
// name is read as the default too unless options.reject_unknown_charset. Any
// version in MSH-12 parses (the syntax is the same since 2.1); header.hpp says whether the
// gateway supports it. Parsing is structural: required fields and segment order are for
// check_header() and the mappers.
//
// Errors carry an HL7 0357 code and location (error.hpp):
// - 100 at no location: the message does not start with MSH; 100 at the segment: a second
//   MSH, or a segment without a valid id (three upper-case letters or digits);
// - 102 at MSH-1 / MSH-2: unusable delimiters;
// - 103 at MSH-18 (kind kUnsupported): a character set the gateway does not read, when
//   ParseOptions::reject_unknown_charset is set;
// - 207 (kind kTooLarge): over a limit of ParseOptions.
// Messages never quote the input (it is patient data). Pure functions; thread-safe.

#include <cstddef>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/charset.hpp"
#include "protocols/hl7v2/message.hpp"

namespace cg::hl7v2 {

struct ParseOptions {
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  std::size_t max_segments = 10'000;
  std::size_t max_fields_per_segment = 1'000;
  // The charset of a message whose MSH-18 is empty (and that has no byte order mark).
  Charset default_charset = Charset::kAscii;
  // An MSH-18 naming another charset is an error (103) instead of being read as the default.
  // The default's tolerant reading (charset.hpp) suits the real-world cases: 8859/15 and
  // other Latin sets, made-up names. Callers can check charset_from_name(get("MSH-18"))
  // themselves to answer such messages differently.
  bool reject_unknown_charset = false;
};

Result<Message> parse(std::string_view bytes, const ParseOptions& options = {});

// Splits a file or stream holding several messages into one view per message, each starting
// at its MSH (the first one at a leading byte order mark) and ending with its last segment's
// terminator. Batch envelope segments (FHS, BHS, BTS, FTS) and blank lines between messages
// are dropped; text before the first MSH that is neither is returned as a chunk of its own,
// which parse() then rejects. Views point into `bytes`.
std::vector<std::string_view> split_messages(std::string_view bytes);

}  // namespace cg::hl7v2
