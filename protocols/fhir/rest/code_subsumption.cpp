#include "protocols/fhir/rest/code_subsumption.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocols/fhir/rest/stored_canonical.hpp"
#include "protocols/fhir/rest/valueset_expansion.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;
using search::Criterion;
using search::Modifier;
using search::TokenValue;

constexpr std::string_view kConceptProperties = "http://hl7.org/fhir/concept-properties#";

// The is-a graph of one CodeSystem: every code it names (as a concept, or as the value of a
// hierarchy property) with its direct parents and children. May hold cycles.
struct Hierarchy {
  std::set<std::string, std::less<>> codes;
  std::map<std::string, std::vector<std::string>, std::less<>> parents;
  std::map<std::string, std::vector<std::string>, std::less<>> children;

  void link(const std::string& parent, const std::string& child) {
    if (parent.empty() || child.empty()) return;
    codes.insert(parent);
    codes.insert(child);
    children[parent].push_back(child);
    parents[child].push_back(parent);
  }
};

// What a concept property says about its valueCode: it is a parent (parent, subsumedBy) or a
// child (child) of the concept carrying it.
enum class Relation : std::uint8_t { kParent, kChild };

// The concept properties that carry the hierarchy, by their local code.
using HierarchyProperties = std::map<std::string, Relation, std::less<>>;

std::optional<Relation> relation_of(std::string_view name) {
  if (name == "parent" || name == "subsumedBy") return Relation::kParent;
  if (name == "child") return Relation::kChild;
  return std::nullopt;
}

// The undeclared codes parent, subsumedBy and child, and any code the CodeSystem declares
// with one of R4's concept-properties uris for them.
HierarchyProperties hierarchy_properties(const json::object& cs) {
  HierarchyProperties out{{"parent", Relation::kParent},
                          {"subsumedBy", Relation::kParent},
                          {"child", Relation::kChild}};
  const auto* declared = cs.if_contains("property");
  if (!declared || !declared->is_array()) return out;
  for (const auto& p : declared->get_array()) {
    const auto* o = p.if_object();
    if (!o) continue;
    std::string code = string_member(*o, "code");
    std::string uri = string_member(*o, "uri");
    if (uri.empty()) continue;
    // A declared uri decides: a local "parent" meaning something else is not a hierarchy.
    out.erase(code);
    if (!uri.starts_with(kConceptProperties)) continue;
    if (auto r = relation_of(std::string_view(uri).substr(kConceptProperties.size())))
      out[code] = *r;
  }
  return out;
}

// Adds `concepts` (CodeSystem.concept or a concept's nested concept) under `parent` ("" at
// the top). Depth is bounded by the JSON parser's nesting limit.
void add_concepts(const json::value& concepts, const std::string& parent,
                  const HierarchyProperties& properties, Hierarchy& h) {
  const auto* arr = concepts.if_array();
  if (!arr) return;
  for (const auto& item : *arr) {
    const auto* o = item.if_object();
    std::string code = o ? string_member(*o, "code") : std::string();
    if (code.empty()) continue;
    h.codes.insert(code);
    h.link(parent, code);
    if (const auto* props = o->if_contains("property"); props && props->is_array()) {
      for (const auto& p : props->get_array()) {
        const auto* po = p.if_object();
        if (!po) continue;
        auto r = properties.find(string_member(*po, "code"));
        std::string value = string_member(*po, "valueCode");
        if (r == properties.end() || value.empty()) continue;
        if (r->second == Relation::kParent) h.link(value, code);
        if (r->second == Relation::kChild) h.link(code, value);
      }
    }
    if (const auto* nested = o->if_contains("concept")) add_concepts(*nested, code, properties, h);
  }
}

// The stored CodeSystem `url`, checked to hold a subsumption hierarchy.
Result<Hierarchy> stored_hierarchy(storage::ResourceStore& store, const Criterion& c,
                                   const std::string& url) {
  const std::string modifier(search::to_string(c.modifier));
  auto cs = stored_canonical(store, "CodeSystem", url);
  if (!cs) return cs.take_error();
  if (!*cs) {
    return Error::invalid(c.name + ": CodeSystem " + url +
                              " is not stored on this server (needed for :" + modifier + ")",
                          c.name);
  }
  const json::object& system = **cs;
  if (string_member(system, "content") == "not-present") {
    return Error::invalid(
        c.name + ": CodeSystem " + url + " is stored without its concepts (content not-present)",
        c.name);
  }
  std::string meaning = string_member(system, "hierarchyMeaning");
  if (!meaning.empty() && meaning != "is-a") {
    const bool known =
        meaning == "grouped-by" || meaning == "part-of" || meaning == "classified-with";
    return Error::invalid(c.name + ": the hierarchy of CodeSystem " + url + " is " +
                              (known ? "'" + meaning + "'" : "not is-a") +
                              ", not subsumption; :" + modifier + " needs is-a",
                          c.name);
  }
  Hierarchy h;
  if (const auto* concepts = system.if_contains("concept"))
    add_concepts(*concepts, {}, hierarchy_properties(system), h);
  return h;
}

// Appends `code` and everything reachable from it (downwards for :below, upwards for :above)
// that `seen` does not hold yet. False when `seen` would grow past kMaxValueSetCodes.
bool collect(const Hierarchy& h, const std::string& code, bool below, std::set<std::string>& seen,
             std::vector<std::string>& out) {
  const auto& edges = below ? h.children : h.parents;
  std::deque<std::string> todo{code};
  while (!todo.empty()) {
    std::string next = std::move(todo.front());
    todo.pop_front();
    if (!seen.insert(next).second) continue;  // visited: also what stops a cycle
    if (seen.size() > kMaxValueSetCodes) return false;
    if (auto e = edges.find(next); e != edges.end())
      todo.insert(todo.end(), e->second.begin(), e->second.end());
    out.push_back(std::move(next));
  }
  return true;
}

Status expand(Criterion& c, storage::ResourceStore& store) {
  const std::string modifier(search::to_string(c.modifier));
  std::map<std::string, Hierarchy, std::less<>> systems;  // each CodeSystem read once
  std::map<std::string, std::set<std::string>, std::less<>> seen;
  std::size_t total = 0;
  std::vector<search::Value> codes;
  for (const auto& value : c.any_of) {
    const auto* t = std::get_if<TokenValue>(&value);
    if (!t) return Error::internal(":" + modifier + " value is not a token");
    if (t->system_match != search::SystemMatch::kExact || t->system.empty() || t->code.empty()) {
      return Error::invalid(c.name + ": :" + modifier +
                                " needs system|code (the code system decides what it subsumes)",
                            c.name);
    }
    auto h = systems.find(t->system);
    if (h == systems.end()) {
      auto loaded = stored_hierarchy(store, c, t->system);
      if (!loaded) return loaded.take_error();
      h = systems.emplace(t->system, std::move(*loaded)).first;
    }
    if (!h->second.codes.contains(t->code)) {
      return Error::invalid(c.name + ": code '" + t->code + "' is not in CodeSystem " + t->system,
                            c.name);
    }
    auto& in_system = seen[t->system];
    std::vector<std::string> found;
    const std::size_t before = in_system.size();
    bool within = collect(h->second, t->code, c.modifier == Modifier::kBelow, in_system, found);
    total += in_system.size() - before;
    if (!within || total > kMaxValueSetCodes) {
      return Error::invalid(c.name + ": more than " + std::to_string(kMaxValueSetCodes) +
                                " codes in CodeSystem " + t->system + " are :" + modifier +
                                " the value; narrow it",
                            c.name);
    }
    for (auto& code : found)
      codes.push_back(TokenValue{search::SystemMatch::kExact, t->system, std::move(code), {}, {}});
  }
  c.modifier = Modifier::kNone;
  c.any_of = std::move(codes);
  return ok_status();
}

bool is_subsumption(const Criterion& c) {
  return (c.modifier == Modifier::kAbove || c.modifier == Modifier::kBelow) && c.param &&
         c.param->type == SearchParamType::kToken && c.code != "_id";
}

}  // namespace

Status expand_subsumption_criteria(search::SearchRequest& request, storage::ResourceStore& store) {
  for (auto& c : request.criteria) {
    if (!is_subsumption(c)) continue;
    if (auto s = expand(c, store); !s) {
      Error e = s.take_error();
      if (e.location.empty()) e.location = c.name;
      return e;
    }
  }
  return ok_status();
}

}  // namespace cg::fhir
