#include "protocols/hl7v2/error.hpp"

#include <charconv>

#include "protocols/hl7v2/path.hpp"

namespace cg::hl7v2 {
namespace {

ErrorKind kind_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUnsupportedMessageType:
    case ErrorCode::kUnsupportedEventCode:
    case ErrorCode::kUnsupportedProcessingId:
    case ErrorCode::kUnsupportedVersionId:
      return ErrorKind::kUnsupported;
    case ErrorCode::kUnknownKeyIdentifier:
      return ErrorKind::kNotFound;
    case ErrorCode::kDuplicateKeyIdentifier:
      return ErrorKind::kConflict;
    case ErrorCode::kApplicationRecordLocked:
      return ErrorKind::kUnavailable;
    case ErrorCode::kApplicationInternalError:
      return ErrorKind::kInternal;
    default:
      return ErrorKind::kInvalid;
  }
}

bool is_known_code(int code) {
  return (code >= 100 && code <= 104) || (code >= 200 && code <= 207);
}

Path to_path(const ErrorLocation& location) {
  return {location.segment,    location.segment_sequence, location.field,
          location.repetition, location.component,        location.subcomponent};
}

}  // namespace

std::string_view error_code_text(ErrorCode code) {
  switch (code) {
    case ErrorCode::kSegmentSequenceError:
      return "Segment sequence error";
    case ErrorCode::kRequiredFieldMissing:
      return "Required field missing";
    case ErrorCode::kDataTypeError:
      return "Data type error";
    case ErrorCode::kTableValueNotFound:
      return "Table value not found";
    case ErrorCode::kValueTooLong:
      return "Value too long";
    case ErrorCode::kUnsupportedMessageType:
      return "Unsupported message type";
    case ErrorCode::kUnsupportedEventCode:
      return "Unsupported event code";
    case ErrorCode::kUnsupportedProcessingId:
      return "Unsupported processing id";
    case ErrorCode::kUnsupportedVersionId:
      return "Unsupported version id";
    case ErrorCode::kUnknownKeyIdentifier:
      return "Unknown key identifier";
    case ErrorCode::kDuplicateKeyIdentifier:
      return "Duplicate key identifier";
    case ErrorCode::kApplicationRecordLocked:
      return "Application record locked";
    case ErrorCode::kApplicationInternalError:
      return "Application internal error";
  }
  return "Application internal error";
}

std::string to_string(const ErrorLocation& location) {
  if (location.segment.empty()) return {};
  return to_string(to_path(location));
}

Error make_error(ErrorCode code, std::string message, const ErrorLocation& location) {
  return make_error(code, kind_for(code), std::move(message), location);
}

Error make_error(ErrorCode code, ErrorKind kind, std::string message,
                 const ErrorLocation& location) {
  std::string where = to_string(location);
  if (!where.empty()) where += ' ';
  where += '#' + std::to_string(static_cast<int>(code));
  return {kind, std::move(message), std::move(where)};
}

ErrorCode error_code(const Error& error) {
  const std::string& where = error.location;
  std::size_t hash = where.rfind('#');
  if (hash != std::string::npos) {
    int code = 0;
    auto [end, ec] = std::from_chars(where.data() + hash + 1, where.data() + where.size(), code);
    if (ec == std::errc() && end == where.data() + where.size() && is_known_code(code)) {
      return static_cast<ErrorCode>(code);
    }
  }
  switch (error.kind) {
    case ErrorKind::kInvalid:
      return ErrorCode::kDataTypeError;
    case ErrorKind::kUnsupported:
      return ErrorCode::kUnsupportedMessageType;
    case ErrorKind::kNotFound:
      return ErrorCode::kUnknownKeyIdentifier;
    case ErrorKind::kConflict:
      return ErrorCode::kDuplicateKeyIdentifier;
    default:
      return ErrorCode::kApplicationInternalError;
  }
}

std::optional<ErrorLocation> error_location(const Error& error) {
  std::string_view where = error.location;
  std::size_t hash = where.rfind(" #");
  if (hash == std::string_view::npos) return std::nullopt;
  auto path = parse_path(where.substr(0, hash));
  if (!path) return std::nullopt;
  return ErrorLocation{path->segment,    path->occurrence, path->field,
                       path->repetition, path->component,  path->subcomponent};
}

}  // namespace cg::hl7v2
