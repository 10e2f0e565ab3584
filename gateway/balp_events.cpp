#include "gateway/balp_events.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <unordered_set>

#include "protocols/fhir/model/base64.hpp"
#include "protocols/fhir/model/json.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

// Writes a JSON object member by member, straight into a string: the gateway writes an
// AuditEvent for every read it serves, and building a JSON tree first cost more than the
// read itself (docs/benchmarks.md, issue 6).
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  ~ObjectWriter() { out_.push_back('}'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  std::string& key(std::string_view name) {
    if (!first_) out_.push_back(',');
    first_ = false;
    fhir::append_json_string(out_, name);
    out_.push_back(':');
    return out_;
  }
  void text(std::string_view name, std::string_view value) {
    fhir::append_json_string(key(name), value);
  }
  void text_if(std::string_view name, std::string_view value) {
    if (!value.empty()) text(name, value);
  }
  void boolean(std::string_view name, bool value) { key(name) += value ? "true" : "false"; }

 private:
  std::string& out_;
  bool first_ = true;
};

// Writes [item, item, …] with `each` writing one item.
template <class Range, class Each>
void write_array(std::string& out, const Range& items, Each each) {
  out.push_back('[');
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.push_back(',');
    first = false;
    each(item);
  }
  out.push_back(']');
}

void write_coding(std::string& out, const Coding& c) {
  ObjectWriter o(out);
  o.text("system", c.system);
  o.text("code", c.code);
  o.text_if("display", c.display);
}

// DICOM NetworkAccessPointTypeCode: 2 for an IP address, 1 for a machine name.
std::string_view network_type(std::string_view address) {
  const bool ip = std::all_of(address.begin(), address.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == ':' || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
  });
  return ip ? "2" : "1";
}

void write_agent(std::string& out, const AuditAgent& a) {
  ObjectWriter o(out);
  if (!a.type.code.empty()) {
    ObjectWriter type(o.key("type"));
    write_array(type.key("coding"), std::array{&a.type},
                [&](const Coding* c) { write_coding(out, *c); });
  }
  if (!a.roles.empty()) {
    write_array(o.key("role"), a.roles, [&](const std::string& r) {
      ObjectWriter role(out);
      role.text("text", r);
    });
  }
  if (!a.who_reference.empty() || !a.who_identifier.empty() || !a.who_display.empty()) {
    ObjectWriter who(o.key("who"));
    who.text_if("reference", a.who_reference);
    if (!a.who_identifier.empty()) {
      ObjectWriter id(who.key("identifier"));
      id.text("value", a.who_identifier);
    }
    who.text_if("display", a.who_display);
  }
  o.boolean("requestor", a.requestor);
  if (!a.address.empty()) {
    ObjectWriter network(o.key("network"));
    network.text("address", a.address);
    network.text("type", network_type(a.address));
  }
}

void write_entity(std::string& out, const AuditEntity& e) {
  ObjectWriter o(out);
  if (!e.reference.empty() || !e.identifier_value.empty()) {
    ObjectWriter what(o.key("what"));
    what.text_if("reference", e.reference);
    if (!e.identifier_value.empty()) {
      ObjectWriter id(what.key("identifier"));
      id.text("value", e.identifier_value);
      id.text_if("system", e.identifier_system);
    }
  }
  if (!e.type.code.empty()) write_coding(o.key("type"), e.type);
  if (!e.role.code.empty()) write_coding(o.key("role"), e.role);
  o.text_if("name", e.name);
  o.text_if("description", e.description);
  if (!e.query.empty()) o.text("query", base64_encode(e.query));
  if (!e.details.empty()) {
    write_array(o.key("detail"), e.details, [&](const auto& detail) {
      ObjectWriter d(out);
      d.text("type", detail.first);
      d.text("valueBase64Binary", base64_encode(detail.second));
    });
  }
}

void write_source(std::string& out, const AuditSource& source) {
  ObjectWriter o(out);
  o.text("site", source.node_name);
  {
    ObjectWriter observer(o.key("observer"));
    {
      ObjectWriter id(observer.key("identifier"));
      id.text("value", source.node_name);
    }
    observer.text("display", source.node_name);
  }
  static const Coding kServer{std::string(codes::kSourceType), "4", "Application Server"};
  write_array(o.key("type"), std::array{&kServer}, [&](const Coding* c) { write_coding(out, *c); });
}

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

}  // namespace

std::string audit_event_json(const AuditSource& source, const AuditEventSpec& spec,
                             std::int64_t now_ms) {
  std::string out;
  out.reserve(1024);
  {
    ObjectWriter e(out);
    e.text("resourceType", "AuditEvent");
    write_coding(e.key("type"), spec.type);
    if (!spec.subtypes.empty()) {
      write_array(e.key("subtype"), spec.subtypes, [&](const Coding& c) { write_coding(out, c); });
    }
    e.text("action", std::string_view(&spec.action, 1));
    e.text("recorded", storage::format_instant(now_ms));
    e.text("outcome", std::to_string(spec.outcome));
    e.text_if("outcomeDesc", spec.outcome_description);
    write_array(e.key("agent"), spec.agents, [&](const AuditAgent& a) { write_agent(out, a); });
    write_source(e.key("source"), source);
    if (!spec.entities.empty()) {
      write_array(e.key("entity"), spec.entities,
                  [&](const AuditEntity& x) { write_entity(out, x); });
    }
  }
  return out;
}

json::object build_audit_event(const AuditSource& source, const AuditEventSpec& spec,
                               std::int64_t now_ms) {
  // One layout: the tree is read back from the text the fast path writes.
  auto parsed = fhir::parse_json(audit_event_json(source, spec, now_ms));
  return parsed && parsed->is_object() ? std::move(parsed->as_object()) : json::object();
}

AuditEntity patient_entity(std::string reference) {
  AuditEntity e;
  e.type = {std::string(codes::kEntityType), "1", "Person"};
  e.role = {std::string(codes::kObjectRole), "1", "Patient"};
  e.reference = std::move(reference);
  return e;
}

AuditEntity patient_identifier_entity(std::string system, std::string value) {
  AuditEntity e = patient_entity("");
  e.identifier_system = std::move(system);
  e.identifier_value = std::move(value);
  return e;
}

AuditEntity resource_entity(std::string reference) {
  AuditEntity e;
  e.type = {std::string(codes::kEntityType), "2", "System Object"};
  e.role = {std::string(codes::kObjectRole), "4", "Domain Resource"};
  e.reference = std::move(reference);
  return e;
}

AuditEntity query_entity(std::string query, std::string description) {
  AuditEntity e;
  e.type = {std::string(codes::kEntityType), "2", "System Object"};
  e.role = {std::string(codes::kObjectRole), "24", "Query"};
  e.query = std::move(query);
  e.description = std::move(description);
  return e;
}

AuditAgent gateway_agent(const AuditSource& source) {
  AuditAgent a;
  a.type = {std::string(codes::kDicom), "110152", "Destination Role ID"};
  a.who_display = source.node_name;
  a.who_identifier = source.node_name;
  a.address = source.address;
  return a;
}

int outcome_of_status(int status) {
  if (status < 400) return 0;
  return status < 500 ? 4 : 8;
}

PatientMentions patients_mentioned(std::string_view text, std::size_t limit) {
  constexpr std::string_view kMarker = "Patient/";
  PatientMentions out;
  std::unordered_set<std::string> seen;
  for (std::size_t at = text.find(kMarker); at != std::string_view::npos;
       at = text.find(kMarker, at + 1)) {
    // "Patient/" must start a reference or a path segment, not end a longer name
    // ("RelatedPatient/"): preceded by a quote, a slash or nothing.
    if (at > 0 && text[at - 1] != '"' && text[at - 1] != '/') continue;
    std::size_t begin = at + kMarker.size();
    std::size_t end = begin;
    while (end < text.size() && end - begin < 64 && is_id_char(text[end])) ++end;
    if (end == begin) continue;  // "Patient/$everything", "Patient/_history"
    std::string reference = "Patient/" + std::string(text.substr(begin, end - begin));
    if (seen.contains(reference)) continue;
    if (out.references.size() == limit) {
      out.truncated = true;
      break;
    }
    seen.insert(reference);
    out.references.push_back(std::move(reference));
  }
  return out;
}

}  // namespace cg::gateway
