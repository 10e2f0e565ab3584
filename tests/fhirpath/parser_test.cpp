#include "protocols/fhir/fhirpath/parser.hpp"

#include <doctest/doctest.h>

#include "tests/fhirpath/fhirpath_test_util.hpp"

using namespace cg::fhirpath;
using cg::fhirpath::testing::values;

namespace {
std::string compile_error(std::string_view text, CompileLimits limits = {}) {
  auto r = parse_expression(text, limits);
  return r ? std::string() : r.error().message;
}
}  // namespace

TEST_CASE("operator precedence follows the FHIRPath grammar") {
  CHECK(values("1+2*3+4 = 11") == std::vector<std::string>{"true"});
  CHECK(values("(1 | 1 is Integer).count()") == std::vector<std::string>{"2"});
  CHECK(values("true and '0215' in ('0215' | '0216')") == std::vector<std::string>{"true"});
  CHECK(values("-(3).abs()") == std::vector<std::string>{"-3"});
  CHECK(values("2 // comment\n/ 2") == std::vector<std::string>{"1"});
}

TEST_CASE("literals: strings with escapes, numbers, dates, times and quantities") {
  CHECK(values("'P\\u0065ter\\n'.length()") == std::vector<std::string>{"6"});
  CHECK(values("1.50") == std::vector<std::string>{"1.50"});
  CHECK(values("@2015-02-04T14:34:28.123+10:00") ==
        std::vector<std::string>{"2015-02-04T14:34:28.123+10:00"});
  CHECK(values("@2015T.is(DateTime)") == std::vector<std::string>{"true"});
  CHECK(values("@T14:34") == std::vector<std::string>{"14:34"});
  CHECK(values("4 days") == std::vector<std::string>{"4 days"});
  CHECK(values("10.1 'mg'") == std::vector<std::string>{"10.1 'mg'"});
  CHECK(values("{}").empty());
}

TEST_CASE("syntax errors name the position") {
  CHECK(compile_error("2 + 2 /").find("at 7") != std::string::npos);
  CHECK(compile_error("2 + 2 /* not finished").find("unterminated comment") != std::string::npos);
  CHECK(compile_error("'abc").find("unterminated string") != std::string::npos);
  CHECK_FALSE(compile_error("@T14:34:28Z").empty());
  CHECK_FALSE(compile_error("name.given(").empty());
  CHECK_FALSE(compile_error("$that").empty());
}

TEST_CASE("functions are checked for existence and arity at compile time") {
  CHECK(compile_error("name.frobnicate()").find("unknown function") != std::string::npos);
  CHECK(compile_error("name.where()").find("wrong number of arguments") != std::string::npos);
  CHECK(compile_error("name.ofType(string1)").find("unknown type") != std::string::npos);
  CHECK(compile_error("name.ofType(1 + 2)").find("type name") != std::string::npos);
}

TEST_CASE("type specifiers resolve against FHIR first, then System") {
  auto q = resolve_type_spec("Quantity");
  REQUIRE(q);
  CHECK(q->fhir_type != cg::fhir::kNoType);
  auto i = resolve_type_spec("Integer");
  REQUIRE(i);
  CHECK(i->system == SystemType::kInteger);
  CHECK(resolve_type_spec("System.Patient")->matches_nothing);
  CHECK(resolve_type_spec("FHIR.boolean")->fhir_type != cg::fhir::kNoType);
  CHECK_FALSE(resolve_type_spec("Nonsense").ok());
}

TEST_CASE("length and nesting limits refuse oversized expressions") {
  CompileLimits limits;
  limits.max_length = 10;
  CHECK(compile_error("name.given.first()", limits).find("longer than") != std::string::npos);
  CHECK(compile_error(std::string(200, '(') + "1" + std::string(200, ')')).find("deeply") !=
        std::string::npos);
  CHECK(compile_error(std::string(200, '-') + "1").find("deeply") != std::string::npos);
}
