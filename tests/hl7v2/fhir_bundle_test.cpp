#include "protocols/hl7v2/fhir_bundle.hpp"

#include <doctest/doctest.h>

using namespace cg::hl7v2;
namespace json = boost::json;

TEST_CASE("resources with identifiers are conditional updates, others creates") {
  TransactionBuilder b;
  const std::string patient = b.upsert("Patient", json::object{{"gender", "female"}},
                                       {{"http://clinic.example/mrn", "7"}, {"", "X1"}});
  const std::string note =
      b.upsert("Basic", json::object{{"subject", json::object{{"reference", patient}}}}, {});
  CHECK(patient != note);
  CHECK(patient.starts_with("urn:uuid:"));
  json::object bundle = b.take_bundle();
  CHECK(b.empty());
  CHECK(bundle.at("type") == "transaction");
  const auto& entries = bundle.at("entry").as_array();
  REQUIRE(entries.size() == 2);
  const auto& first = entries[0].as_object();
  CHECK(first.at("fullUrl").as_string() == patient);
  CHECK(first.at("resource").at("resourceType") == "Patient");
  CHECK(first.at("request").at("method") == "PUT");
  CHECK(first.at("request").at("url") == "Patient?identifier=http://clinic.example/mrn|7,X1");
  CHECK(entries[1].at("request").at("method") == "POST");
  CHECK(entries[1].at("resource").at("subject").at("reference").as_string() == patient);
}

TEST_CASE("identifier values are escaped for search and percent-encoded for the URL") {
  CHECK(identifier_query("Patient", {{"urn:oid:1.2.3", "A,B|C$D\\E F&G"}}) ==
        "Patient?identifier=urn:oid:1.2.3|A%5C,B%5C|C%5C%24D%5C%5CE%20F%26G");
  CHECK(identifier_element({"", "9"}) == json::object{{"value", "9"}});
  CHECK(identifier_element({"s", "9"}) == json::object{{"system", "s"}, {"value", "9"}});
}

TEST_CASE("ensure() creates only when no resource has the identifiers (ifNoneExist)") {
  TransactionBuilder b;
  const std::string url = b.ensure("Patient", json::object{}, {{"urn:oid:1.2", "7"}});
  b.ensure("Patient", json::object{}, {});
  json::object bundle = b.take_bundle();
  const auto& first = bundle.at("entry").as_array()[0].as_object();
  CHECK(first.at("fullUrl").as_string() == url);
  CHECK(first.at("request").at("method") == "POST");
  CHECK(first.at("request").at("url") == "Patient");
  CHECK(first.at("request").at("ifNoneExist") == "identifier=urn:oid:1.2|7");
  CHECK_FALSE(bundle.at("entry").as_array()[1].at("request").as_object().contains("ifNoneExist"));
}
