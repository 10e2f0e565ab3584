#include "protocols/atna/syslog_message.hpp"

#include <array>

#include "protocols/atna/syslog_timestamp.hpp"

namespace cg::atna {
namespace {

constexpr std::string_view kNilValue = "-";
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr int kMaxPrival = 191;  // facility 23, severity 7
constexpr std::size_t kMaxSdNameLength = 32;
constexpr std::size_t kMaxTagLength = 48;  // kept within APP-NAME's limit

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_printusascii(char c) {
  return c >= 33 && c <= 126;
}
bool is_sd_name_char(char c) {
  return is_printusascii(c) && c != '=' && c != ']' && c != '"';
}

std::string field_text(std::string_view what, std::string_view problem) {
  std::string text(what);
  text += ' ';
  text += problem;
  return text;
}

// Removes and returns everything up to the first SP (or the end); the SP stays.
std::string_view take_token(std::string_view* rest) {
  const std::string_view token = rest->substr(0, rest->find(' '));
  rest->remove_prefix(token.size());
  return token;
}

// "<" 1*3DIGIT ">", 0..191. RFC 3164 allows no leading zeros, RFC 5424's grammar does; both
// are read.
Result<int> read_pri(std::string_view* rest) {
  if (rest->empty() || rest->front() != '<') return Error::invalid("PRI missing: no '<'");
  std::size_t i = 1;
  int prival = 0;
  while (i < rest->size() && i <= 3 && is_digit((*rest)[i])) {
    prival = prival * 10 + ((*rest)[i] - '0');
    ++i;
  }
  if (i == 1 || i >= rest->size() || (*rest)[i] != '>') {
    return Error::invalid("PRI is not '<' 1-3 digits '>'");
  }
  if (prival > kMaxPrival) return Error::invalid("PRI above 191");
  rest->remove_prefix(i + 1);
  return prival;
}

// RFC 5424's VERSION is 1-3 digits and a SP right after PRI; an RFC 3164 message has a
// month name, a date or a tag there instead.
std::optional<std::string_view> version_token(std::string_view rest) {
  const std::string_view token = rest.substr(0, rest.find(' '));
  if (token.empty() || token.size() > 3 || token.size() == rest.size()) return std::nullopt;
  for (char c : token) {
    if (!is_digit(c)) return std::nullopt;
  }
  return token;
}

// MSG: everything after the header's SP; a leading BOM marks UTF-8 and is not content.
void set_msg(std::string_view bytes, SyslogMessage* message) {
  message->msg_bom = bytes.starts_with(kUtf8Bom);
  if (message->msg_bom) bytes.remove_prefix(kUtf8Bom.size());
  message->msg.assign(bytes);
}

// One header field and the SP after it; "-" reads as "".
Status read_header_field(const HeaderFieldRule& rule, std::string_view* rest, std::string* out) {
  const std::string_view token = take_token(rest);
  if (token.empty()) {
    return Error::invalid(field_text(rule.name, rest->empty() ? "missing" : "empty"));
  }
  if (Status checked = check_header_field(rule, token); !checked) return checked;
  if (rest->empty()) return Error::invalid(field_text(rule.name, "is the end of the message"));
  rest->remove_prefix(1);
  out->assign(token == kNilValue ? std::string_view() : token);
  return ok_status();
}

Result<std::string_view> read_sd_name(std::string_view what, std::string_view* rest) {
  std::size_t length = 0;
  while (length < rest->size() && is_sd_name_char((*rest)[length])) ++length;
  const std::string_view name = rest->substr(0, length);
  if (Status checked = check_sd_name(what, name); !checked) return checked.take_error();
  rest->remove_prefix(length);
  return name;
}

// PARAM-VALUE after its opening quote, up to and including the closing quote.
Result<std::string> read_param_value(std::string_view* rest) {
  std::string value;
  std::size_t i = 0;
  while (i < rest->size()) {
    const char c = (*rest)[i];
    if (c == '"') {
      rest->remove_prefix(i + 1);
      return value;
    }
    const char next = i + 1 < rest->size() ? (*rest)[i + 1] : '\0';
    if (c == '\\' && (next == '"' || next == '\\' || next == ']')) {
      value += next;
      i += 2;
      continue;
    }
    value += c;
    ++i;
  }
  return Error::invalid("PARAM-VALUE has no closing '\"'");
}

Result<SdParam> read_sd_param(std::string_view* rest) {
  Result<std::string_view> name = read_sd_name("PARAM-NAME", rest);
  if (!name) return name.take_error();
  if (!rest->starts_with("=\"")) return Error::invalid("PARAM-NAME not followed by '=\"'");
  rest->remove_prefix(2);
  Result<std::string> value = read_param_value(rest);
  if (!value) return value.take_error();
  return SdParam{std::string(*name), std::move(*value)};
}

// "[" SD-ID *(SP SD-PARAM) "]"
Result<SdElement> read_sd_element(std::string_view* rest) {
  rest->remove_prefix(1);  // '['
  Result<std::string_view> id = read_sd_name("SD-ID", rest);
  if (!id) return id.take_error();
  SdElement element{std::string(*id), {}};
  while (rest->starts_with(' ')) {
    rest->remove_prefix(1);
    Result<SdParam> param = read_sd_param(rest);
    if (!param) return param.take_error();
    element.params.push_back(std::move(*param));
  }
  if (!rest->starts_with(']')) return Error::invalid("SD-ELEMENT has no closing ']'");
  rest->remove_prefix(1);
  return element;
}

Status read_structured_data(std::string_view* rest, std::vector<SdElement>* out) {
  if (rest->starts_with(kNilValue)) {
    rest->remove_prefix(kNilValue.size());
    return ok_status();
  }
  if (!rest->starts_with('[')) return Error::invalid("STRUCTURED-DATA is neither '-' nor '['");
  while (rest->starts_with('[')) {
    Result<SdElement> element = read_sd_element(rest);
    if (!element) return element.take_error();
    out->push_back(std::move(*element));
  }
  return ok_status();
}

// After VERSION and its SP: the five header fields, STRUCTURED-DATA, then SP MSG or nothing.
Result<SyslogMessage> read_rfc5424(std::string_view rest, SyslogMessage message) {
  message.format = SyslogFormat::kRfc5424;
  const std::array<std::pair<const HeaderFieldRule*, std::string*>, 5> fields = {{
      {&kTimestampField, &message.timestamp},
      {&kHostnameField, &message.hostname},
      {&kAppNameField, &message.app_name},
      {&kProcIdField, &message.procid},
      {&kMsgIdField, &message.msgid},
  }};
  for (const auto& [rule, out] : fields) {
    if (Status read = read_header_field(*rule, &rest, out); !read) return read.take_error();
  }
  if (!message.timestamp.empty()) message.timestamp_ms = rfc5424_timestamp_ms(message.timestamp);
  if (Status sd = read_structured_data(&rest, &message.structured_data); !sd) {
    return sd.take_error();
  }
  if (rest.empty()) return message;
  if (rest.front() != ' ') return Error::invalid("STRUCTURED-DATA not followed by SP or the end");
  set_msg(rest.substr(1), &message);
  return message;
}

// RFC 3164 timestamp, or the RFC 5424 one that rsyslog's and syslog-ng's "BSD with ISO
// date" templates write in its place; each followed by SP. True when one was read.
bool read_legacy_timestamp(std::string_view* rest, SyslogMessage* message) {
  constexpr std::size_t kBsdLength = 15;
  if (rest->size() > kBsdLength && (*rest)[kBsdLength] == ' ' &&
      is_rfc3164_timestamp(rest->substr(0, kBsdLength))) {
    message->timestamp.assign(rest->substr(0, kBsdLength));
    rest->remove_prefix(kBsdLength + 1);
    return true;
  }
  const std::string_view token = rest->substr(0, rest->find(' '));
  if (token.size() == rest->size()) return false;
  const std::optional<std::int64_t> ms = rfc5424_timestamp_ms(token);
  if (!ms) return false;
  message->timestamp.assign(token);
  message->timestamp_ms = ms;
  rest->remove_prefix(token.size() + 1);
  return true;
}

// TAG[pid]: or TAG: at the front (RFC 3164 §4.1.3, §5.3); the SP after the colon is not part
// of the message. Leaves `rest` alone when there is no tag.
bool read_tag(std::string_view* rest, SyslogMessage* message) {
  std::size_t length = 0;
  while (length < rest->size() && length <= kMaxTagLength && is_printusascii((*rest)[length]) &&
         (*rest)[length] != ':' && (*rest)[length] != '[') {
    ++length;
  }
  if (length == 0 || length > kMaxTagLength || length == rest->size()) return false;
  std::string_view after = rest->substr(length);
  std::string_view pid;
  if (after.front() == '[') {
    const std::size_t close = after.find(']');
    if (close == std::string_view::npos) return false;
    pid = after.substr(1, close - 1);
    if (pid.empty() || pid.size() > kProcIdField.max_length) return false;
    for (char c : pid) {
      if (!is_printusascii(c)) return false;
    }
    after.remove_prefix(close + 1);
  }
  if (!after.starts_with(':')) return false;
  after.remove_prefix(1);
  if (after.starts_with(' ')) after.remove_prefix(1);
  message->app_name.assign(rest->substr(0, length));
  message->procid.assign(pid);
  *rest = after;
  return true;
}

// A host name is a token before the tag; a token with '[' or ending in ':' is the tag
// itself (local senders often leave the host out).
bool looks_like_tag(std::string_view token) {
  return token.find('[') != std::string_view::npos || token.ends_with(':');
}

Result<SyslogMessage> read_legacy(std::string_view rest, SyslogMessage message) {
  const bool has_timestamp = read_legacy_timestamp(&rest, &message);
  if (has_timestamp) {
    const std::string_view host = rest.substr(0, rest.find(' '));
    if (!host.empty() && host.size() < rest.size() && !looks_like_tag(host) &&
        host.size() <= kHostnameField.max_length) {
      message.hostname.assign(host);
      rest.remove_prefix(host.size() + 1);
    }
  }
  const bool has_tag = read_tag(&rest, &message);
  message.format = has_timestamp || has_tag ? SyslogFormat::kRfc3164 : SyslogFormat::kUnknown;
  set_msg(rest, &message);
  return message;
}

}  // namespace

Status check_header_field(const HeaderFieldRule& rule, std::string_view value) {
  if (value.empty()) return Error::invalid(field_text(rule.name, "empty"));
  if (value.size() > rule.max_length) {
    return Error::invalid(field_text(rule.name, "longer than " + std::to_string(rule.max_length)));
  }
  for (char c : value) {
    if (!is_printusascii(c)) return Error::invalid(field_text(rule.name, "not printable ASCII"));
  }
  return ok_status();
}

Status check_sd_name(std::string_view what, std::string_view name) {
  if (name.empty()) return Error::invalid(field_text(what, "empty or has a bad character"));
  if (name.size() > kMaxSdNameLength) return Error::invalid(field_text(what, "longer than 32"));
  for (char c : name) {
    if (!is_sd_name_char(c)) return Error::invalid(field_text(what, "has a bad character"));
  }
  return ok_status();
}

Result<SyslogMessage> parse_syslog_message(std::string_view bytes) {
  std::string_view rest = bytes;
  Result<int> pri = read_pri(&rest);
  if (!pri) return pri.take_error();
  SyslogMessage message;
  message.facility = *pri / 8;
  message.severity = *pri % 8;
  const std::optional<std::string_view> version = version_token(rest);
  if (!version) return read_legacy(rest, std::move(message));
  if (*version != "1") {
    return Error::unsupported("syslog VERSION " + std::string(*version) + " (only 1 is known)");
  }
  rest.remove_prefix(version->size() + 1);
  return read_rfc5424(rest, std::move(message));
}

}  // namespace cg::atna
