#include "protocols/fhir/search/search_query.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace cg;
using namespace cg::fhir;
using namespace cg::fhir::search;

namespace {

constexpr std::int64_t kJan2026 = 1767225600000;  // 2026-01-01T00:00:00Z

struct Param {
  std::string name;
  std::string value;
};

Result<SearchRequest> parse(std::string_view type, std::vector<Param> params, bool strict = true,
                            SearchLimits limits = {}) {
  return parse_search(type, params, limits, strict, kJan2026);
}

// Parses one parameter strictly and returns its criterion.
Criterion one(std::string_view type, std::string name, std::string value) {
  auto r = parse(type, {{std::move(name), std::move(value)}});
  if (!r.ok()) FAIL(r.error().message);
  REQUIRE(r->criteria.size() == 1);
  return r->criteria[0];
}

// The error message of a strict parse that must fail with kInvalid.
std::string refused(std::string_view type, std::vector<Param> params) {
  auto r = parse(type, std::move(params));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kInvalid);
  return r.error().message;
}

bool mentions(const std::string& message, std::string_view word) {
  return message.find(word) != std::string::npos;
}

// A value that parses for `def` (used by the sweep over every definition).
std::string sample_value(const SearchParamDef& def) {
  switch (def.type) {
    case SearchParamType::kNumber:
      return "ge1.5";
    case SearchParamType::kDate:
      return "lt2026-01-02T10:00:00Z";
    case SearchParamType::kString:
      return "abc";
    case SearchParamType::kToken:
      return "http://example.org|x";
    case SearchParamType::kReference:
      return def.target.empty() ? "http://example.org/x" : std::string(def.target[0]) + "/1";
    case SearchParamType::kQuantity:
      return "5.4|http://unitsofmeasure.org|mg";
    case SearchParamType::kUri:
      return "http://example.org/x";
    case SearchParamType::kSpecial:
      return "42.25|-83.69|10|km";
    case SearchParamType::kComposite:
      break;
  }
  std::string out;
  for (const auto& component : def.components) {
    const SearchParamDef* c = nullptr;
    for (const auto& p : all_search_parameters()) {
      if (p.url == component.definition) c = &p;
    }
    REQUIRE(c != nullptr);
    out += (out.empty() ? "" : "$") + sample_value(*c);
  }
  return out;
}

}  // namespace

TEST_CASE("each parameter type yields its typed value") {
  CHECK(
      std::holds_alternative<NumberValue>(one("RiskAssessment", "probability", "gt0.5").any_of[0]));
  CHECK(std::holds_alternative<DateValue>(one("Patient", "birthdate", "1980").any_of[0]));
  CHECK(std::holds_alternative<StringValue>(one("Patient", "name", "peter").any_of[0]));
  CHECK(std::holds_alternative<TokenValue>(one("Patient", "gender", "female").any_of[0]));
  CHECK(
      std::holds_alternative<ReferenceValue>(one("Observation", "subject", "Patient/1").any_of[0]));
  CHECK(std::holds_alternative<QuantityValue>(
      one("Observation", "value-quantity", "lt5.4||mg").any_of[0]));
  CHECK(std::holds_alternative<UriValue>(one("ValueSet", "url", "http://x.org/vs").any_of[0]));
  CHECK(std::holds_alternative<CompositeValue>(
      one("Observation", "code-value-quantity", "8480-6$gt100").any_of[0]));
  CHECK(std::holds_alternative<NearValue>(one("Location", "near", "42.2|-83.6").any_of[0]));
  auto c = one("Patient", "birthdate", "1980");
  CHECK(c.code == "birthdate");
  CHECK(c.target_type == "Patient");
  CHECK(c.param->type == SearchParamType::kDate);
  CHECK(c.chain.empty());
}

TEST_CASE("every prefix is accepted on number, date and quantity parameters") {
  for (const char* p : {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}) {
    INFO(p);
    const std::string prefix = p;
    CHECK(parse("RiskAssessment", {{"probability", prefix + "0.5"}}).ok());
    CHECK(parse("Patient", {{"birthdate", prefix + "1980-05"}}).ok());
    CHECK(
        parse("Observation", {{"value-quantity", prefix + "5|http://unitsofmeasure.org|mg"}}).ok());
    CHECK(parse("Patient", {{"_lastUpdated", prefix + "2026-01-01T00:00:00Z"}}).ok());
  }
  CHECK(mentions(refused("Patient", {{"birthdate", "xx1980"}}), "birthdate"));
  CHECK(mentions(refused("Patient", {{"birthdate", "1980-02-30"}}), "1980-02-30"));
  CHECK(mentions(refused("RiskAssessment", {{"probability", "gt"}}), "probability"));
  CHECK(mentions(refused("RiskAssessment", {{"probability", "1.2.3"}}), "1.2.3"));
}

TEST_CASE("modifiers are accepted only on the types R4 allows them for") {
  struct Case {
    const char* type;
    const char* name;
    const char* value;
    bool ok;
  };
  const Case cases[] = {
      {"Patient", "name:exact", "Peter", true},
      {"Patient", "name:contains", "ete", true},
      {"Patient", "name:missing", "true", true},
      {"Patient", "name:not", "x", false},
      {"Patient", "name:text", "x", false},
      {"Patient", "gender:not", "male", true},
      {"Patient", "gender:missing", "false", true},
      {"Patient", "gender:exact", "male", false},
      {"Observation", "code:text", "blood pressure", true},
      {"Observation", "code:above", "http://snomed.info/sct|123", true},
      {"Observation", "code:below", "http://snomed.info/sct|123", true},
      {"Observation", "code:in", "http://x.org/ValueSet/vs", true},
      {"Observation", "code:not-in", "http://x.org/ValueSet/vs", true},
      {"Patient", "identifier:of-type", "http://t.org|MR|123", true},
      {"Patient", "identifier:contains", "1", false},
      {"Observation", "subject:identifier", "http://acme.org/mrn|123", true},
      {"Observation", "subject:Patient", "123", true},
      {"Observation", "subject:Medication", "123", false},
      {"Observation", "subject:missing", "true", true},
      {"Observation", "subject:above", "Patient/1", true},
      {"Observation", "subject:exact", "Patient/1", false},
      {"ValueSet", "url:below", "http://x.org/", true},
      {"ValueSet", "url:above", "http://x.org/a/b", true},
      {"ValueSet", "url:contains", "x", false},
      {"Patient", "birthdate:missing", "true", true},
      {"Patient", "birthdate:exact", "1980", false},
      {"RiskAssessment", "probability:missing", "false", true},
      {"RiskAssessment", "probability:not", "1", false},
      {"Observation", "value-quantity:missing", "true", true},
      {"Observation", "value-quantity:below", "5", false},
      {"Observation", "code-value-quantity:missing", "true", true},
      {"Observation", "code-value-quantity:exact", "a$1", false},
      {"Patient", "gender:nonsense", "x", false},
      {"Patient", "name:missing", "maybe", false},
  };
  for (const auto& c : cases) {
    INFO(c.type << " " << c.name << "=" << c.value);
    auto r = parse(c.type, {{c.name, c.value}});
    CHECK(r.ok() == c.ok);
    if (!r.ok()) CHECK(r.error().location == c.name);
  }
}

TEST_CASE("modifier values take the modifier's syntax") {
  auto text = one("Observation", "code:text", "blood pressure");
  CHECK(text.modifier == Modifier::kText);
  CHECK(std::get<StringValue>(text.any_of[0]).value == "blood pressure");
  auto in = one("Observation", "code:in", "http://x.org/ValueSet/vs");
  CHECK(in.modifier == Modifier::kIn);
  CHECK(std::get<UriValue>(in.any_of[0]).value == "http://x.org/ValueSet/vs");
  auto of_type = one("Patient", "identifier:of-type", "http://t.org|MR|123");
  CHECK(std::get<TokenValue>(of_type.any_of[0]).type_code == "MR");
  auto identifier = one("Observation", "subject:identifier", "http://acme.org/mrn|123");
  CHECK(identifier.modifier == Modifier::kIdentifier);
  CHECK(std::get<TokenValue>(identifier.any_of[0]).system == "http://acme.org/mrn");
  auto typed = one("Observation", "subject:Patient", "123");
  CHECK(typed.modifier == Modifier::kType);
  CHECK(typed.type_modifier == "Patient");
  CHECK(std::get<ReferenceValue>(typed.any_of[0]).type == "Patient");
  auto missing = one("Patient", "name:missing", "false");
  CHECK_FALSE(std::get<MissingValue>(missing.any_of[0]).missing);
  CHECK(to_string(Modifier::kNotIn) == "not-in");
}

TEST_CASE("comma is OR within a parameter, repetition is AND") {
  auto r = parse("Patient",
                 {{"gender", "male,female"}, {"birthdate", "ge1980"}, {"birthdate", "lt1990"}});
  REQUIRE(r.ok());
  REQUIRE(r->criteria.size() == 3);
  CHECK(r->criteria[0].any_of.size() == 2);
  CHECK(r->criteria[1].any_of.size() == 1);
  CHECK(std::get<DateValue>(r->criteria[2].any_of[0]).prefix == Prefix::kLt);
  auto escaped = one("Patient", "name", "a\\,b,c");
  REQUIRE(escaped.any_of.size() == 2);
  CHECK(std::get<StringValue>(escaped.any_of[0]).value == "a,b");
  CHECK(mentions(refused("Patient", {{"gender", "male,"}}), "empty"));
  CHECK(mentions(refused("Patient", {{"gender", ""}}), "empty"));
}

TEST_CASE("a chain with an explicit type follows the reference to that type") {
  auto c = one("Observation", "subject:Patient.name", "peter");
  REQUIRE(c.chain.size() == 1);
  CHECK(c.chain[0].direction == Hop::Direction::kForward);
  CHECK(c.chain[0].type == "Patient");
  CHECK(c.chain[0].param->code == "subject");
  CHECK(c.code == "name");
  CHECK(c.target_type == "Patient");
  auto with_modifier = one("Observation", "subject:Patient.name:exact", "Peter");
  CHECK(with_modifier.modifier == Modifier::kExact);
}

TEST_CASE("a chain without a type is inferred when only one target has the parameter") {
  auto c = one("Observation", "subject.birthdate", "1980");
  CHECK(c.chain[0].type == "Patient");
  auto multi = one("Encounter", "subject.organization.name", "Acme");
  REQUIRE(multi.chain.size() == 2);
  CHECK(multi.chain[1].type == "Organization");
  CHECK(multi.target_type == "Organization");
}

TEST_CASE("an ambiguous chain names the candidate types") {
  auto message = refused("Observation", {{"subject.name", "peter"}});
  CHECK(mentions(message, "ambiguous"));
  CHECK(mentions(message, "Patient"));
  CHECK(mentions(message, "Location"));
  CHECK(mentions(message, "subject:"));
}

TEST_CASE("unknown chains, non-reference chains and wrong chain types are refused") {
  CHECK(mentions(refused("Observation", {{"subject.nothing", "x"}}), "nothing"));
  CHECK(mentions(refused("Observation", {{"subject:Patient.nothing", "x"}}), "nothing"));
  CHECK(mentions(refused("Observation", {{"subject:Medication.code", "x"}}), "Medication"));
  CHECK(mentions(refused("Observation", {{"code.name", "x"}}), "not a reference"));
  CHECK(mentions(refused("Observation", {{"subject:Patient.", "x"}}), "after"));
}

TEST_CASE("chains deeper than the limit are refused") {
  SearchLimits limits;
  limits.max_chain_depth = 2;
  CHECK(parse("Encounter", {{"subject:Patient.organization.name", "x"}}, true, limits).ok());
  auto r =
      parse("Observation", {{"encounter.subject:Patient.organization.name", "x"}}, true, limits);
  REQUIRE_FALSE(r.ok());
  CHECK(mentions(r.error().message, "deeper"));
  limits.max_chain_depth = 3;
  CHECK(parse("Observation", {{"encounter.subject:Patient.organization.name", "x"}}, true, limits)
            .ok());
}

TEST_CASE("_has reverse-chains, nests, and is depth-limited") {
  auto c = one("Patient", "_has:Observation:patient:code", "1234-5");
  REQUIRE(c.chain.size() == 1);
  CHECK(c.chain[0].direction == Hop::Direction::kReverse);
  CHECK(c.chain[0].type == "Observation");
  CHECK(c.chain[0].param->code == "patient");
  CHECK(c.code == "code");
  CHECK(c.target_type == "Observation");
  auto nested =
      one("Patient", "_has:Observation:patient:_has:AuditEvent:entity:agent", "Practitioner/1");
  REQUIRE(nested.chain.size() == 2);
  CHECK(nested.chain[1].type == "AuditEvent");
  CHECK(nested.code == "agent");
  auto then_chain = one("Patient", "_has:Observation:patient:performer:Practitioner.name", "x");
  REQUIRE(then_chain.chain.size() == 2);
  CHECK(then_chain.chain[1].direction == Hop::Direction::kForward);
  CHECK(mentions(refused("Patient", {{"_has:Observation:code:code", "x"}}), "reference"));
  CHECK(mentions(refused("Patient", {{"_has:Nope:patient:code", "x"}}), "Nope"));
  CHECK(mentions(refused("Patient", {{"_has:Observation:patient", "x"}}), "_has:Type"));
  CHECK(mentions(refused("Medication", {{"_has:Observation:patient:code", "x"}}), "cannot refer"));
  SearchLimits limits;
  limits.max_chain_depth = 1;
  CHECK_FALSE(parse("Patient", {{"_has:Observation:patient:_has:AuditEvent:entity:agent", "x"}},
                    true, limits)
                  .ok());
}

TEST_CASE("_sort takes known parameters, - for descending") {
  auto r = parse("Observation", {{"_sort", "-date,code,_id"}});
  REQUIRE(r.ok());
  REQUIRE(r->sort.size() == 3);
  CHECK(r->sort[0].descending);
  CHECK(r->sort[0].code == "date");
  CHECK_FALSE(r->sort[1].descending);
  CHECK(r->sort[2].param->code == "_id");
  CHECK(mentions(refused("Observation", {{"_sort", "nothing"}}), "nothing"));
  CHECK(mentions(refused("Observation", {{"_sort", "code-value-quantity"}}), "cannot sort"));
  CHECK(mentions(refused("Observation", {{"_sort", "date,"}}), "''"));
  CHECK(mentions(refused("Observation", {{"_sort", "date"}, {"_sort", "code"}}), "once"));
}

TEST_CASE("_include and _revinclude take Type:param[:target], :iterate and *") {
  auto r = parse("Observation", {{"_include", "Observation:subject:Patient"},
                                 {"_include:iterate", "Patient:general-practitioner"},
                                 {"_revinclude", "Provenance:target"},
                                 {"_revinclude:iterate", "Observation:has-member"},
                                 {"_include", "*"},
                                 {"_include", "Observation:*"}});
  REQUIRE(r.ok());
  REQUIRE(r->includes.size() == 6);
  CHECK(r->includes[0].target_type == "Patient");
  CHECK(r->includes[0].param->code == "subject");
  CHECK(r->includes[1].iterate);
  CHECK(r->includes[2].reverse);
  CHECK(r->includes[2].source_type == "Provenance");
  CHECK(r->includes[3].reverse);
  CHECK(r->includes[3].iterate);
  CHECK(r->includes[4].wildcard);
  CHECK(r->includes[5].wildcard);
  CHECK(r->includes[5].source_type == "Observation");
  CHECK(
      mentions(refused("Observation", {{"_include", "Patient:general-practitioner"}}), "iterate"));
  CHECK(mentions(refused("Observation", {{"_include", "Observation:code"}}), "reference"));
  CHECK(
      mentions(refused("Observation", {{"_include", "Observation:subject:Medication"}}), "target"));
  CHECK(mentions(refused("Observation", {{"_include", "Observation"}}), "Type:param"));
  CHECK(mentions(refused("Observation", {{"_include:deep", "Observation:subject"}}), "modifier"));
  CHECK(mentions(refused("Patient", {{"_revinclude", "Observation:performer:Practitioner"}}),
                 "Patient"));
  SearchLimits limits;
  limits.max_includes = 1;
  CHECK_FALSE(parse("Observation", {{"_include", "*"}, {"_include", "*"}}, true, limits).ok());
}

TEST_CASE("_elements are checked against the type's elements") {
  auto r =
      parse("Observation", {{"_elements", "status,code,valueQuantity,value,Observation.subject"}});
  REQUIRE(r.ok());
  CHECK(r->elements.size() == 5);
  CHECK(mentions(refused("Observation", {{"_elements", "status,nonsense"}}), "nonsense"));
  CHECK(mentions(refused("Observation", {{"_elements", "Patient.name"}}), "Patient.name"));
  CHECK(parse("", {{"_elements", "identifier"}}).ok());
}

TEST_CASE("_summary, _total and _count take their keywords and bounds") {
  auto r = parse("Patient", {{"_summary", "count"}, {"_total", "accurate"}, {"_count", "0"}});
  REQUIRE(r.ok());
  CHECK(r->summary == Summary::kCount);
  CHECK(r->total == Total::kAccurate);
  CHECK(r->count == 0u);
  for (const char* s : {"true", "text", "data", "count", "false"}) {
    CHECK(parse("Patient", {{"_summary", s}}).ok());
  }
  for (const char* t : {"none", "estimate", "accurate"})
    CHECK(parse("Patient", {{"_total", t}}).ok());
  CHECK(mentions(refused("Patient", {{"_summary", "yes"}}), "_summary"));
  CHECK(mentions(refused("Patient", {{"_total", "all"}}), "_total"));
  CHECK(mentions(refused("Patient", {{"_count", "-1"}}), "_count"));
  CHECK(mentions(refused("Patient", {{"_count", "1001"}}), "maximum"));
  CHECK(mentions(refused("Patient", {{"_count", "10"}, {"_count", "20"}}), "once"));
  CHECK(parse("Patient", {{"_count", "1000"}}).ok());
}

TEST_CASE("the Android FHIR SDK download pattern parses exactly") {
  auto r = parse(
      "Patient",
      {{"_sort", "_lastUpdated"}, {"_lastUpdated", "gt2026-01-01T00:00:00Z"}, {"_count", "100"}});
  REQUIRE(r.ok());
  REQUIRE(r->sort.size() == 1);
  CHECK(r->sort[0].code == "_lastUpdated");
  CHECK_FALSE(r->sort[0].descending);
  REQUIRE(r->criteria.size() == 1);
  const auto& d = std::get<DateValue>(r->criteria[0].any_of[0]);
  CHECK(d.prefix == Prefix::kGt);
  CHECK(d.begin_ms == kJan2026);
  CHECK(d.end_ms == kJan2026 + 1000);
  CHECK(r->count == 100u);
  CHECK(r->self_query() == "_sort=_lastUpdated&_lastUpdated=gt2026-01-01T00:00:00Z&_count=100");
  auto count = parse("Patient", {{"_summary", "count"}});
  REQUIRE(count.ok());
  CHECK(count->summary == Summary::kCount);
}

TEST_CASE("unknown parameters are ignored leniently and refused strictly") {
  std::vector<Param> params = {{"gender", "female"},   {"nonsense", "1"},
                               {"_text", "cough"},     {"_content", "x"},
                               {"_contained", "true"}, {"_filter", "name eq x"}};
  auto lenient = parse("Patient", params, false);
  REQUIRE(lenient.ok());
  CHECK(lenient->criteria.size() == 1);
  REQUIRE(lenient->ignored.size() == 5);
  CHECK(lenient->ignored[0].name == "nonsense");
  CHECK(lenient->ignored[1].name == "_text");
  CHECK(mentions(lenient->ignored[1].reason, "not supported"));
  CHECK(lenient->self_query() == "gender=female");
  auto strict = parse("Patient", params, true);
  REQUIRE_FALSE(strict.ok());
  CHECK(strict.error().kind == ErrorKind::kInvalid);
  CHECK(strict.error().location == "nonsense");
  CHECK(mentions(refused("Patient", {{"_text", "x"}}), "_text"));
  // Malformed values of known parameters are refused even when lenient.
  CHECK_FALSE(parse("Patient", {{"birthdate", "1980-13"}}, false).ok());
  CHECK_FALSE(parse("Patient", {{"gender:bogus", "x"}}, false).ok());
}

TEST_CASE("self_query keeps request order, encodes values and can drop the cursor") {
  auto r = parse("Patient", {{"name", "a b&c"},
                             {"_after", "opaque+1"},
                             {"_format", "json"},
                             {"_pretty", "true"},
                             {"gender", "male,female"}});
  REQUIRE(r.ok());
  CHECK(r->cursor_name == "_after");
  CHECK(r->cursor == "opaque+1");
  CHECK(r->format == "json");
  CHECK(r->pretty == true);
  CHECK(r->self_query() ==
        "name=a%20b%26c&_after=opaque%2B1&_format=json&_pretty=true&gender=male,female");
  CHECK(r->self_query(false) == "name=a%20b%26c&_format=json&_pretty=true&gender=male,female");
  CHECK(mentions(refused("Patient", {{"_after", "a"}, {"_cursor", "b"}}), "cursor"));
  CHECK(mentions(refused("Patient", {{"_pretty", "yes"}}), "_pretty"));
}

TEST_CASE("system search uses Resource parameters and _type") {
  auto r = parse("", {{"_lastUpdated", "ge2026"}, {"_type", "Patient,Observation"}});
  REQUIRE(r.ok());
  CHECK(r->types == std::vector<std::string>{"Patient", "Observation"});
  CHECK(r->criteria.size() == 1);
  CHECK(r->self_query() == "_lastUpdated=ge2026&_type=Patient,Observation");
  CHECK(mentions(refused("", {{"gender", "male"}}), "system search"));
  CHECK(parse("", {{"_type", "Patient,Observation"}, {"identifier", "x"}}).ok());
  CHECK(mentions(refused("", {{"_type", "Patient,Nope"}}), "Nope"));
  auto single = parse("", {{"_type", "Observation"}, {"subject.birthdate", "1980"}});
  REQUIRE(single.ok());
  CHECK(single->criteria[0].chain[0].type == "Patient");
  CHECK(mentions(refused("Patient", {{"_type", "Patient"}}), "system search"));
  CHECK(parse("NoSuchType", {}).error().kind == ErrorKind::kNotFound);
}

TEST_CASE("_list names a List; functional lists are not supported") {
  auto c = one("Patient", "_list", "42");
  CHECK(c.param == nullptr);
  CHECK(c.code == "_list");
  CHECK(std::get<ReferenceValue>(c.any_of[0]).type == "List");
  CHECK(mentions(refused("Patient", {{"_list", "$current-problems"}}), "functional"));
  auto lenient = parse("Patient", {{"_list", "$current-problems"}}, false);
  REQUIRE(lenient.ok());
  CHECK(lenient->ignored.size() == 1);
}

TEST_CASE("the bounds of SearchLimits are enforced") {
  SearchLimits limits;
  limits.max_params = 2;
  CHECK(parse("Patient", {{"gender", "male"}, {"name", "x"}}, true, limits).ok());
  CHECK_FALSE(
      parse("Patient", {{"gender", "male"}, {"name", "x"}, {"name", "y"}}, true, limits).ok());
  limits = {};
  limits.max_or_values = 3;
  CHECK(parse("Patient", {{"gender", "a,b,c"}}, true, limits).ok());
  auto r = parse("Patient", {{"gender", "a,b,c,d"}}, true, limits);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().location == "gender");
  limits = {};
  limits.max_count = 10;
  CHECK_FALSE(parse("Patient", {{"_count", "11"}}, true, limits).ok());
}

TEST_CASE("date parameters carry exact millisecond ranges per precision") {
  auto r = parse("Patient", {{"birthdate", "1980"}, {"birthdate", "eb2026-01-01T10:30"}});
  REQUIRE(r.ok());
  const auto& year = std::get<DateValue>(r->criteria[0].any_of[0]);
  CHECK(year.begin_ms == 315532800000);
  CHECK(year.end_ms == 347155200000);
  const auto& minute = std::get<DateValue>(r->criteria[1].any_of[0]);
  CHECK(minute.prefix == Prefix::kEb);
  CHECK(minute.begin_ms == kJan2026 + 37'800'000);
  CHECK(minute.end_ms == kJan2026 + 37'860'000);
}

TEST_CASE("every R4 search parameter parses a representative value on every base type") {
  std::size_t checked = 0, definitions = 0;
  for (const SearchParamDef& def : all_search_parameters()) {
    ++definitions;
    const std::string value = sample_value(def);
    for (std::string_view base : def.base) {
      const std::string_view type =
          base == "Resource" || base == "DomainResource" ? std::string_view("Patient") : base;
      INFO(def.url << " on " << type << " = " << value);
      auto r = parse(type, {{std::string(def.code), value}}, false);
      REQUIRE(r.ok());
      const bool unsupported =
          def.code == "_text" || def.code == "_content" || def.code == "_query";
      CHECK(r->criteria.size() == (unsupported ? 0u : 1u));
      CHECK(r->ignored.size() == (unsupported ? 1u : 0u));
      if (!unsupported) {
        CHECK(r->criteria[0].param == find_search_parameter(type, def.code));
        CHECK(r->criteria[0].any_of.size() == 1);
      }
      ++checked;
    }
  }
  CHECK(definitions == 1375);
  CHECK(checked > 1375);
  MESSAGE("checked ", checked, " (parameter, base type) pairs");
}
