#include "protocols/fhir/model/definitions.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <vector>

namespace cg::fhir {
namespace tables {

// Record layouts of the generated tables; every std::uint16_t name/url/expression is an
// index into kStrings. Field order matches generate_definitions.py.
struct RawType {
  std::uint16_t name;
  std::uint8_t kind;
  std::uint8_t primitive;
  std::uint8_t is_abstract;
  std::uint16_t base;
  std::uint16_t first_element;
  std::uint16_t element_count;
  std::uint16_t first_member;
  std::uint16_t member_count;
};
struct RawElement {
  std::uint16_t name;
  std::uint16_t first_type;
  std::uint8_t type_count;
  std::uint16_t flags;
};
struct RawMember {
  std::uint16_t name;
  std::uint16_t element;
  std::uint16_t type;
};
struct RawSearchParam {
  std::uint16_t code;
  std::uint16_t url;
  std::uint16_t expression;
  std::uint8_t type;
  std::uint16_t first_base;
  std::uint16_t base_count;
  std::uint16_t first_target;
  std::uint16_t target_count;
  std::uint16_t comparators;
  std::uint16_t first_component;
  std::uint16_t component_count;
};
struct RawSearchComponent {
  std::uint16_t definition;
  std::uint16_t expression;
};
struct RawTypeSearchParams {
  std::uint16_t type;
  std::uint16_t first;
  std::uint16_t count;
};
struct RawCompartmentEntry {
  std::uint16_t compartment;
  std::uint16_t resource;
  std::uint16_t first_param;
  std::uint16_t param_count;
};

// Element flag bits written by the generator.
inline constexpr std::uint16_t kRequired = 1, kArray = 2, kChoice = 4, kXmlAttr = 8, kXhtml = 16,
                               kContentRef = 32, kProhibited = 64, kSummary = 128, kModifier = 256;

#include "protocols/fhir/model/r4_definitions.inc"

}  // namespace tables

namespace {

using namespace tables;

// Modifiers R4 allows per search parameter type (reference parameters also take a resource
// type name as modifier, which is not listed).
constexpr std::string_view kMissing[] = {"missing"};
constexpr std::string_view kStringModifiers[] = {"missing", "exact", "contains"};
constexpr std::string_view kTokenModifiers[] = {"missing", "text", "not",    "above",
                                                "below",   "in",   "not-in", "of-type"};
constexpr std::string_view kReferenceModifiers[] = {"missing", "identifier", "above", "below"};
constexpr std::string_view kUriModifiers[] = {"missing", "above", "below"};

std::span<const std::string_view> modifiers_for(SearchParamType type) {
  switch (type) {
    case SearchParamType::kString:
      return kStringModifiers;
    case SearchParamType::kToken:
      return kTokenModifiers;
    case SearchParamType::kReference:
      return kReferenceModifiers;
    case SearchParamType::kUri:
      return kUriModifiers;
    default:
      return kMissing;
  }
}

// The public views over the raw tables, built once.
class Definitions {
 public:
  static const Definitions& get() {
    static const Definitions instance;
    return instance;
  }

  std::vector<ElementDef> elements;
  std::vector<TypeDef> types;
  std::vector<std::string_view> resource_types;
  std::vector<std::string_view> search_lists;
  std::vector<SearchParamComponent> components;
  std::vector<SearchParamDef> params;
  std::vector<std::vector<const SearchParamDef*>> params_by_type;  // indexed by TypeId
  std::vector<std::string_view> compartment_types;
  std::vector<std::string_view> compartment_params;

 private:
  Definitions() {
    build_types();
    build_search_params();
    build_compartments();
  }

  void build_types() {
    elements.reserve(std::size(kElements));
    for (const RawElement& e : kElements) {
      ElementDef def;
      def.name = kStrings[e.name];
      def.types = std::span<const TypeId>(kElementTypes + e.first_type, e.type_count);
      def.min = (e.flags & kRequired) ? 1 : 0;
      def.max = (e.flags & kArray) ? kUnbounded : (e.flags & kProhibited) ? 0 : 1;
      def.is_choice = e.flags & kChoice;
      def.is_xml_attr = e.flags & kXmlAttr;
      def.is_xhtml = e.flags & kXhtml;
      def.is_summary = e.flags & kSummary;
      def.is_modifier = e.flags & kModifier;
      if (e.flags & kContentRef) def.content_reference = kStrings[kTypes[def.types[0]].name];
      elements.push_back(def);
    }
    types.reserve(std::size(kTypes));
    for (const RawType& t : kTypes) {
      TypeDef def;
      def.name = kStrings[t.name];
      def.kind = static_cast<TypeKind>(t.kind);
      def.primitive = static_cast<PrimitiveType>(t.primitive);
      def.is_abstract = t.is_abstract != 0;
      def.base = t.base;
      def.elements =
          std::span<const ElementDef>(elements.data() + t.first_element, t.element_count);
      types.push_back(def);
      if (def.kind == TypeKind::kResource && !def.is_abstract) resource_types.push_back(def.name);
    }
  }

  void build_search_params() {
    search_lists.reserve(std::size(kSearchParamLists));
    for (std::uint16_t s : kSearchParamLists) search_lists.push_back(kStrings[s]);
    for (const RawSearchComponent& c : kSearchComponents) {
      components.push_back({kStrings[c.definition], kStrings[c.expression]});
    }
    params.reserve(std::size(kSearchParams));
    for (const RawSearchParam& p : kSearchParams) {
      SearchParamDef def;
      def.code = kStrings[p.code];
      def.url = kStrings[p.url];
      def.expression = kStrings[p.expression];
      def.type = static_cast<SearchParamType>(p.type);
      def.base =
          std::span<const std::string_view>(search_lists).subspan(p.first_base, p.base_count);
      def.target =
          std::span<const std::string_view>(search_lists).subspan(p.first_target, p.target_count);
      def.modifiers = modifiers_for(def.type);
      def.components = std::span<const SearchParamComponent>(components)
                           .subspan(p.first_component, p.component_count);
      def.comparator_bits = p.comparators;
      params.push_back(def);
    }
    params_by_type.resize(types.size());
    for (const RawTypeSearchParams& t : kSearchParamsByType) {
      auto& list = params_by_type[t.type];
      for (std::uint16_t i = 0; i < t.count; ++i) {
        list.push_back(&params[kTypeSearchParams[t.first + i]]);
      }
    }
  }

  void build_compartments() {
    for (std::uint16_t p : kCompartmentParams) compartment_params.push_back(kStrings[p]);
    for (const RawCompartmentEntry& c : kCompartments) {
      std::string_view name = kStrings[c.compartment];
      if (compartment_types.empty() || compartment_types.back() != name) {
        compartment_types.push_back(name);
      }
    }
  }
};

}  // namespace

std::optional<TypeId> find_type(std::string_view name) {
  const auto* end = std::end(kTypes);
  const auto* it =
      std::lower_bound(std::begin(kTypes), end, name,
                       [](const RawType& t, std::string_view n) { return kStrings[t.name] < n; });
  if (it == end || kStrings[it->name] != name) return std::nullopt;
  return static_cast<TypeId>(it - std::begin(kTypes));
}

const TypeDef& type_def(TypeId id) {
  return Definitions::get().types.at(id);
}

std::size_t type_count() {
  return std::size(kTypes);
}

bool is_resource_type(std::string_view name) {
  const auto& names = Definitions::get().resource_types;
  return std::binary_search(names.begin(), names.end(), name);
}

std::span<const std::string_view> resource_types() {
  return Definitions::get().resource_types;
}

std::optional<ElementMatch> find_element(TypeId owner, std::string_view name) {
  if (owner >= std::size(kTypes)) return std::nullopt;
  const RawType& t = kTypes[owner];
  const RawMember* first = kMembers + t.first_member;
  const RawMember* last = first + t.member_count;
  const RawMember* it =
      std::lower_bound(first, last, name,
                       [](const RawMember& m, std::string_view n) { return kStrings[m.name] < n; });
  if (it == last || kStrings[it->name] != name) return std::nullopt;
  const auto& defs = Definitions::get();
  return ElementMatch{&defs.elements[it->element], it->type,
                      static_cast<std::size_t>(it->element - t.first_element)};
}

const ElementDef* find_element_def(TypeId owner, std::string_view name) {
  if (owner >= std::size(kTypes)) return nullptr;
  for (const ElementDef& e : type_def(owner).elements) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::span<const SearchParamDef* const> search_parameters(std::string_view resource_type) {
  auto id = find_type(resource_type);
  if (!id) return {};
  return Definitions::get().params_by_type[*id];
}

const SearchParamDef* find_search_parameter(std::string_view resource_type, std::string_view code) {
  auto list = search_parameters(resource_type);
  auto it =
      std::lower_bound(list.begin(), list.end(), code,
                       [](const SearchParamDef* p, std::string_view c) { return p->code < c; });
  return it != list.end() && (*it)->code == code ? *it : nullptr;
}

std::span<const SearchParamDef> all_search_parameters() {
  return Definitions::get().params;
}

const SearchParamDef* search_parameter_by_url(std::string_view url) {
  auto all = all_search_parameters();
  auto it = std::lower_bound(all.begin(), all.end(), url,
                             [](const SearchParamDef& p, std::string_view u) { return p.url < u; });
  return it != all.end() && it->url == url ? &*it : nullptr;
}

std::string_view to_string(SearchParamType type) {
  static constexpr std::array<std::string_view, 9> kNames = {
      "number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special"};
  const auto i = static_cast<std::size_t>(type);
  return i < kNames.size() ? kNames[i] : std::string_view{};
}

std::span<const std::string_view> compartment_types() {
  return Definitions::get().compartment_types;
}

std::span<const std::string_view> compartment_params(std::string_view compartment_type,
                                                     std::string_view resource_type) {
  auto key = [](const RawCompartmentEntry& c) {
    return std::pair{kStrings[c.compartment], kStrings[c.resource]};
  };
  const std::pair wanted{compartment_type, resource_type};
  const auto* end = std::end(kCompartments);
  const auto* it =
      std::lower_bound(std::begin(kCompartments), end, wanted,
                       [&](const RawCompartmentEntry& c, const auto& w) { return key(c) < w; });
  if (it == end || key(*it) != wanted) return {};
  return std::span<const std::string_view>(Definitions::get().compartment_params)
      .subspan(it->first_param, it->param_count);
}

}  // namespace cg::fhir
