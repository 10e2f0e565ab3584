#include "protocols/fhir/fhirpath/item.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/json.hpp"
#include "tests/fhirpath/fhirpath_test_util.hpp"

using namespace cg::fhirpath;

TEST_CASE("FHIR primitives become their System values, decimals exactly") {
  const auto dec = cg::fhir::make_decimal("185.50");
  auto s = to_system(Item::node(&dec, nullptr, *cg::fhir::find_type("decimal")));
  REQUIRE(s);
  CHECK(s->kind() == ItemKind::kDecimal);
  CHECK(s->as_decimal().to_string() == "185.50");
  const boost::json::value date = "2014-01";
  CHECK(to_system(Item::node(&date, nullptr, *cg::fhir::find_type("dateTime")))->kind() ==
        ItemKind::kDateTime);
  const boost::json::value null_value;
  CHECK_FALSE(to_system(Item::node(&null_value, nullptr, *cg::fhir::find_type("string"))));
}

TEST_CASE("a Quantity element converts with its UCUM code as unit") {
  const auto obs = testing::json_of(testing::kObservation);
  const auto& q = obs.get_object().at("valueQuantity");
  auto s = to_system(Item::node(&q, nullptr, *cg::fhir::find_type("Quantity")));
  REQUIRE(s);
  CHECK(s->as_quantity().to_string() == "185.50 '[lb_av]'");
}

TEST_CASE("type_of names FHIR and System types") {
  const boost::json::value b = true;
  CHECK(type_of(Item::node(&b, nullptr, *cg::fhir::find_type("boolean"))).name == "boolean");
  CHECK(type_of(Item::integer(1)).ns == "System");
  CHECK(type_of(Item::string("x")).name == "String");
}

TEST_CASE("to_json renders System values as JSON scalars and quantities as objects") {
  CHECK(cg::fhir::serialize_json(to_json(Item::decimal(*Decimal::parse("1.50")))) == "1.50");
  CHECK(cg::fhir::serialize_json(to_json(Item::quantity({*Decimal::parse("5"), "mg", false}))) ==
        R"({"value":5,"unit":"mg"})");
  CHECK(*to_string_value(Item::boolean(false)) == "false");
}
