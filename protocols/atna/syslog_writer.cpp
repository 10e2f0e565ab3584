#include "protocols/atna/syslog_writer.hpp"

namespace cg::atna {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

Status append_header_field(const HeaderFieldRule& rule, std::string_view value, std::string* out) {
  *out += ' ';
  if (value.empty()) {
    *out += '-';
    return ok_status();
  }
  if (Status checked = check_header_field(rule, value); !checked) return checked;
  *out += value;
  return ok_status();
}

void append_param_value(std::string_view value, std::string* out) {
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ']') *out += '\\';
    *out += c;
  }
}

Status append_sd_element(const SdElement& element, std::string* out) {
  if (Status checked = check_sd_name("SD-ID", element.id); !checked) return checked;
  *out += '[';
  *out += element.id;
  for (const SdParam& param : element.params) {
    if (Status checked = check_sd_name("PARAM-NAME", param.name); !checked) return checked;
    *out += ' ';
    *out += param.name;
    *out += "=\"";
    append_param_value(param.value, out);
    *out += '"';
  }
  *out += ']';
  return ok_status();
}

Status append_structured_data(const std::vector<SdElement>& elements, std::string* out) {
  *out += ' ';
  if (elements.empty()) {
    *out += '-';
    return ok_status();
  }
  for (const SdElement& element : elements) {
    if (Status appended = append_sd_element(element, out); !appended) return appended;
  }
  return ok_status();
}

}  // namespace

Result<std::string> format_rfc5424(const SyslogMessage& message) {
  if (message.facility < 0 || message.facility > 23) return Error::invalid("facility not 0..23");
  if (message.severity < 0 || message.severity > 7) return Error::invalid("severity not 0..7");
  std::string out = "<" + std::to_string(message.facility * 8 + message.severity) + ">1";
  const std::pair<const HeaderFieldRule*, const std::string*> fields[] = {
      {&kTimestampField, &message.timestamp}, {&kHostnameField, &message.hostname},
      {&kAppNameField, &message.app_name},    {&kProcIdField, &message.procid},
      {&kMsgIdField, &message.msgid},
  };
  for (const auto& [rule, value] : fields) {
    if (Status appended = append_header_field(*rule, *value, &out); !appended) {
      return appended.take_error();
    }
  }
  if (Status sd = append_structured_data(message.structured_data, &out); !sd) {
    return sd.take_error();
  }
  if (message.msg_bom || !message.msg.empty()) {
    out += ' ';
    if (message.msg_bom) out += kUtf8Bom;
    out += message.msg;
  }
  return out;
}

}  // namespace cg::atna
