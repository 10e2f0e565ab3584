#include "gateway/balp_events.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <unordered_set>

#include "protocols/fhir/model/base64.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

json::object coding(const Coding& c) {
  json::object o{{"system", c.system}, {"code", c.code}};
  if (!c.display.empty()) o["display"] = c.display;
  return o;
}

json::object agent_json(const AuditAgent& a) {
  json::object o;
  if (!a.type.code.empty()) {
    o["type"] = json::object{{"coding", json::array{coding(a.type)}}};
  }
  if (!a.roles.empty()) {
    json::array roles;
    for (const auto& r : a.roles) roles.push_back(json::object{{"text", r}});
    o["role"] = std::move(roles);
  }
  json::object who;
  if (!a.who_reference.empty()) who["reference"] = a.who_reference;
  if (!a.who_identifier.empty()) who["identifier"] = json::object{{"value", a.who_identifier}};
  if (!a.who_display.empty()) who["display"] = a.who_display;
  if (!who.empty()) o["who"] = std::move(who);
  o["requestor"] = a.requestor;
  if (!a.address.empty()) {
    // DICOM NetworkAccessPointTypeCode: 2 for an IP address, 1 for a machine name.
    const bool ip = std::all_of(a.address.begin(), a.address.end(), [](char c) {
      return (c >= '0' && c <= '9') || c == '.' || c == ':' || (c >= 'a' && c <= 'f') ||
             (c >= 'A' && c <= 'F');
    });
    o["network"] = json::object{{"address", a.address}, {"type", ip ? "2" : "1"}};
  }
  return o;
}

json::object entity_json(const AuditEntity& e) {
  json::object o;
  json::object what;
  if (!e.reference.empty()) what["reference"] = e.reference;
  if (!e.identifier_value.empty()) {
    json::object id{{"value", e.identifier_value}};
    if (!e.identifier_system.empty()) id["system"] = e.identifier_system;
    what["identifier"] = std::move(id);
  }
  if (!what.empty()) o["what"] = std::move(what);
  if (!e.type.code.empty()) o["type"] = coding(e.type);
  if (!e.role.code.empty()) o["role"] = coding(e.role);
  if (!e.name.empty()) o["name"] = e.name;
  if (!e.description.empty()) o["description"] = e.description;
  if (!e.query.empty()) o["query"] = base64_encode(e.query);
  if (!e.details.empty()) {
    json::array details;
    for (const auto& [type, value] : e.details) {
      details.push_back(json::object{{"type", type}, {"valueBase64Binary", base64_encode(value)}});
    }
    o["detail"] = std::move(details);
  }
  return o;
}

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

}  // namespace

json::object build_audit_event(const AuditSource& source, const AuditEventSpec& spec,
                               std::int64_t now_ms) {
  json::object e{{"resourceType", "AuditEvent"}};
  e["type"] = coding(spec.type);
  if (!spec.subtypes.empty()) {
    json::array subtypes;
    for (const auto& s : spec.subtypes) subtypes.push_back(coding(s));
    e["subtype"] = std::move(subtypes);
  }
  e["action"] = std::string(1, spec.action);
  e["recorded"] = storage::format_instant(now_ms);
  e["outcome"] = std::to_string(spec.outcome);
  if (!spec.outcome_description.empty()) e["outcomeDesc"] = spec.outcome_description;
  json::array agents;
  for (const auto& a : spec.agents) agents.push_back(agent_json(a));
  e["agent"] = std::move(agents);
  e["source"] = json::object{
      {"site", source.node_name},
      {"observer", json::object{{"identifier", json::object{{"value", source.node_name}}},
                                {"display", source.node_name}}},
      {"type", json::array{coding({std::string(codes::kSourceType), "4", "Application Server"})}}};
  if (!spec.entities.empty()) {
    json::array entities;
    for (const auto& x : spec.entities) entities.push_back(entity_json(x));
    e["entity"] = std::move(entities);
  }
  return e;
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
