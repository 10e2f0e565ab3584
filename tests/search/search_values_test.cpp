#include "protocols/fhir/search/search_values.hpp"

#include <doctest/doctest.h>

using namespace cg::fhir;
using namespace cg::fhir::search;

namespace {
constexpr std::int64_t kJan2026 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr std::int64_t kDay = 86'400'000;

const SearchParamDef& def(std::string_view type, std::string_view code) {
  const SearchParamDef* d = find_search_parameter(type, code);
  REQUIRE(d != nullptr);
  return *d;
}
}  // namespace

TEST_CASE("every prefix is read on numbers, dates and quantities") {
  const char* names[] = {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"};
  for (int i = 0; i < 9; ++i) {
    const std::string p = names[i];
    INFO(p);
    auto n = parse_number(p + "5");
    REQUIRE(n.ok());
    CHECK(static_cast<int>(n->prefix) == i);
    CHECK(to_string(n->prefix) == p);
    CHECK(n->value == 5);
    auto d = parse_date(p + "2026-01-01", kJan2026);
    REQUIRE(d.ok());
    CHECK(static_cast<int>(d->prefix) == i);
    auto q = parse_quantity(p + "5.4|http://unitsofmeasure.org|mg");
    REQUIRE(q.ok());
    CHECK(static_cast<int>(q->number.prefix) == i);
  }
  CHECK(parse_number("5")->prefix == Prefix::kEq);
  CHECK(parse_date("2026", 0)->prefix == Prefix::kEq);
}

TEST_CASE("unknown prefixes and malformed numbers are refused") {
  for (const char* bad : {"xx5", "gt", "g5", "5.", ".5", "1e", "1e1234", "--5", "+5", "5 ", "0x10",
                          "1,5", "nan", "inf", "1e999"}) {
    INFO(bad);
    CHECK_FALSE(parse_number(bad).ok());
  }
  CHECK_FALSE(parse_date("xx2026", 0).ok());
  CHECK_FALSE(parse_date("gt2026-02-30", 0).ok());
  CHECK(parse_date("gt2026-02-30", 0).error().message.find("2026-02-30") != std::string::npos);
}

TEST_CASE("a number covers half a unit of its last written digit") {
  auto n = parse_number("100");
  CHECK(n->low == doctest::Approx(99.5));
  CHECK(n->high == doctest::Approx(100.5));
  auto precise = parse_number("100.00");
  CHECK(precise->low == doctest::Approx(99.995));
  CHECK(precise->high == doctest::Approx(100.005));
  auto exp = parse_number("1e2");
  CHECK(exp->value == 100);
  CHECK(exp->low == doctest::Approx(50));
  CHECK(exp->high == doctest::Approx(150));
  auto small = parse_number("-1.5E-3");
  CHECK(small->value == doctest::Approx(-0.0015));
  CHECK(small->low == doctest::Approx(-0.00155));
  CHECK(small->high == doctest::Approx(-0.00145));
  CHECK(n->text == "100");
}

TEST_CASE("ap on a number widens to ten percent of the value") {
  auto n = parse_number("ap100");
  CHECK(n->low == doctest::Approx(90));
  CHECK(n->high == doctest::Approx(110));
  auto zero = parse_number("ap0");  // 10 % of 0 is narrower than the precision
  CHECK(zero->low == doctest::Approx(-0.5));
  CHECK(zero->high == doctest::Approx(0.5));
}

TEST_CASE("a date covers its precision; ap widens by a tenth of the distance to now") {
  auto d = parse_date("ge2026-01", 0);
  CHECK(d->begin_ms == kJan2026);
  CHECK(d->end_ms == kJan2026 + 31 * kDay);
  const std::int64_t now = kJan2026 + 100 * kDay;
  auto ap = parse_date("ap2026-01-01", now);
  CHECK(ap->begin_ms == kJan2026 - 10 * kDay);
  CHECK(ap->end_ms == kJan2026 + 11 * kDay);
  auto future = parse_date("ap2026-01-01", kJan2026 - 20 * kDay);
  CHECK(future->begin_ms == kJan2026 - 2 * kDay);
  CHECK(future->end_ms == kJan2026 + 3 * kDay);
}

TEST_CASE("token forms: code, system|code, |code, system|") {
  auto any = parse_token("1234-5");
  CHECK(any->system_match == SystemMatch::kAny);
  CHECK(any->code == "1234-5");
  auto exact = parse_token("http://loinc.org|1234-5");
  CHECK(exact->system_match == SystemMatch::kExact);
  CHECK(exact->system == "http://loinc.org");
  CHECK(exact->code == "1234-5");
  auto none = parse_token("|1234-5");
  CHECK(none->system_match == SystemMatch::kNone);
  CHECK(none->code == "1234-5");
  auto system_only = parse_token("http://loinc.org|");
  CHECK(system_only->system_match == SystemMatch::kExact);
  CHECK(system_only->code.empty());
  CHECK_FALSE(parse_token("|").ok());
  CHECK_FALSE(parse_token("a|b|c").ok());
  auto escaped = parse_token("urn:x|a\\|b\\,c");
  CHECK(escaped->code == "a|b,c");
}

TEST_CASE(":of-type takes type-system|type-code|value") {
  auto t = parse_of_type("http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053");
  REQUIRE(t.ok());
  CHECK(t->type_system == "http://terminology.hl7.org/CodeSystem/v2-0203");
  CHECK(t->type_code == "MR");
  CHECK(t->code == "446053");
  CHECK_FALSE(parse_of_type("MR|446053").ok());
  CHECK_FALSE(parse_of_type("|MR|446053").ok());
}

TEST_CASE("reference forms: Type/id, id, absolute URL, canonical, versioned") {
  const auto& subject = def("Observation", "subject");
  auto local = parse_reference("Patient/123", subject, "");
  CHECK(local->form == ReferenceForm::kLocal);
  CHECK(local->type == "Patient");
  CHECK(local->id == "123");
  auto id = parse_reference("123", subject, "");
  CHECK(id->form == ReferenceForm::kId);
  CHECK(id->type.empty());
  CHECK(parse_reference("123", subject, "Group")->type == "Group");
  auto single = parse_reference("abc", def("Patient", "organization"), "");
  CHECK(single->type == "Organization");  // the only target fills in the type
  auto url = parse_reference("http://other.org/fhir/Patient/9", subject, "");
  CHECK(url->form == ReferenceForm::kAbsolute);
  CHECK(url->url == "http://other.org/fhir/Patient/9");
  auto canonical = parse_reference("http://x.org/Questionnaire/q|2.0",
                                   def("QuestionnaireResponse", "questionnaire"), "");
  CHECK(canonical->form == ReferenceForm::kCanonical);
  CHECK(canonical->url == "http://x.org/Questionnaire/q");
  CHECK(canonical->version == "2.0");
  auto versioned = parse_reference("Patient/1/_history/3", subject, "");
  CHECK(versioned->version == "3");
  CHECK_FALSE(parse_reference("Medication/1", subject, "").ok());  // not a target
  CHECK_FALSE(parse_reference("Patient/1", subject, "Group").ok());
  CHECK_FALSE(parse_reference("Nope/1", subject, "").ok());
  CHECK_FALSE(parse_reference("Patient/", subject, "").ok());
  CHECK_FALSE(parse_reference("bad id!", subject, "").ok());
}

TEST_CASE("quantity forms: number, number|system|code, number||code") {
  auto plain = parse_quantity("gt5.4");
  CHECK(plain->number.prefix == Prefix::kGt);
  CHECK(plain->system_match == SystemMatch::kAny);
  CHECK(plain->code.empty());
  auto full = parse_quantity("5.4|http://unitsofmeasure.org|mg");
  CHECK(full->system_match == SystemMatch::kExact);
  CHECK(full->system == "http://unitsofmeasure.org");
  CHECK(full->code == "mg");
  CHECK(full->number.low == doctest::Approx(5.35));
  auto unit = parse_quantity("5.4||mg");
  CHECK(unit->system_match == SystemMatch::kAny);
  CHECK(unit->code == "mg");
  CHECK_FALSE(parse_quantity("5.4|mg").ok());
  CHECK_FALSE(parse_quantity("5.4||").ok());
  CHECK_FALSE(parse_quantity("mg").ok());
}

TEST_CASE("near, missing and escapes") {
  auto near = parse_near("42.25|-83.69|11.2|km");
  REQUIRE(near.ok());
  CHECK(near->latitude == doctest::Approx(42.25));
  CHECK(near->distance.value() == doctest::Approx(11.2));
  CHECK(near->units == "km");
  CHECK(parse_near("1|2")->distance == std::nullopt);
  CHECK_FALSE(parse_near("91|0").ok());
  CHECK_FALSE(parse_near("1").ok());
  CHECK(parse_missing("true")->missing);
  CHECK_FALSE(parse_missing("false")->missing);
  CHECK_FALSE(parse_missing("yes").ok());
  CHECK(split_unescaped("a\\,b,c", ',') == std::vector<std::string_view>{"a\\,b", "c"});
  CHECK(split_unescaped("a,", ',') == std::vector<std::string_view>{"a", ""});
  CHECK(unescape("a\\,b\\$c\\|d\\\\e\\x") == "a,b$c|d\\e\\x");
}

TEST_CASE("composite values are split at $ and typed by their component definitions") {
  const auto& cvq = def("Observation", "code-value-quantity");
  auto c = parse_composite("http://loinc.org|8480-6$gt100||mm[Hg]", cvq, 0);
  REQUIRE(c.ok());
  REQUIRE(c->components.size() == 2);
  CHECK(std::get<TokenValue>(c->components[0].value).code == "8480-6");
  const auto& q = std::get<QuantityValue>(c->components[1].value);
  CHECK(q.number.prefix == Prefix::kGt);
  CHECK(q.code == "mm[Hg]");
  CHECK(c->components[1].param->type == SearchParamType::kQuantity);
  CHECK_FALSE(parse_composite("8480-6", cvq, 0).ok());
  CHECK_FALSE(parse_composite("8480-6$xx1", cvq, 0).ok());
  auto escaped = parse_composite("a\\$b$ge2026", def("Observation", "code-value-date"), 0);
  REQUIRE(escaped.ok());
  CHECK(std::get<TokenValue>(escaped->components[0].value).code == "a$b");
}
