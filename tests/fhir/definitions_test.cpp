#include "protocols/fhir/model/definitions.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace cg::fhir;

namespace {

const ElementDef& element(std::string_view type, std::string_view name) {
  auto id = find_type(type);
  REQUIRE(id.has_value());
  const ElementDef* e = find_element_def(*id, name);
  REQUIRE(e != nullptr);
  return *e;
}

std::string type_name_of(const ElementDef& e, std::size_t i = 0) {
  return std::string(type_def(e.types[i]).name);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("R4 has 146 concrete resource types, sorted, without the abstract bases") {
  auto names = resource_types();
  CHECK(names.size() == 146);
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(is_resource_type("Patient"));
  CHECK(is_resource_type("Parameters"));
  CHECK(is_resource_type("Bundle"));
  CHECK_FALSE(is_resource_type("Resource"));
  CHECK_FALSE(is_resource_type("DomainResource"));
  CHECK_FALSE(is_resource_type("HumanName"));
  CHECK_FALSE(is_resource_type("SubscriptionStatus"));  // R4B, not R4
  CHECK_FALSE(is_resource_type("patient"));
  CHECK_FALSE(is_resource_type(""));
}

TEST_CASE("type table holds resources, data types, primitives and backbone elements") {
  std::size_t counts[4] = {};
  std::size_t abstract_resources = 0;
  for (std::size_t i = 0; i < type_count(); ++i) {
    const TypeDef& t = type_def(static_cast<TypeId>(i));
    ++counts[static_cast<int>(t.kind)];
    if (t.kind == TypeKind::kResource && t.is_abstract) ++abstract_resources;
  }
  CHECK(counts[static_cast<int>(TypeKind::kPrimitive)] == 20);
  // 39 specialisations + Element + BackboneElement (the SimpleQuantity/MoneyQuantity
  // profiles are not types).
  CHECK(counts[static_cast<int>(TypeKind::kComplex)] == 41);
  CHECK(counts[static_cast<int>(TypeKind::kResource)] == 148);
  CHECK(abstract_resources == 2);
  CHECK(counts[static_cast<int>(TypeKind::kBackbone)] == 483);
  CHECK(type_count() == 692);

  const TypeDef& date = type_def(*find_type("date"));
  CHECK(date.kind == TypeKind::kPrimitive);
  CHECK(date.primitive == PrimitiveType::kDate);
  CHECK(date.elements.size() == 2);  // id, extension
  CHECK(type_def(*find_type("Patient")).base == *find_type("DomainResource"));
  CHECK(type_def(*find_type("Bundle")).base == *find_type("Resource"));
  CHECK_FALSE(find_type("NoSuchType").has_value());
}

TEST_CASE("elements come in definition order with cardinality and types") {
  const TypeDef& patient = type_def(*find_type("Patient"));
  REQUIRE(patient.elements.size() >= 5);
  CHECK(patient.elements[0].name == "id");
  CHECK(patient.elements[1].name == "meta");
  CHECK(patient.elements[2].name == "implicitRules");
  CHECK(type_name_of(patient.elements[0]) == "id");  // Resource.id is an id

  const ElementDef& name = element("Patient", "name");
  CHECK(name.is_array());
  CHECK(name.min == 0);
  CHECK(type_name_of(name) == "HumanName");
  const ElementDef& birth = element("Patient", "birthDate");
  CHECK_FALSE(birth.is_array());
  CHECK(type_name_of(birth) == "date");
  CHECK(element("Observation", "status").min == 1);
  CHECK(element("Observation", "code").min == 1);
  const ElementDef& contact = element("Patient", "contact");
  CHECK(type_name_of(contact) == "Patient.contact");
  CHECK(type_def(contact.types[0]).kind == TypeKind::kBackbone);
}

TEST_CASE("choice elements list their types and resolve by typed name") {
  const ElementDef& value = element("Observation", "value");
  CHECK(value.is_choice);
  CHECK(value.types.size() == 11);
  auto obs = *find_type("Observation");
  auto m = find_element(obs, "valueQuantity");
  REQUIRE(m.has_value());
  CHECK(m->element == &value);
  CHECK(type_def(m->type).name == "Quantity");
  CHECK_FALSE(find_element(obs, "value").has_value());
  CHECK_FALSE(find_element(obs, "valueHumanName").has_value());
  auto ext = find_element(*find_type("Extension"), "valueDateTime");
  REQUIRE(ext.has_value());
  CHECK(type_def(ext->type).primitive == PrimitiveType::kDateTime);
}

TEST_CASE("content references reuse the referenced backbone element") {
  const ElementDef& nested = element("Questionnaire.item", "item");
  CHECK(nested.content_reference == "Questionnaire.item");
  CHECK(type_name_of(nested) == "Questionnaire.item");
  CHECK(element("Parameters.parameter", "part").content_reference == "Parameters.parameter");
}

TEST_CASE("xml attributes and the narrative div are flagged") {
  CHECK(element("Extension", "url").is_xml_attr);
  CHECK(element("Extension", "id").is_xml_attr);
  CHECK(element("HumanName", "id").is_xml_attr);
  CHECK_FALSE(element("Patient", "id").is_xml_attr);
  CHECK(element("Narrative", "div").is_xhtml);
  CHECK(element("Narrative", "div").min == 1);
  CHECK(type_name_of(element("Bundle.entry", "resource")) == "Resource");
}

TEST_CASE("elements carry R4's isSummary and isModifier flags and mandatory cardinality") {
  const ElementDef& active = element("Patient", "active");
  CHECK(active.is_summary);
  CHECK(active.is_modifier);
  CHECK_FALSE(active.is_mandatory());
  CHECK(element("Patient", "id").is_summary);  // inherited from Resource
  CHECK(element("Patient", "meta").is_summary);
  CHECK(element("Patient", "implicitRules").is_modifier);
  CHECK_FALSE(element("Patient", "text").is_summary);  // DomainResource.text
  CHECK_FALSE(element("Patient", "contained").is_summary);
  CHECK(element("Patient", "modifierExtension").is_modifier);
  CHECK_FALSE(element("Patient", "maritalStatus").is_summary);
  CHECK_FALSE(element("Patient", "birthDate").is_modifier);
  CHECK(element("Observation", "status").is_mandatory());
  CHECK(element("Observation", "status").is_modifier);
  CHECK(element("Observation", "code").is_mandatory());
  CHECK(element("Observation", "value").is_summary);
  CHECK_FALSE(element("Observation", "referenceRange").is_summary);
  CHECK(element("Observation.component", "code").is_summary);
  CHECK(element("HumanName", "family").is_summary);
  CHECK_FALSE(element("HumanName", "extension").is_summary);
  // Mandatory without being a summary element: _summary=true keeps it anyway.
  CHECK(element("Appointment", "participant").is_mandatory());
  CHECK_FALSE(element("Appointment", "participant").is_summary);
  CHECK(element("Bundle.entry", "resource").is_summary);
}

TEST_CASE("search parameters include those defined on Resource and DomainResource") {
  CHECK(all_search_parameters().size() == 1375);
  auto patient = search_parameters("Patient");
  CHECK(std::is_sorted(patient.begin(), patient.end(),
                       [](auto* a, auto* b) { return a->code < b->code; }));
  const SearchParamDef* birthdate = find_search_parameter("Patient", "birthdate");
  REQUIRE(birthdate != nullptr);
  CHECK(birthdate->type == SearchParamType::kDate);
  CHECK(birthdate->expression == "Patient.birthDate | Person.birthDate | RelatedPerson.birthDate");
  CHECK(birthdate->allows(SearchComparator::kGe));
  CHECK(birthdate->base.size() == 3);
  CHECK(find_search_parameter("Patient", "_id") != nullptr);
  CHECK(find_search_parameter("Patient", "_lastUpdated") != nullptr);
  CHECK(find_search_parameter("Patient", "_text") != nullptr);  // DomainResource
  CHECK(find_search_parameter("Bundle", "_text") == nullptr);   // Bundle is no DomainResource
  CHECK(find_search_parameter("Bundle", "_id") != nullptr);
  CHECK(find_search_parameter("Patient", "nonsense") == nullptr);
  CHECK(search_parameters("Nonsense").empty());

  const SearchParamDef* gp = find_search_parameter("Patient", "general-practitioner");
  REQUIRE(gp != nullptr);
  CHECK(gp->type == SearchParamType::kReference);
  CHECK(std::find(gp->target.begin(), gp->target.end(), "Practitioner") != gp->target.end());
  CHECK(std::find(gp->modifiers.begin(), gp->modifiers.end(), "identifier") != gp->modifiers.end());

  const SearchParamDef* composite = find_search_parameter("Observation", "code-value-quantity");
  REQUIRE(composite != nullptr);
  CHECK(composite->type == SearchParamType::kComposite);
  CHECK(composite->components.size() == 2);
  CHECK(to_string(composite->type) == "composite");
}

TEST_CASE("compartments map resource types to their linking parameters") {
  auto types = compartment_types();
  REQUIRE(types.size() == 5);
  CHECK(types[0] == "Device");
  CHECK(types[2] == "Patient");
  auto obs = compartment_params("Patient", "Observation");
  CHECK(std::find(obs.begin(), obs.end(), "subject") != obs.end());
  auto self = compartment_params("Patient", "Patient");
  REQUIRE(self.size() == 1);
  CHECK(self[0] == "link");
  CHECK(compartment_params("Patient", "CodeSystem").empty());
  CHECK(compartment_params("Encounter", "Encounter")[0] == "{def}");
  CHECK(compartment_params("Nope", "Observation").empty());
}

TEST_CASE("the committed tables are what the generator produces from the R4 definitions") {
  const std::filesystem::path input = std::filesystem::path(CG_SHARED_DATA) / "fhir-r4";
  if (!std::filesystem::exists(input / "profiles-resources.json.gz")) {
    MESSAGE("skipped: " << input.string() << " is absent");
    return;
  }
  const std::filesystem::path source = CG_SOURCE_DIR;
  const auto out = std::filesystem::temp_directory_path() /
                   ("cg_r4_definitions_" + std::to_string(::getpid()) + ".inc");
  const std::string cmd =
      "/usr/bin/python3 '" + (source / "protocols/fhir/model/generate_definitions.py").string() +
      "' --input '" + input.string() + "' --output '" + out.string() + "' > /dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string fresh = read_file(out);
  std::filesystem::remove(out);
  CHECK(fresh == read_file(source / "protocols/fhir/model/r4_definitions.inc"));
}

TEST_CASE("search parameters are found by their canonical URL") {
  const SearchParamDef* def =
      search_parameter_by_url("http://hl7.org/fhir/SearchParameter/Observation-value-quantity");
  REQUIRE(def != nullptr);
  CHECK(def->code == "value-quantity");
  CHECK(search_parameter_by_url("http://example.org/none") == nullptr);
}
