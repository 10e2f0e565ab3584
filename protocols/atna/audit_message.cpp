#include "protocols/atna/audit_message.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <pugixml.hpp>
#include <utility>

namespace cg::atna {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr std::string_view kRoot = "AuditMessage";

// Element names compared without a namespace prefix: some senders qualify the audit
// vocabulary ("atna:AuditMessage") although neither schema has a target namespace.
std::string_view local_name(pugi::xml_node node) {
  std::string_view name = node.name();
  const std::size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool is_xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// xs:token normalisation: no leading or trailing whitespace, inner runs become one space.
std::string token(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (is_xml_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string attribute_token(pugi::xml_node node, const char* name) {
  return token(node.attribute(name).value());
}

std::string path_of(std::string_view parent, std::string_view child) {
  std::string p(parent);
  p += '/';
  p += child;
  return p;
}

// The unsigned integer written in `text` when it lies in [low, high].
bool in_range(std::string_view text, int low, int high) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value >= low && value <= high;
}

template <std::size_t N>
bool one_of(std::string_view text, const std::array<std::string_view, N>& allowed) {
  return std::find(allowed.begin(), allowed.end(), text) != allowed.end();
}

// ---------------------------------------------------------------------------------------------
// Document

// Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or npos. pugixml takes bytes on trust, and
// the values end up in FHIR JSON, which must be UTF-8.
std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;  // bounds of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > s.size()) return i;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (next < low || next > high) : (next < 0x80 || next > 0xBF)) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

Status load_document(pugi::xml_document& doc, std::string_view xml, const AuditLimits& limits) {
  if (xml.size() > limits.max_bytes) {
    return Error::too_large("audit message of " + std::to_string(xml.size()) +
                            " bytes is over the limit of " + std::to_string(limits.max_bytes));
  }
  if (xml.starts_with(kUtf8Bom)) xml.remove_prefix(kUtf8Bom.size());
  if (const std::size_t bad = invalid_utf8_at(xml); bad != std::string_view::npos) {
    return Error::invalid("not UTF-8 at byte " + std::to_string(bad));
  }
  // parse_doctype keeps a DOCTYPE visible so it can be refused (no entity tricks); the
  // encoding is fixed to UTF-8 whatever the declaration says, as syslog payloads are UTF-8.
  const pugi::xml_parse_result r = doc.load_buffer(
      xml.data(), xml.size(), pugi::parse_default | pugi::parse_doctype, pugi::encoding_utf8);
  if (!r) {
    return Error::invalid("malformed XML at byte " + std::to_string(r.offset) + ": " +
                          r.description());
  }
  int roots = 0;
  for (pugi::xml_node n : doc.children()) {
    if (n.type() == pugi::node_doctype) return Error::invalid("XML with a DOCTYPE is refused");
    if (n.type() == pugi::node_element) ++roots;
  }
  if (roots != 1) return Error::invalid("an XML document needs exactly one root element");
  if (local_name(doc.document_element()) != kRoot) {
    return Error::invalid("the root element is not AuditMessage", "/");
  }
  return ok_status();
}

// The only child element named `name`; null when absent, an error when repeated.
Result<pugi::xml_node> single_child(pugi::xml_node parent, std::string_view name,
                                    std::string_view parent_path) {
  pugi::xml_node found;
  for (pugi::xml_node child : parent.children()) {
    if (child.type() != pugi::node_element || local_name(child) != name) continue;
    if (found) return Error::invalid("repeated element", path_of(parent_path, name));
    found = child;
  }
  return found;
}

Result<AuditFormat> format_of(pugi::xml_node root) {
  auto identification = single_child(root, "EventIdentification", kRoot);
  if (!identification) return identification.take_error();
  const std::string where = path_of(kRoot, "EventIdentification");
  if (!*identification) return Error::invalid("missing element", where);
  auto event_id = single_child(*identification, "EventID", where);
  if (!event_id) return event_id.take_error();
  if (!*event_id) return Error::invalid("missing element", path_of(where, "EventID"));
  if (event_id->attribute("csd-code")) return AuditFormat::kDicom;
  if (event_id->attribute("code")) return AuditFormat::kRfc3881;
  return Error::invalid("EventID has neither csd-code (DICOM) nor code (RFC 3881)",
                        path_of(where, "EventID"));
}

// ---------------------------------------------------------------------------------------------
// Parts of the message

// A coded value in either dialect. Some RFC 3881 senders write the code as element text
// (<AuditSourceTypeCode>4</AuditSourceTypeCode>); that is accepted too.
Result<CodedValue> coded_value(pugi::xml_node node, const std::string& where) {
  CodedValue value;
  value.code = attribute_token(node, "csd-code");
  if (value.code.empty()) value.code = attribute_token(node, "code");
  if (value.code.empty()) value.code = token(node.child_value());
  if (value.code.empty()) return Error::invalid("coded value without a code", where);
  value.code_system_name = attribute_token(node, "codeSystemName");
  value.code_system = attribute_token(node, "codeSystem");
  value.display = attribute_token(node, "displayName");
  if (value.display.empty()) value.display = attribute_token(node, "originalText");
  return value;
}

// Appends a coded value to `out`, within the limit on repeated codes.
Status add_code(std::vector<CodedValue>& out, pugi::xml_node node, const std::string& where,
                const AuditLimits& limits) {
  if (out.size() >= limits.max_codes) return Error::too_large("too many codes at " + where);
  auto value = coded_value(node, where);
  if (!value) return value.take_error();
  out.push_back(std::move(*value));
  return ok_status();
}

Status read_event(pugi::xml_node node, AuditMessage& message, const AuditLimits& limits) {
  const std::string where = path_of(kRoot, "EventIdentification");
  message.event_action_code = attribute_token(node, "EventActionCode");
  constexpr std::array<std::string_view, 5> kActions{"C", "R", "U", "D", "E"};
  if (!message.event_action_code.empty() && !one_of(message.event_action_code, kActions)) {
    return Error::invalid("EventActionCode is not C, R, U, D or E", where + "/@EventActionCode");
  }
  message.event_date_time = attribute_token(node, "EventDateTime");
  if (message.event_date_time.empty()) {
    return Error::invalid("missing EventDateTime", where + "/@EventDateTime");
  }
  message.event_outcome_indicator = attribute_token(node, "EventOutcomeIndicator");
  constexpr std::array<std::string_view, 4> kOutcomes{"0", "4", "8", "12"};
  if (!one_of(message.event_outcome_indicator, kOutcomes)) {
    return Error::invalid("EventOutcomeIndicator is not 0, 4, 8 or 12",
                          where + "/@EventOutcomeIndicator");
  }
  for (pugi::xml_node child : node.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view name = local_name(child);
    const std::string child_path = path_of(where, name);
    Status s = ok_status();
    if (name == "EventID") {
      auto id = coded_value(child, child_path);
      if (!id) return id.take_error();
      message.event_id = std::move(*id);
    } else if (name == "EventTypeCode") {
      s = add_code(message.event_type_codes, child, child_path, limits);
    } else if (name == "PurposeOfUse") {
      s = add_code(message.purposes_of_use, child, child_path, limits);
    } else if (name == "EventOutcomeDescription") {
      message.event_outcome_description = child.child_value();
    }
    if (!s) return s;
  }
  return ok_status();
}

// UserIsRequestor is xs:boolean. DICOM requires it; RFC 3881 defaults it to true.
Result<bool> requestor_flag(pugi::xml_node node, AuditFormat format, const std::string& where) {
  const std::string text = attribute_token(node, "UserIsRequestor");
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  if (text.empty() && format == AuditFormat::kRfc3881) return true;
  return Error::invalid(
      text.empty() ? "missing UserIsRequestor" : "UserIsRequestor is not a boolean",
      where + "/@UserIsRequestor");
}

Result<ActiveParticipant> read_participant(pugi::xml_node node, AuditFormat format,
                                           const std::string& where, const AuditLimits& limits) {
  ActiveParticipant p;
  p.user_id = node.attribute("UserID").value();
  p.alternative_user_id = node.attribute("AlternativeUserID").value();
  p.user_name = node.attribute("UserName").value();
  auto requestor = requestor_flag(node, format, where);
  if (!requestor) return requestor.take_error();
  p.user_is_requestor = *requestor;
  p.network_access_point_id = attribute_token(node, "NetworkAccessPointID");
  p.network_access_point_type_code = attribute_token(node, "NetworkAccessPointTypeCode");
  if (!p.network_access_point_type_code.empty() &&
      !in_range(p.network_access_point_type_code, 1, 5)) {
    return Error::invalid("NetworkAccessPointTypeCode is not 1 to 5",
                          where + "/@NetworkAccessPointTypeCode");
  }
  for (pugi::xml_node child : node.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view name = local_name(child);
    if (name == "RoleIDCode") {
      if (Status s = add_code(p.role_id_codes, child, path_of(where, name), limits); !s)
        return s.take_error();
    } else if (name == "MediaIdentifier") {
      const std::string media_path = path_of(path_of(where, name), "MediaType");
      auto media = single_child(child, "MediaType", path_of(where, name));
      if (!media) return media.take_error();
      if (!*media) return Error::invalid("missing element", media_path);
      auto type = coded_value(*media, media_path);
      if (!type) return type.take_error();
      p.media_type = std::move(*type);
    }
  }
  return p;
}

Result<AuditSource> read_source(pugi::xml_node node, const AuditLimits& limits) {
  const std::string where = path_of(kRoot, "AuditSourceIdentification");
  AuditSource source;
  source.enterprise_site_id = attribute_token(node, "AuditEnterpriseSiteID");
  source.source_id = attribute_token(node, "AuditSourceID");
  if (source.source_id.empty())
    return Error::invalid("missing AuditSourceID", where + "/@AuditSourceID");
  for (pugi::xml_node child : node.children()) {
    if (child.type() != pugi::node_element || local_name(child) != "AuditSourceTypeCode") continue;
    if (Status s =
            add_code(source.type_codes, child, path_of(where, "AuditSourceTypeCode"), limits);
        !s) {
      return s.take_error();
    }
  }
  return source;
}

// Checks an optional numeric code attribute against its schema range.
Status check_range(const std::string& value, int high, const std::string& where) {
  if (value.empty() || in_range(value, 1, high)) return ok_status();
  return Error::invalid("value is not 1 to " + std::to_string(high), where);
}

Status read_object_codes(pugi::xml_node node, ParticipantObject& object, const std::string& where) {
  object.type_code = attribute_token(node, "ParticipantObjectTypeCode");
  object.type_code_role = attribute_token(node, "ParticipantObjectTypeCodeRole");
  object.data_life_cycle = attribute_token(node, "ParticipantObjectDataLifeCycle");
  if (Status s = check_range(object.type_code, 4, where + "/@ParticipantObjectTypeCode"); !s)
    return s;
  if (Status s = check_range(object.type_code_role, 26, where + "/@ParticipantObjectTypeCodeRole");
      !s) {
    return s;
  }
  return check_range(object.data_life_cycle, 15, where + "/@ParticipantObjectDataLifeCycle");
}

Result<ParticipantObject> read_object(pugi::xml_node node, const std::string& where,
                                      const AuditLimits& limits) {
  ParticipantObject object;
  object.id = attribute_token(node, "ParticipantObjectID");
  if (Status s = read_object_codes(node, object, where); !s) return s.take_error();
  // DICOM has the sensitivity as an attribute, RFC 3881 as an element.
  object.sensitivity = attribute_token(node, "ParticipantObjectSensitivity");
  for (pugi::xml_node child : node.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view name = local_name(child);
    const std::string child_path = path_of(where, name);
    if (name == "ParticipantObjectIDTypeCode") {
      auto code = coded_value(child, child_path);
      if (!code) return code.take_error();
      object.id_type_code = std::move(*code);
    } else if (name == "ParticipantObjectName") {
      object.name = token(child.child_value());
    } else if (name == "ParticipantObjectQuery") {
      object.query = child.child_value();
    } else if (name == "ParticipantObjectSensitivity" && object.sensitivity.empty()) {
      object.sensitivity = token(child.child_value());
    } else if (name == "ParticipantObjectDetail") {
      if (object.details.size() >= limits.max_codes) {
        return Error::too_large("too many details at " + child_path);
      }
      ObjectDetail detail{attribute_token(child, "type"), child.attribute("value").value()};
      if (detail.type.empty()) return Error::invalid("missing type", child_path + "/@type");
      object.details.push_back(std::move(detail));
    }
  }
  return object;
}

// ---------------------------------------------------------------------------------------------
// The top-level children, in any order (the schemas fix one, senders do not always keep it).

class MessageReader {
 public:
  MessageReader(AuditMessage& message, const AuditLimits& limits)
      : message_(message), limits_(limits) {}

  Status read(pugi::xml_node root) {
    for (pugi::xml_node child : root.children()) {
      if (child.type() != pugi::node_element) continue;
      if (Status s = read_child(child); !s) return s;
    }
    if (message_.participants.empty()) {
      return Error::invalid("missing element", path_of(kRoot, "ActiveParticipant"));
    }
    if (!seen_source_)
      return Error::invalid("missing element", path_of(kRoot, "AuditSourceIdentification"));
    return ok_status();
  }

 private:
  Status read_child(pugi::xml_node child) {
    const std::string_view name = local_name(child);
    const std::string where = path_of(kRoot, name);
    if (name == "EventIdentification") return read_event(child, message_, limits_);
    if (name == "ActiveParticipant") {
      if (message_.participants.size() >= limits_.max_participants) {
        return Error::too_large("too many ActiveParticipant elements");
      }
      auto p = read_participant(child, message_.format, where, limits_);
      if (!p) return p.take_error();
      message_.participants.push_back(std::move(*p));
    } else if (name == "AuditSourceIdentification" && !seen_source_) {
      auto source = read_source(child, limits_);
      if (!source) return source.take_error();
      message_.source = std::move(*source);
      seen_source_ = true;
    } else if (name == "ParticipantObjectIdentification") {
      if (message_.objects.size() >= limits_.max_objects) {
        return Error::too_large("too many ParticipantObjectIdentification elements");
      }
      auto object = read_object(child, where, limits_);
      if (!object) return object.take_error();
      message_.objects.push_back(std::move(*object));
    }
    return ok_status();
  }

  AuditMessage& message_;
  const AuditLimits& limits_;
  bool seen_source_ = false;
};

}  // namespace

Result<AuditMessage> parse_audit_message(std::string_view xml, const AuditLimits& limits) {
  pugi::xml_document doc;
  if (Status s = load_document(doc, xml, limits); !s) return s.take_error();
  const pugi::xml_node root = doc.document_element();
  auto format = format_of(root);
  if (!format) return format.take_error();
  AuditMessage message;
  message.format = *format;
  if (Status s = MessageReader(message, limits).read(root); !s) return s.take_error();
  return message;
}

Result<AuditFormat> detect_audit_format(std::string_view xml, const AuditLimits& limits) {
  pugi::xml_document doc;
  if (Status s = load_document(doc, xml, limits); !s) return s.take_error();
  return format_of(doc.document_element());
}

}  // namespace cg::atna
