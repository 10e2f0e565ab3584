#pragma once
// HL7 error conditions: the table 0357 codes and the ERR-2 (ERL) location that the parser,
// the mappers and the ACK builder share.
//
// Errors travel as cg::Error (protocols/fhir/model/result.hpp) like everywhere else. An HL7
// error additionally carries its 0357 code and location inside Error::location, written as
// "PID[1]-3(2).4 #102" (location, then "#" and the code; "#207" when the error is about the
// whole message). error_code() and error_location() read them back; they are the one place
// that turns any cg::Error into what ERR-2 and ERR-3 need. Pure values; thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::hl7v2 {

// HL7 table 0357, "Message error condition codes" (v2.5+; 104 is v2.7+).
enum class ErrorCode : int {
  kSegmentSequenceError = 100,
  kRequiredFieldMissing = 101,
  kDataTypeError = 102,
  kTableValueNotFound = 103,
  kValueTooLong = 104,
  kUnsupportedMessageType = 200,
  kUnsupportedEventCode = 201,
  kUnsupportedProcessingId = 202,
  kUnsupportedVersionId = 203,
  kUnknownKeyIdentifier = 204,
  kDuplicateKeyIdentifier = 205,
  kApplicationRecordLocked = 206,
  kApplicationInternalError = 207,
};

// The table's display text ("Segment sequence error"), for ERR-3.2.
std::string_view error_code_text(ErrorCode code);

// ERR-2 (data type ERL). Numbers are 1-based as in HL7; 0 means "not given". The segment
// sequence counts occurrences of that segment id: the second OBX is OBX sequence 2.
struct ErrorLocation {
  std::string segment;  // "PID"; empty when the error concerns the whole message
  int segment_sequence = 0;
  int field = 0;
  int repetition = 0;
  int component = 0;
  int subcomponent = 0;

  bool operator==(const ErrorLocation&) const = default;
};

// "PID[1]-3(2).4.1", stopping at the first number that is not given; "" for no segment.
std::string to_string(const ErrorLocation& location);

// An Error whose kind follows from the code (1xx: kInvalid, 200-203: kUnsupported, 204:
// kNotFound, 205: kConflict, 206: kUnavailable, 207: kInternal) unless one is given.
Error make_error(ErrorCode code, std::string message, const ErrorLocation& location = {});
Error make_error(ErrorCode code, ErrorKind kind, std::string message,
                 const ErrorLocation& location = {});

// The 0357 code of any error: the one written by make_error(), otherwise derived from the kind
// (kInvalid: 102, kUnsupported: 200, kNotFound: 204, kConflict: 205, anything else: 207).
ErrorCode error_code(const Error& error);

// The ERR-2 location written by make_error(); nullopt when there is none.
std::optional<ErrorLocation> error_location(const Error& error);

}  // namespace cg::hl7v2
