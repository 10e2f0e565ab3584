#include "gateway/audit_keys.hpp"

#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/model/json.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

constexpr std::string_view kAction = "http://hl7.org/fhir/audit-event-action";
constexpr std::string_view kOutcome = "http://hl7.org/fhir/audit-event-outcome";

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

template <typename Each>
void for_each_object(const json::object& o, std::string_view key, Each each) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return;
  for (const auto& item : v->get_array()) {
    if (const auto* obj = item.if_object()) each(*obj);
  }
}

class KeyList {
 public:
  void add(std::string_view param, std::string system, std::string code) {
    if (code.empty()) return;  // a key is found by its code; a system alone says nothing
    keys_.push_back({std::string(param), std::move(system), std::move(code)});
  }
  // A Coding: system|code.
  void coding(std::string_view param, const json::object* c) {
    if (c != nullptr) add(param, text(*c, "system"), text(*c, "code"));
  }
  // An Identifier: system|value.
  void identifier(std::string_view param, const json::object* i) {
    if (i != nullptr) add(param, text(*i, "system"), text(*i, "value"));
  }
  // A local reference ("Patient/1"), under `param` and, when it names a Patient, also under
  // "patient": the gateway's own records name patients this way.
  void reference(std::string_view param, const json::object& r) {
    reference(param, text(r, "reference"));
  }
  void coding(std::string_view param, const Coding& c) { add(param, c.system, c.code); }
  void reference(std::string_view param, const std::string& ref) {
    if (ref.starts_with("Patient/")) add("patient", "", ref);
    add(param, "", ref);
  }
  std::vector<storage::AuditKey> take() { return std::move(keys_); }

 private:
  std::vector<storage::AuditKey> keys_;
};

bool is_code(const json::object* coding, std::string_view code) {
  return coding != nullptr && text(*coding, "code") == code;
}

void agent_keys(const json::object& agent, KeyList& keys) {
  if (const auto* who = object_at(agent, "who")) {
    keys.identifier("agent-identifier", object_at(*who, "identifier"));
    keys.reference("agent", *who);
  }
  keys.add("agent-identifier", "", text(agent, "altId"));
  if (const auto* network = object_at(agent, "network")) {
    keys.add("address", "", text(*network, "address"));
  }
}

void entity_keys(const json::object& entity, KeyList& keys) {
  const auto* type = object_at(entity, "type");
  const auto* role = object_at(entity, "role");
  keys.coding("entity-type", type);
  keys.coding("entity-role", role);
  const auto* what = object_at(entity, "what");
  const auto* identifier = what != nullptr ? object_at(*what, "identifier") : nullptr;
  keys.identifier("entity-identifier", identifier);
  if (what != nullptr) keys.reference("entity", *what);
  // DICOM ParticipantObjectTypeCode 1 (person) with role 1 (patient).
  if (is_code(type, "1") && is_code(role, "1")) keys.identifier("patient-identifier", identifier);
}

}  // namespace

void set_audit_event(storage::AuditRecord& record, const json::object& event) {
  AuditSearchKeys keys = audit_search_keys(event);
  record.keys = std::move(keys.keys);
  record.recorded_ms = keys.recorded_ms;
  record.resource_json = fhir::serialize_json(event);
}

AuditSearchKeys audit_search_keys(const json::object& event) {
  KeyList keys;
  keys.coding("type", object_at(event, "type"));
  for_each_object(event, "subtype", [&](const json::object& c) { keys.coding("subtype", &c); });
  keys.add("action", std::string(kAction), text(event, "action"));
  keys.add("outcome", std::string(kOutcome), text(event, "outcome"));
  if (const auto* source = object_at(event, "source")) {
    keys.add("site", "", text(*source, "site"));
    if (const auto* observer = object_at(*source, "observer")) {
      if (const auto* id = object_at(*observer, "identifier")) {
        keys.add("source", "", text(*id, "value"));
      }
      keys.add("source", "", text(*observer, "display"));
    }
  }
  for_each_object(event, "agent", [&](const json::object& a) { agent_keys(a, keys); });
  for_each_object(event, "entity", [&](const json::object& e) { entity_keys(e, keys); });
  AuditSearchKeys out{keys.take(), std::nullopt};
  if (auto recorded = fhir::parse_time_range(text(event, "recorded"))) {
    out.recorded_ms = recorded->begin_ms;
  }
  return out;
}

std::vector<storage::AuditKey> audit_spec_keys(const AuditSource& source,
                                               const AuditEventSpec& spec) {
  KeyList keys;
  keys.coding("type", spec.type);
  for (const Coding& c : spec.subtypes) keys.coding("subtype", c);
  keys.add("action", std::string(kAction), std::string(1, spec.action));
  keys.add("outcome", std::string(kOutcome), std::to_string(spec.outcome));
  keys.add("site", "", source.node_name);
  keys.add("source", "", source.node_name);
  for (const AuditAgent& a : spec.agents) {
    keys.add("agent-identifier", "", a.who_identifier);
    keys.reference("agent", a.who_reference);
    keys.add("address", "", a.address);
  }
  for (const AuditEntity& e : spec.entities) {
    keys.coding("entity-type", e.type);
    keys.coding("entity-role", e.role);
    keys.add("entity-identifier", e.identifier_system, e.identifier_value);
    keys.reference("entity", e.reference);
    if (e.type.code == "1" && e.role.code == "1") {
      keys.add("patient-identifier", e.identifier_system, e.identifier_value);
    }
  }
  return keys.take();
}

}  // namespace cg::gateway
