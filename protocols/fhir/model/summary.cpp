#include "protocols/fhir/model/summary.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <utility>

#include "protocols/fhir/model/definitions.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;

std::optional<TypeId> resource_type_of(const json::object& resource) {
  const json::value* name = resource.if_contains("resourceType");
  if (name == nullptr || !name->is_string()) return std::nullopt;
  auto id = find_type(name->get_string());
  if (!id || !is_resource_type(type_def(*id).name)) return std::nullopt;
  return id;
}

// The element a property of a `type` value stands for: "birthDate" and its extension
// companion "_birthDate" both give Patient.birthDate, "valueQuantity" gives value[x] typed
// Quantity. Nothing for resourceType and unknown names.
std::optional<ElementMatch> element_of(TypeId type, std::string_view key) {
  if (key.starts_with('_')) key.remove_prefix(1);
  return find_element(type, key);
}

// Keeps the members for which keep(key, value) holds, in their order (object::erase would
// move the last member into the gap). Returns whether any member went.
template <class Keep>
bool retain_members(json::object& object, const Keep& keep) {
  json::object kept(object.storage());
  kept.reserve(object.size());
  for (auto& member : object) {
    if (keep(member.key(), member.value())) kept.emplace(member.key(), std::move(member.value()));
  }
  const bool removed = kept.size() != object.size();
  object = std::move(kept);
  return removed;
}

// Keeps resourceType and the properties (with their `_name` companions) of a `type` value
// whose element satisfies keep(element); unknown properties go.
template <class Keep>
bool retain_elements(json::object& object, TypeId type, const Keep& keep) {
  return retain_members(object, [&](std::string_view key, const json::value&) {
    if (key == "resourceType") return true;
    auto match = element_of(type, key);
    return match.has_value() && keep(*match->element);
  });
}

// Elements every subset keeps at the top level of a resource.
bool is_identity(const ElementDef& e) {
  return e.name == "id" || e.name == "meta";
}

void tag_subsetted(json::object& resource) {
  json::value& meta = resource["meta"];
  if (!meta.is_object()) meta = json::object();
  json::value& tags = meta.get_object()["tag"];
  if (!tags.is_array()) tags = json::array();
  for (const json::value& tag : tags.get_array()) {
    const json::object* coding = tag.if_object();
    if (coding == nullptr) continue;
    const json::value* system = coding->if_contains("system");
    const json::value* code = coding->if_contains("code");
    if (system && code && system->is_string() && code->is_string() &&
        system->get_string() == kSubsettedSystem && code->get_string() == kSubsettedCode) {
      return;
    }
  }
  tags.get_array().push_back(json::object{{"system", kSubsettedSystem}, {"code", kSubsettedCode}});
}

bool is_empty_container(const json::value& v) {
  return (v.is_object() && v.get_object().empty()) || (v.is_array() && v.get_array().empty());
}

bool summarise_resource(json::object& resource);

// What `_summary=true` keeps of a value of some type.
bool in_summary(const ElementDef& e) {
  return e.is_summary || e.is_mandatory() || e.is_modifier;
}

bool summarise_value(json::value& value, TypeId type);

// Summarises one complex or backbone value (or a resource's top level) in place; members
// whose value ends up empty go too. Returns whether anything was removed.
bool summarise_object(json::object& object, TypeId type) {
  bool removed = retain_elements(object, type, in_summary);
  for (auto& member : object) {
    if (member.key().starts_with('_')) continue;  // extension companions stay whole
    if (auto match = element_of(type, member.key())) {
      removed |= summarise_value(member.value(), match->type);
    }
  }
  removed |= retain_members(
      object, [](std::string_view, const json::value& v) { return !is_empty_container(v); });
  return removed;
}

// Summarises the value of a kept element of type `type`: primitives stay as they are,
// complex values keep their summary children, nested resources follow their own type.
// Extensions (kept when they are modifiers) stay whole: R4 marks none of Extension's
// children as summary, yet an extension is meaningless without its value.
bool summarise_value(json::value& value, TypeId type) {
  const TypeDef& def = type_def(type);
  if (def.kind == TypeKind::kPrimitive || def.name == "Extension") return false;
  if (json::array* items = value.if_array()) {
    bool removed = false;
    for (json::value& item : *items) removed |= summarise_value(item, type);
    const auto empty = std::remove_if(items->begin(), items->end(), is_empty_container);
    items->erase(empty, items->end());
    return removed;
  }
  json::object* object = value.if_object();
  if (object == nullptr) return false;
  if (def.kind == TypeKind::kResource) return summarise_resource(*object);
  return summarise_object(*object, type);
}

bool summarise_resource(json::object& resource) {
  auto type = resource_type_of(resource);
  if (!type) return false;
  const bool removed = summarise_object(resource, *type);
  if (removed) tag_subsetted(resource);
  return removed;
}

}  // namespace

void apply_summary(json::object& resource, SummaryMode mode) {
  auto type = resource_type_of(resource);
  if (!type) return;
  bool removed = false;
  switch (mode) {
    case SummaryMode::kTrue:
      summarise_resource(resource);
      return;
    case SummaryMode::kText:
      removed = retain_elements(resource, *type, [](const ElementDef& e) {
        return is_identity(e) || e.name == "text" || e.is_mandatory();
      });
      break;
    case SummaryMode::kData:
      removed =
          retain_elements(resource, *type, [](const ElementDef& e) { return e.name != "text"; });
      break;
    case SummaryMode::kFalse:
      return;
  }
  if (removed) tag_subsetted(resource);
}

Status apply_elements(json::object& resource, const std::vector<std::string>& elements) {
  auto type = resource_type_of(resource);
  if (!type) return Error::invalid("_elements: the resource has no known resourceType");
  std::vector<const ElementDef*> wanted;
  std::string unknown;
  for (const std::string& name : elements) {
    if (name.empty() || name == "resourceType") continue;
    const ElementDef* e = find_element_def(*type, name);
    if (e == nullptr) {
      if (auto match = find_element(*type, name)) e = match->element;
    }
    if (e != nullptr) {
      wanted.push_back(e);
    } else {
      unknown += (unknown.empty() ? "" : ", ") + name;
    }
  }
  if (!unknown.empty()) {
    return Error::invalid("_elements names no element of " + std::string(type_def(*type).name) +
                          ": " + unknown);
  }
  const bool removed = retain_elements(resource, *type, [&](const ElementDef& e) {
    return is_identity(e) || e.is_mandatory() || e.is_modifier ||
           std::find(wanted.begin(), wanted.end(), &e) != wanted.end();
  });
  if (removed) tag_subsetted(resource);
  return ok_status();
}

}  // namespace cg::fhir
