#include "protocols/fhir/index/index_values.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/json.hpp"

using namespace cg;
using namespace cg::fhir;

namespace {
storage::IndexEntries index(SearchParamType type, std::string_view fhir_type,
                            std::string_view json) {
  auto v = parse_json(json);
  REQUIRE(v.ok());
  storage::IndexEntries out;
  add_index_values("p", type, fhir_type, *v, out);
  return out;
}
}  // namespace

TEST_CASE("string: HumanName and Address parts, normalized and exact") {
  auto name =
      index(SearchParamType::kString, "HumanName",
            R"({"family":"Müller","given":["Anna","Lena"],"prefix":["Dr."],"use":"official"})");
  REQUIRE(name.strings.size() == 4);
  CHECK(name.strings[0] == storage::StringIndex{"p", "muller", "Müller"});
  CHECK(name.strings[1].normalized == "anna");
  auto addr = index(SearchParamType::kString, "Address",
                    R"({"line":["12 Main St"],"city":"Accra","country":"GH"})");
  CHECK(addr.strings.size() == 3);
  CHECK(index(SearchParamType::kString, "string", R"("Hello")").strings[0].normalized == "hello");
  CHECK(index(SearchParamType::kString, "Quantity", R"({"value":1})").strings.empty());
}

TEST_CASE("token: codes, Codings, CodeableConcepts, Identifiers, booleans") {
  auto cc =
      index(SearchParamType::kToken, "CodeableConcept",
            R"({"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"},
                     {"system":"urn:x","code":"hr"}],"text":"Pulse"})");
  REQUIRE(cc.tokens.size() == 2);
  CHECK(cc.tokens[0].system == "http://loinc.org");
  CHECK(cc.tokens[0].code == "8867-4");
  CHECK(cc.tokens[0].text == "heart rate");
  CHECK(cc.tokens[1].text == "pulse");  // falls back to the concept text
  auto text_only = index(SearchParamType::kToken, "CodeableConcept", R"({"text":"Fever"})");
  REQUIRE(text_only.tokens.size() == 1);
  CHECK(text_only.tokens[0].code.empty());
  auto id = index(
      SearchParamType::kToken, "Identifier",
      R"({"system":"urn:mrn","value":"42","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}})");
  REQUIRE(id.tokens.size() == 1);
  CHECK(id.tokens[0].code == "42");
  CHECK(id.tokens[0].type_code == "MR");
  CHECK(index(SearchParamType::kToken, "boolean", "true").tokens[0].code == "true");
  CHECK(index(SearchParamType::kToken, "code", R"("female")").tokens[0].code == "female");
  CHECK(index(SearchParamType::kToken, "ContactPoint", R"({"system":"phone","value":"555"})")
            .tokens[0]
            .code == "555");
}

TEST_CASE("date: precision ranges, periods with open ends, timing events") {
  auto day = index(SearchParamType::kDate, "date", R"("2026-11-21")");
  REQUIRE(day.dates.size() == 1);
  CHECK(day.dates[0].high_ms - day.dates[0].low_ms == 86'400'000);
  auto period = index(SearchParamType::kDate, "Period", R"({"start":"2026-01-01"})");
  REQUIRE(period.dates.size() == 1);
  CHECK(period.dates[0].high_ms == std::numeric_limits<std::int64_t>::max());
  auto timing = index(SearchParamType::kDate, "Timing", R"({"event":["2026-01-02","2026-01-01"]})");
  REQUIRE(timing.dates.size() == 1);
  CHECK(timing.dates[0].high_ms - timing.dates[0].low_ms == 2 * 86'400'000);
  CHECK(index(SearchParamType::kDate, "date", R"("not a date")").dates.empty());
}

TEST_CASE("number and quantity keep precision; UCUM units get base-unit values") {
  auto n = index(SearchParamType::kNumber, "decimal", "1.50");
  REQUIRE(n.numbers.size() == 1);
  CHECK(n.numbers[0].low == doctest::Approx(1.495));
  auto q = index(SearchParamType::kQuantity, "Quantity",
                 R"({"value":250,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"})");
  REQUIRE(q.quantities.size() == 1);
  CHECK(q.quantities[0].code == "mg");
  CHECK(q.quantities[0].canonical_code == "g");
  CHECK(q.quantities[0].canonical_low == doctest::Approx(0.2495));
  auto money = index(SearchParamType::kQuantity, "Money", R"({"value":12.5,"currency":"GHS"})");
  CHECK(money.quantities[0].system == "urn:iso:std:iso:4217");
  CHECK(money.quantities[0].canonical_code.empty());
}

TEST_CASE("reference: relative, absolute, versioned, canonical, identifier; contained skipped") {
  auto rel = index(SearchParamType::kReference, "Reference", R"({"reference":"Patient/123"})");
  REQUIRE(rel.references.size() == 1);
  CHECK(rel.references[0].target_type == "Patient");
  CHECK(rel.references[0].target_id == "123");
  auto abs = index(SearchParamType::kReference, "Reference",
                   R"({"reference":"http://other.org/fhir/Patient/9/_history/2"})");
  CHECK(abs.references[0].url == "http://other.org/fhir/Patient/9/_history/2");
  CHECK(abs.references[0].target_id == "9");
  CHECK(abs.references[0].version == "2");
  auto can = index(SearchParamType::kReference, "canonical",
                   R"("http://x.org/fhir/Questionnaire/q1|2.0")");
  CHECK(can.references[0].url == "http://x.org/fhir/Questionnaire/q1");
  CHECK(can.references[0].version == "2.0");
  auto ident = index(SearchParamType::kReference, "Reference",
                     R"({"identifier":{"system":"urn:nid","value":"A1"},"type":"Patient"})");
  CHECK(ident.references[0].identifier_value == "A1");
  CHECK(
      index(SearchParamType::kReference, "Reference", R"({"reference":"#c1"})").references.empty());
}

TEST_CASE("uri values are kept as written") {
  CHECK(index(SearchParamType::kUri, "uri", R"("http://a/b")").uris[0].uri == "http://a/b");
  CHECK(index(SearchParamType::kUri, "string", R"("x")").uris.empty());
}
