#pragma once
// FHIR R4 (4.0.1) definitions: resource and data types with their elements, search
// parameters and compartments, read from tables generated from the official definitions
// (generate_definitions.py, docs/fhir-definitions.md). The XML codec, structural validation,
// search and compartment logic all ask here instead of hard-coding FHIR knowledge.
//
// Everything returned points into static storage that lives for the whole program; lookups
// are binary searches over sorted tables. The tables are built on first use (thread-safe
// static initialisation), after which every function is safe to call from any thread.

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

namespace cg::fhir {

// Position of a type in the sorted type table; stable only within one build.
using TypeId = std::uint16_t;
inline constexpr TypeId kNoType = 0xFFFF;
inline constexpr std::uint32_t kUnbounded = std::numeric_limits<std::uint32_t>::max();

enum class TypeKind : std::uint8_t { kPrimitive, kComplex, kResource, kBackbone };

// The R4 primitive types; kNone for every other type.
enum class PrimitiveType : std::uint8_t {
  kNone,
  kBase64Binary,
  kBoolean,
  kCanonical,
  kCode,
  kDate,
  kDateTime,
  kDecimal,
  kId,
  kInstant,
  kInteger,
  kMarkdown,
  kOid,
  kPositiveInt,
  kString,
  kTime,
  kUnsignedInt,
  kUri,
  kUrl,
  kUuid,
  kXhtml,
};

struct ElementDef {
  std::string_view name;          // "value" for value[x]; otherwise the JSON / XML name
  std::span<const TypeId> types;  // one type, or every allowed type of a choice element
  std::uint32_t min = 0;
  std::uint32_t max = 1;               // 0, 1 or kUnbounded
  bool is_choice = false;              // value[x]: appears as valueQuantity, valueString, ...
  bool is_xml_attr = false;            // an XML attribute (Element.id, Extension.url)
  bool is_xhtml = false;               // Narrative.div
  std::string_view content_reference;  // "Questionnaire.item" when reusing that definition
  // R4's isSummary: part of a `_summary=true` answer. Inherited elements carry the flag of
  // their defining type (Resource.id, meta: yes; DomainResource.text, extension: no).
  bool is_summary = false;
  // R4's isModifier: changes the meaning of the element holding it (Patient.active,
  // modifierExtension); `_elements` answers keep these.
  bool is_modifier = false;

  bool is_array() const { return max > 1; }
  bool is_mandatory() const { return min >= 1; }
};

struct TypeDef {
  std::string_view name;  // "Patient", "HumanName", "dateTime", "Questionnaire.item"
  TypeKind kind = TypeKind::kComplex;
  PrimitiveType primitive = PrimitiveType::kNone;
  bool is_abstract = false;  // Resource, DomainResource, Element, BackboneElement
  TypeId base = kNoType;     // the type it specialises (not set for backbone elements)
  // In definition order, inherited ones included. Primitives list only id and extension:
  // their value is the JSON scalar / the XML value attribute.
  std::span<const ElementDef> elements;
};

std::optional<TypeId> find_type(std::string_view name);
// `id` must come from this module (find_type, ElementDef::types, ElementMatch::type).
const TypeDef& type_def(TypeId id);
std::size_t type_count();

// True for the 146 concrete R4 resource types (not Resource / DomainResource).
bool is_resource_type(std::string_view name);
// The concrete resource type names, sorted.
std::span<const std::string_view> resource_types();

// An element reached through a JSON property or XML element name; for choice elements the
// name fixes the type ("valueQuantity" → Quantity).
struct ElementMatch {
  const ElementDef* element = nullptr;
  TypeId type = kNoType;
  std::size_t index = 0;  // position of the element in its owner's definition order
};
std::optional<ElementMatch> find_element(TypeId owner, std::string_view name);
// The owner's element whose base name is `name` ("value" finds value[x]), if any.
const ElementDef* find_element_def(TypeId owner, std::string_view name);

// --- search parameters ---------------------------------------------------------------

enum class SearchParamType : std::uint8_t {
  kNumber,
  kDate,
  kString,
  kToken,
  kReference,
  kComposite,
  kQuantity,
  kUri,
  kSpecial,
};
enum class SearchComparator : std::uint8_t { kEq, kNe, kGt, kLt, kGe, kLe, kSa, kEb, kAp };

struct SearchParamComponent {
  std::string_view definition;  // canonical URL of the component's search parameter
  std::string_view expression;  // FHIRPath relative to the composite's expression
};

struct SearchParamDef {
  std::string_view code;  // "birthdate", "_lastUpdated"
  std::string_view url;
  std::string_view expression;  // FHIRPath; empty for _text, _content, _query
  SearchParamType type = SearchParamType::kToken;
  std::span<const std::string_view> base;       // resource types it is defined on
  std::span<const std::string_view> target;     // reference targets, sorted
  std::span<const std::string_view> modifiers;  // the R4 modifiers allowed for its type
  std::span<const SearchParamComponent> components;
  std::uint16_t comparator_bits = 0;

  bool allows(SearchComparator c) const {
    return (comparator_bits >> static_cast<unsigned>(c)) & 1u;
  }
};

// Parameters that apply to resource_type, including those defined on Resource and
// DomainResource, sorted by code; empty for unknown types.
std::span<const SearchParamDef* const> search_parameters(std::string_view resource_type);
const SearchParamDef* find_search_parameter(std::string_view resource_type, std::string_view code);
// Every R4 search parameter, sorted by URL.
std::span<const SearchParamDef> all_search_parameters();
// The definition with this canonical URL (a composite's component), or nullptr.
const SearchParamDef* search_parameter_by_url(std::string_view url);
std::string_view to_string(SearchParamType type);

// --- compartments ---------------------------------------------------------------------

// "Device", "Encounter", "Patient", "Practitioner", "RelatedPerson".
std::span<const std::string_view> compartment_types();
// The search parameters (or "{def}") through which a resource of resource_type belongs to a
// compartment of compartment_type; empty when it never does (or either name is unknown).
std::span<const std::string_view> compartment_params(std::string_view compartment_type,
                                                     std::string_view resource_type);

}  // namespace cg::fhir
