#include "protocols/fhir/model/json.hpp"

#include <doctest/doctest.h>

using namespace cg::fhir;

TEST_CASE("decimals keep their written precision through parse and serialize") {
  auto v = parse_json(R"({"value":1.50,"n":3,"e":1e-3,"neg":-0.0})");
  REQUIRE(v.ok());
  CHECK(serialize_json(*v) == R"({"value":1.50,"n":3,"e":1e-3,"neg":-0.0})");
  CHECK(is_decimal(v->as_object().at("value")));
  CHECK(number_text(v->as_object().at("value")) == "1.50");
  CHECK_FALSE(is_decimal(v->as_object().at("n")));
  CHECK(number_text(v->as_object().at("n")) == "3");
}

TEST_CASE("strings are escaped so the output parses back to the same value") {
  auto v = parse_json(R"({"s":"a\"b\\c\n\u0001é"})");
  REQUIRE(v.ok());
  auto again = parse_json(serialize_json(*v));
  REQUIRE(again.ok());
  CHECK(*again == *v);
}

TEST_CASE("malformed JSON is an invalid error naming the offset") {
  auto v = parse_json(R"({"a":)");
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().kind == cg::ErrorKind::kInvalid);
  CHECK(v.error().message.find("byte") != std::string::npos);
  CHECK_FALSE(parse_json("{} x").ok());
  CHECK_FALSE(parse_json("").ok());
}

TEST_CASE("nesting deeper than the limit is refused") {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  CHECK_FALSE(parse_json(deep, {.max_depth = 64}).ok());
  CHECK(parse_json(deep, {.max_depth = 200}).ok());
}

TEST_CASE("pretty output parses back to the same value") {
  auto v = parse_json(R"({"a":[1,2.0,{"b":null}],"c":true,"d":{}})");
  REQUIRE(v.ok());
  auto again = parse_json(serialize_json_pretty(*v));
  REQUIRE(again.ok());
  CHECK(serialize_json(*again) == serialize_json(*v));
}

TEST_CASE("a repeated property is refused rather than silently collapsed") {
  auto v = parse_json(R"({"resourceType":"Patient","gender":"male","gender":"female"})");
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().message.find("repeats") != std::string::npos);
  CHECK_FALSE(parse_json(R"({"a":[{"b":1,"c":{"d":1,"d":2}}]})").ok());
  CHECK(parse_json(R"({"a":[{"b":1},{"b":1}],"c":{"b":1}})").ok());
}
