// Model-aware navigation of FHIR JSON: element lookup through the R4 definitions, choice
// elements, primitive `_name` companions, contained and Bundle resources typed by their
// "resourceType".
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cctype>

#include "protocols/fhir/fhirpath/evaluator.hpp"

namespace cg::fhirpath {
namespace {

namespace json = boost::json;
using fhir::kNoType;
using fhir::TypeId;

TypeId element_type(const fhir::ElementMatch& m) {
  if (m.type != kNoType) return m.type;
  if (m.element && !m.element->content_reference.empty()) {
    std::string_view ref = m.element->content_reference;
    if (ref.starts_with('#')) ref.remove_prefix(1);
    if (auto id = fhir::find_type(ref)) return *id;
  }
  return kNoType;
}

// Appends the item(s) of one JSON property: arrays are flattened, primitive values are
// paired with their `_name` companion, objects with "resourceType" get that type.
void push_property(const json::value* value, const json::value* ext, TypeId type, Collection& out) {
  const json::array* values = value ? value->if_array() : nullptr;
  const json::array* exts = ext ? ext->if_array() : nullptr;
  if (values || exts) {
    const std::size_t n = std::max(values ? values->size() : 0, exts ? exts->size() : 0);
    for (std::size_t i = 0; i < n; ++i) {
      const json::value* v = values && i < values->size() ? &(*values)[i] : nullptr;
      const json::value* e = exts && i < exts->size() ? &(*exts)[i] : nullptr;
      if (e && e->is_null()) e = nullptr;
      if ((!v || v->is_null()) && !e) continue;
      const TypeId t = v ? resource_type_of(*v) : kNoType;
      out.push_back(Item::node(v, e, t != kNoType ? t : type));
    }
    return;
  }
  if (value && value->is_null() && !ext) return;
  const TypeId t = value ? resource_type_of(*value) : kNoType;
  out.push_back(Item::node(value, ext, t != kNoType ? t : type));
}

// Guesses the type of a choice element from its suffix when the owner is unknown
// ("valueQuantity" → Quantity, "valueString" → string).
TypeId type_from_suffix(std::string_view suffix) {
  if (auto id = fhir::find_type(suffix)) return *id;
  std::string lower(suffix);
  lower[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[0])));
  if (auto id = fhir::find_type(lower)) return *id;
  return kNoType;
}

bool starts_upper(std::string_view s) {
  return !s.empty() && std::isupper(static_cast<unsigned char>(s[0]));
}

const json::value* find_key(const json::object& obj, std::string_view key) {
  return obj.if_contains(key);
}

}  // namespace

TypeId resource_type_of(const json::value& v) {
  const json::object* obj = v.if_object();
  if (!obj) return kNoType;
  const json::value* rt = obj->if_contains("resourceType");
  if (!rt || !rt->is_string()) return kNoType;
  const json::string& name = rt->get_string();
  if (!fhir::is_resource_type(std::string_view(name.data(), name.size()))) return kNoType;
  return fhir::find_type(std::string_view(name.data(), name.size())).value_or(kNoType);
}

bool derives_from(TypeId type, TypeId ancestor) {
  for (int guard = 0; type != kNoType && guard < 32; ++guard) {
    if (type == ancestor) return true;
    const fhir::TypeDef& def = fhir::type_def(type);
    if (def.kind == fhir::TypeKind::kBackbone && def.base == kNoType) {
      static const TypeId kBackboneElement = fhir::find_type("BackboneElement").value_or(kNoType);
      type = kBackboneElement;
      continue;
    }
    type = def.base;
  }
  return false;
}

void member_items(const Item& item, std::string_view name, Collection& out, bool& known) {
  known = false;
  if (!item.is_node()) return;
  const Node& node = item.as_node();
  const json::object* obj = node.value ? node.value->if_object() : nullptr;
  if (!obj) {
    // A primitive: only id and extension, held by the `_name` companion.
    known = name == "id" || name == "extension";
    if (known && node.extension && node.extension->is_object()) {
      const json::value* v = find_key(node.extension->get_object(), name);
      if (v)
        push_property(v, nullptr,
                      name == "id" ? fhir::find_type("string").value_or(kNoType)
                                   : fhir::find_type("Extension").value_or(kNoType),
                      out);
    }
    return;
  }
  if (starts_upper(name)) {
    // A type name as path step: `Patient.name` with a Patient focus.
    if (auto id = fhir::find_type(name)) {
      if (node.type != kNoType ? derives_from(node.type, *id)
                               : resource_type_of(*node.value) == *id) {
        known = true;
        out.push_back(item);
        return;
      }
    }
  }
  const json::value* v = find_key(*obj, name);
  std::string ext_key = "_" + std::string(name);
  const json::value* e = find_key(*obj, ext_key);
  if (v || e) {
    TypeId type = kNoType;
    if (node.type != kNoType) {
      if (auto m = fhir::find_element(node.type, name)) {
        type = element_type(*m);
        known = m->element->name == name;
      }
    } else {
      known = true;
    }
    push_property(v, e, type, out);
    return;
  }
  if (node.type != kNoType) {
    const fhir::ElementDef* def = fhir::find_element_def(node.type, name);
    if (!def) return;
    known = true;
    if (!def->is_choice) return;
    for (const auto& [key, value] : *obj) {
      const std::string_view k(key.data(), key.size());
      if (k.size() <= name.size() || !k.starts_with(name) || !starts_upper(k.substr(name.size()))) {
        continue;
      }
      auto m = fhir::find_element(node.type, k);
      if (!m || m->element != def) continue;
      push_property(&value, find_key(*obj, "_" + std::string(k)), m->type, out);
    }
    return;
  }
  // Unknown owner: accept `name` + Type as a choice element.
  known = true;
  for (const auto& [key, value] : *obj) {
    const std::string_view k(key.data(), key.size());
    if (k.size() <= name.size() || !k.starts_with(name) || !starts_upper(k.substr(name.size()))) {
      continue;
    }
    push_property(&value, find_key(*obj, "_" + std::string(k)),
                  type_from_suffix(k.substr(name.size())), out);
  }
}

void child_items(const Item& item, Collection& out) {
  if (!item.is_node()) return;
  const Node& node = item.as_node();
  const json::object* obj = node.value ? node.value->if_object() : nullptr;
  if (!obj) {
    // A primitive: its id and extensions live in the `_name` companion.
    const json::object* ext = node.extension ? node.extension->if_object() : nullptr;
    if (!ext) return;
    for (std::string_view name : {"id", "extension"}) {
      bool known = false;
      member_items(item, name, out, known);
    }
    return;
  }
  for (const auto& [key, value] : *obj) {
    std::string_view k(key.data(), key.size());
    if (k == "resourceType") continue;
    const json::value* ext = nullptr;
    const json::value* v = &value;
    if (k.starts_with('_')) {
      // Only companions without a value of their own; the others came with their value.
      if (find_key(*obj, k.substr(1))) continue;
      k.remove_prefix(1);
      ext = v;
      v = nullptr;
    } else {
      ext = find_key(*obj, "_" + std::string(k));
    }
    TypeId type = kNoType;
    if (node.type != kNoType) {
      if (auto m = fhir::find_element(node.type, k)) type = element_type(*m);
    }
    push_property(v, ext, type, out);
  }
}

bool item_is(const Item& item, const TypeSpec& spec, bool exact) {
  if (spec.matches_nothing) return false;
  if (item.is_node() && item.as_node().type != kNoType) {
    if (spec.fhir_type == kNoType) return false;
    const TypeId t = item.as_node().type;
    return exact ? t == spec.fhir_type : derives_from(t, spec.fhir_type);
  }
  std::optional<Item> sys = item.is_node() ? to_system(item) : std::optional<Item>(item);
  if (!sys) return false;
  const ItemKind k = sys->kind();
  if (spec.system == SystemType::kNone) {
    // The unqualified name Quantity also stands for System.Quantity.
    return k == ItemKind::kQuantity && spec.text == "Quantity";
  }
  switch (spec.system) {
    case SystemType::kAny:
      return true;
    case SystemType::kBoolean:
      return k == ItemKind::kBoolean;
    case SystemType::kString:
      return k == ItemKind::kString;
    case SystemType::kInteger:
      return k == ItemKind::kInteger;
    case SystemType::kDecimal:
      return k == ItemKind::kDecimal;
    case SystemType::kDate:
      return k == ItemKind::kDate;
    case SystemType::kDateTime:
      return k == ItemKind::kDateTime;
    case SystemType::kTime:
      return k == ItemKind::kTime;
    case SystemType::kQuantity:
      return k == ItemKind::kQuantity;
    case SystemType::kNone:
      break;
  }
  return false;
}

}  // namespace cg::fhirpath
