// Operators, three-valued logic and collection semantics (evaluator.cpp).
#include "protocols/fhir/fhirpath/evaluator.hpp"

#include <doctest/doctest.h>

#include "tests/fhirpath/fhirpath_test_util.hpp"

using namespace cg::fhirpath;
using namespace cg::fhirpath::testing;
using V = std::vector<std::string>;

TEST_CASE("and, or, xor and implies use three-valued logic") {
  CHECK(values("(true and {})").empty());
  CHECK(values("(false and {})") == V{"false"});
  CHECK(values("({} or true)") == V{"true"});
  CHECK(values("(false xor {})").empty());
  CHECK(values("({} implies true)") == V{"true"});
  CHECK(values("(false implies {})") == V{"true"});
  CHECK(values("(true and 'foo')") == V{"true"});
}

TEST_CASE("a collection where a single item is required is an error") {
  const auto p = json_of(kPatient);
  CHECK_FALSE(run("name.given + 'x'", p).ok);
  CHECK_FALSE(run("(1 | 2).not()", p).ok);
  CHECK_FALSE(run("name.given < 'Z'", p).ok);
  CHECK(run("name.given.first() < 'Z'", p).values == V{"true"});
}

TEST_CASE("equality is ordered and item-wise; equivalence ignores order, case and spaces") {
  CHECK(values("(1 | 2) = (1 | 2)") == V{"true"});
  CHECK(values("(1 | 2) = (2 | 1)") == V{"false"});
  CHECK(values("(1 | 2 | 3) ~ (3 | 2 | 1)") == V{"true"});
  CHECK(values("{} = {}").empty());
  CHECK(values("{} ~ {}") == V{"true"});
  CHECK(values("'Hello  World' ~ 'hello world'") == V{"true"});
  CHECK(values("@2012-04-15 = @2012-04-15T10:00:00").empty());
  CHECK(values("@2012-04-15 ~ @2012-04-15T10:00:00") == V{"false"});
  CHECK(values("1 = 1.0") == V{"true"});
  CHECK(values("'1' = 1") == V{"false"});
}

TEST_CASE("arithmetic keeps Integer exact, errors on overflow and is empty on division by zero") {
  CHECK(values("5 div 2") == V{"2"});
  CHECK(values("5 mod 2") == V{"1"});
  CHECK(values("1 / 2") == V{"0.5"});
  CHECK(values("1.2 * 1.8") == V{"2.16"});
  CHECK(values("1 / 0").empty());
  CHECK_FALSE(run("9223372036854775807 + 1", boost::json::value()).ok);
  CHECK(values("'a' & {} & 'b'") == V{"ab"});
  CHECK_FALSE(run("'a' - 'b'", boost::json::value()).ok);
}

TEST_CASE("dates move by calendar quantities; comparisons respect precision") {
  CHECK(values("@1973-12-25 + 7 days") == V{"1974-01-01"});
  CHECK(values("@1974-12-25 - 1 'month'") == V{"1974-11-25"});
  CHECK_FALSE(run("@1973-12-25 + 1 'a'", boost::json::value()).ok);
  CHECK(values("@2018-03 < @2018-03-01").empty());
  CHECK(values("@T10:30:00 < @T10:30:00.0") == V{"false"});
}

TEST_CASE("quantities compare across units of one dimension") {
  CHECK(values("4.0000 'g' = 4000.0 'mg'") == V{"true"});
  CHECK(values("6 days < 1 week") == V{"true"});
  CHECK(values("1 'mo' = 1 month").empty());
  const auto o = json_of(kObservation);
  CHECK(run("Observation.value > 80 'kg'", o).values == V{"true"});
}

TEST_CASE("union removes duplicates, membership needs a single item") {
  CHECK(values("(1 | 2 | 2).count()") == V{"2"});
  CHECK(values("2 in (1 | 2)") == V{"true"});
  CHECK(values("(1 | 2) contains 3") == V{"false"});
  CHECK_FALSE(run("(1 | 2) in (1 | 2)", boost::json::value()).ok);
}

TEST_CASE("variables: built-in constants, %resource, %context and caller values") {
  const auto p = json_of(kPatient);
  EvalContext ctx;
  ctx.variables["threshold"] = Collection{Item::integer(3)};
  CHECK(run("%threshold + 1", p, ctx).values == V{"4"});
  CHECK(run("%ucum", p).values == V{"http://unitsofmeasure.org"});
  CHECK(run("%`vs-administrative-gender`", p).values ==
        V{"http://hl7.org/fhir/ValueSet/administrative-gender"});
  CHECK(run("name.given.where(%resource.id = 'p1').count()", p).values == V{"4"});
  CHECK(run("%context.id", p).values == V{"p1"});
  CHECK_FALSE(run("%undefined", p).ok);
}

TEST_CASE("the operation budget stops runaway evaluations with an error") {
  EvalContext ctx;
  ctx.max_operations = 1000;
  auto r = run("(1 | 2 | 3).repeat($this + 1)", boost::json::value(), ctx);
  CHECK_FALSE(r.ok);
  ctx.max_operations = 20'000'000;
  ctx.max_collection_size = 50;
  CHECK_FALSE(run("(1 | 2 | 3).repeat($this + 1)", boost::json::value(), ctx).ok);
}

TEST_CASE("items_equal compares complex nodes by content") {
  const auto a = json_of(R"({"system":"s","code":"c"})");
  const auto b = json_of(R"({"system":"s","code":"c"})");
  const auto coding = *cg::fhir::find_type("Coding");
  CHECK(*items_equal(Item::node(&a, nullptr, coding), Item::node(&b, nullptr, coding)));
}

TEST_CASE("the as operator filters collections outside strict mode, as R4 search parameters need") {
  const auto o = json_of(R"({"resourceType":"Observation","status":"final","code":{"text":"bp"},
    "component":[{"code":{"text":"s"},"valueQuantity":{"value":120,"unit":"mm[Hg]"}},
                 {"code":{"text":"d"},"valueQuantity":{"value":80,"unit":"mm[Hg]"}},
                 {"code":{"text":"n"},"valueString":"note"}]})");
  CHECK(run("(Observation.component.value as Quantity).value", o).values == V{"120", "80"});
  EvalContext strict;
  strict.strict = true;
  CHECK_FALSE(run("Observation.component.value as Quantity", o, strict).ok);
  CHECK_FALSE(run("Observation.component.value is Quantity", o).ok);
}
