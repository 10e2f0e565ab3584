#include "protocols/hl7v2/header.hpp"

#include <charconv>
#include <string_view>

#include "protocols/hl7v2/error.hpp"

namespace cg::hl7v2 {
namespace {

// "5" → 5; -1 for anything but 1-3 digits.
int parse_small_number(std::string_view text) {
  int n = -1;
  if (text.empty() || text.size() > 3) return -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc() && end == text.data() + text.size() ? n : -1;
}

Version parse_version(std::string text) {
  Version v;
  std::string_view rest = text;
  int parts[3] = {0, 0, 0};
  int count = 0;
  while (count < 3) {
    std::size_t dot = rest.find('.');
    int n = parse_small_number(rest.substr(0, dot));
    if (n < 0) break;
    parts[count++] = n;
    if (dot == std::string_view::npos) {
      rest = {};
      break;
    }
    rest.remove_prefix(dot + 1);
  }
  if (count >= 2 && rest.empty() && parts[0] > 0) {
    v.major = parts[0];
    v.minor = parts[1];
    v.patch = parts[2];
  }
  v.text = std::move(text);
  return v;
}

ProcessingId processing_id(std::string_view code) {
  if (code.empty()) return ProcessingId::kNotGiven;
  if (code == "P") return ProcessingId::kProduction;
  if (code == "T") return ProcessingId::kTraining;
  if (code == "D") return ProcessingId::kDebugging;
  return ProcessingId::kOther;
}

AckCondition ack_condition(std::string_view code) {
  if (code.empty()) return AckCondition::kNotGiven;
  if (code == "AL") return AckCondition::kAlways;
  if (code == "NE") return AckCondition::kNever;
  if (code == "ER") return AckCondition::kErrorOnly;
  if (code == "SU") return AckCondition::kSuccessOnly;
  return AckCondition::kOther;
}

}  // namespace

bool Version::supported() const {
  return major == 2 && minor >= 3 && minor <= 8;
}

MessageHeader read_header(const Message& message) {
  MessageHeader h;
  h.type.code = message.get("MSH-9.1");
  h.type.trigger = message.get("MSH-9.2");
  h.type.structure = message.get("MSH-9.3");
  h.control_id = message.get("MSH-10");
  h.processing_id = processing_id(message.get("MSH-11.1"));
  h.processing_mode = message.get("MSH-11.2");
  h.version = parse_version(message.get("MSH-12.1"));
  h.accept_ack = ack_condition(message.get("MSH-15"));
  h.application_ack = ack_condition(message.get("MSH-16"));
  return h;
}

Status check_header(const Message& message) {
  struct Required {
    const char* path;
    ErrorLocation location;
    const char* what;
  };
  const bool is_ack = message.get("MSH-9.1") == "ACK";
  const Required required[] = {
      {"MSH-9.1", {"MSH", 1, 9, 1, 1}, "MSH-9.1 (message code) is missing"},
      {"MSH-9.2", {"MSH", 1, 9, 1, 2}, "MSH-9.2 (trigger event) is missing"},
      {"MSH-10", {"MSH", 1, 10}, "MSH-10 (message control id) is missing"},
      {"MSH-11.1", {"MSH", 1, 11, 1, 1}, "MSH-11 (processing id) is missing"},
      {"MSH-12.1", {"MSH", 1, 12, 1, 1}, "MSH-12 (version id) is missing"},
  };
  for (const Required& r : required) {
    if (is_ack && std::string_view(r.path) == "MSH-9.2") continue;
    if (message.get(r.path).empty()) {
      return make_error(ErrorCode::kRequiredFieldMissing, r.what, r.location);
    }
  }
  if (parse_version(message.get("MSH-12.1")).major == 0) {
    return make_error(ErrorCode::kDataTypeError, "MSH-12 is not a version number",
                      {"MSH", 1, 12, 1, 1});
  }
  return ok_status();
}

}  // namespace cg::hl7v2
