// The function library (functions.cpp).
#include <doctest/doctest.h>

#include "tests/fhirpath/fhirpath_test_util.hpp"

using namespace cg::fhirpath;
using namespace cg::fhirpath::testing;
using V = std::vector<std::string>;

TEST_CASE("existence and filtering") {
  const auto p = json_of(kPatient);
  CHECK(run("name.exists(use = 'usual')", p).values == V{"true"});
  CHECK(run("name.all(given.exists())", p).values == V{"true"});
  CHECK(run("name.where(use = 'official').family", p).values == V{"Chalmers"});
  CHECK(run("name.select(use)", p).values == V{"official", "usual"});
  CHECK(run("(true | false).anyFalse()", p).values == V{"true"});
  CHECK_FALSE(run("(true | 'x').allTrue()", p).ok);
  CHECK(run("name.given.isDistinct()", p).values == V{"true"});
  CHECK(run("name.first().subsetOf(name)", p).values == V{"true"});
}

TEST_CASE("subsetting: single, first, last, tail, skip, take, indexer") {
  CHECK(values("(1 | 2 | 3).tail()") == V{"2", "3"});
  CHECK(values("(1 | 2 | 3).skip(2)") == V{"3"});
  CHECK(values("(1 | 2 | 3).take(5).count()") == V{"3"});
  CHECK(values("(1 | 2 | 3)[1]") == V{"2"});
  CHECK(values("(1 | 2 | 3)[7]").empty());
  CHECK_FALSE(run("(1 | 2).single()", boost::json::value()).ok);
}

TEST_CASE("combining: union, combine, intersect, exclude keep FHIRPath duplicate rules") {
  CHECK(values("1.combine(1).union(2).count()") == V{"2"});
  CHECK(values("1.combine(1).exclude(2).count()") == V{"2"});
  CHECK(values("(1 | 2 | 3).intersect(2 | 4)") == V{"2"});
}

TEST_CASE("iif evaluates only the chosen branch and wants a Boolean criterion") {
  CHECK(values("iif(true, 'a', 1/0)") == V{"a"});
  CHECK(values("iif({}, 'a', 'b')") == V{"b"});
  CHECK(values("('context').iif($this = 'context', 'yes', 'no')") == V{"yes"});
  CHECK_FALSE(run("iif('x', 1, 2)", boost::json::value()).ok);
}

TEST_CASE("conversions follow the FHIRPath tables") {
  CHECK(values("'yes'.toBoolean()") == V{"true"});
  CHECK(values("'1.1'.toInteger()").empty());
  CHECK(values("'12'.toInteger() + 1") == V{"13"});
  CHECK(values("true.toDecimal()") == V{"1.0"});
  CHECK(values("1 'wk'.toString()") == V{"1 'wk'"});
  CHECK(values("'1 day'.toQuantity() = 1 'd'") == V{"true"});
  CHECK(values("'1 wk'.convertsToQuantity()") == V{"false"});
  CHECK(values("1000 'g'.toQuantity('kg')") == V{"1 'kg'"});
  CHECK(values("'2015-02-04T14:34'.toDate()") == V{"2015-02-04"});
  CHECK(values("'14:34'.convertsToTime()") == V{"true"});
}

TEST_CASE("string functions") {
  CHECK(values("'LogicalModel-Person'.indexOf('-')") == V{"12"});
  CHECK(values("'12345'.substring(2, 1)") == V{"3"});
  CHECK(values("'abc'.upper() & 'ABC'.lower()") == V{"ABCabc"});
  CHECK(values("'a,b'.split(',').join('|')") == V{"a|b"});
  CHECK(values("' x '.trim()") == V{"x"});
  CHECK(values("'abc123'.replaceMatches('[0-9]+', '#')") == V{"abc#"});
  CHECK(values("'FHIR'.matchesFull('F.*R')") == V{"true"});
  CHECK(values("'t2'.toChars()") == V{"t", "2"});
  const auto p = json_of(kPatient);
  CHECK(run("birthDate.startsWith('1974')", p).values == V{"true"});
  CHECK_FALSE(run("name.first().startsWith('x')", p).ok);
}

TEST_CASE("math functions") {
  CHECK(values("(-5.5).abs()") == V{"5.5"});
  CHECK(values("1.1.ceiling()") == V{"2"});
  CHECK(values("(-2.1).floor()") == V{"-3"});
  CHECK(values("3.14159.round(3)") == V{"3.142"});
  CHECK(values("81.sqrt()") == V{"9"});
  CHECK(values("(-1).sqrt()").empty());
  CHECK(values("2.power(10)") == V{"1024"});
  CHECK(values("16.log(2)") == V{"4"});
  CHECK(values("(-1.56).truncate()") == V{"-1"});
}

TEST_CASE("aggregate, sort and repeat") {
  CHECK(values("(1 | 2 | 3).aggregate($this + $total, 10)") == V{"16"});
  CHECK(values("(3 | 1 | 2).sort()") == V{"1", "2", "3"});
  CHECK(values("('a' | 'c' | 'b').sort(-$this)") == V{"c", "b", "a"});
  const auto q = json_of(R"({"resourceType":"Questionnaire","status":"draft",
    "item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"string"}]}]})");
  CHECK(run("Questionnaire.repeat(item).linkId", q).values == V{"1", "1.1"});
}

TEST_CASE("FHIR extras: extension, hasValue, getValue, resolve, conformsTo, memberOf") {
  const auto p = json_of(kPatient);
  CHECK(run("birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime')"
            ".exists()",
            p)
            .values == V{"true"});
  CHECK(run("birthDate.getValue()", p).values == V{"1974-12-25"});
  CHECK(run("name.first().hasValue()", p).values == V{"false"});
  CHECK(run("managingOrganization.resolve().name", p).values == V{"Clinic"});
  CHECK(run("generalPractitioner.resolve()", p).values.empty());
  const auto dr = json_of(R"({"resourceType":"Practitioner","id":"dr1","active":true})");
  EvalContext ctx;
  ctx.resolve = [&](std::string_view ref) { return ref == "Practitioner/dr1" ? &dr : nullptr; };
  CHECK(run("generalPractitioner.resolve().active", p, ctx).values == V{"true"});
  CHECK(run("conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')", p).values ==
        V{"true"});
  CHECK_FALSE(run("conformsTo('http://trash')", p).ok);
  CHECK(run("gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')", p)
            .values.empty());
}

TEST_CASE("resolve finds Bundle entries by fullUrl and by type and id") {
  const auto b = json_of(R"({"resourceType":"Bundle","type":"collection","entry":[
    {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a","active":true}},
    {"fullUrl":"urn:uuid:2","resource":{"resourceType":"Observation","id":"b","status":"final",
      "code":{"text":"x"},"subject":{"reference":"urn:uuid:1"},
      "performer":[{"reference":"Patient/a"}]}}]})");
  CHECK(run("entry[1].resource.subject.resolve().active", b).values == V{"true"});
  CHECK(run("entry[1].resource.performer.resolve().id", b).values == V{"a"});
}

TEST_CASE("trace reports to the sink and passes its input through") {
  std::vector<std::string> seen;
  EvalContext ctx;
  ctx.trace = [&](std::string_view name, const Collection& c) {
    seen.push_back(std::string(name) + ":" + std::to_string(c.size()));
  };
  const auto p = json_of(kPatient);
  CHECK(run("name.trace('n', given).count()", p, ctx).values == V{"2"});
  CHECK(seen == V{"n:4"});
}

TEST_CASE("now, today and timeOfDay are fixed by the context") {
  EvalContext ctx;
  ctx.now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  const boost::json::value none;
  CHECK(run("now()", none, ctx).values == V{"2023-11-14T22:13:20.000Z"});
  CHECK(run("today()", none, ctx).values == V{"2023-11-14"});
  CHECK(run("timeOfDay()", none, ctx).values == V{"22:13:20.000"});
  CHECK(run("now() = now()", none).values == V{"true"});
}

TEST_CASE("boundaries and precision") {
  CHECK(values("1.587.lowBoundary()") == V{"1.58650000"});
  CHECK(values("1.587.highBoundary(2)") == V{"1.59"});
  CHECK(values("1.587.lowBoundary(2)") == V{"1.58"});
  CHECK(values("(-1.587).lowBoundary(2)") == V{"-1.59"});
  CHECK(values("0.0034.highBoundary(1)") == V{"0.0"});
  CHECK(values("1.highBoundary(0)") == V{"2"});
  CHECK(values("1.587.lowBoundary(-1)").empty());
  CHECK(values("@2014.highBoundary(6)") == V{"2014-12"});
  CHECK(values("@T10:30.lowBoundary(9)") == V{"10:30:00.000"});
  CHECK(values("1.58700.precision()") == V{"5"});
  CHECK(values("1 'cm'.comparable(1 '[in_i]')") == V{"true"});
}
