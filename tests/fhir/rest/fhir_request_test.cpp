#include "protocols/fhir/rest/fhir_request.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::fhir;

namespace {
http::Request req(std::string method, http::Headers headers = {}, std::string body = {}) {
  http::Request r;
  r.method = std::move(method);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}
}  // namespace

TEST_CASE("paths map to interactions") {
  CHECK(parse_fhir_request(req("GET"), "metadata", "")->interaction == Interaction::kCapabilities);
  CHECK(parse_fhir_request(req("POST"), "", "")->interaction == Interaction::kBatch);
  CHECK(parse_fhir_request(req("GET"), "_history", "")->interaction == Interaction::kHistorySystem);
  CHECK(parse_fhir_request(req("GET"), "Patient", "")->interaction == Interaction::kSearchType);
  CHECK(parse_fhir_request(req("POST"), "Patient/_search", "")->interaction ==
        Interaction::kSearchType);
  CHECK(parse_fhir_request(req("POST"), "Patient", "")->interaction == Interaction::kCreate);
  CHECK(parse_fhir_request(req("PUT"), "Patient", "identifier=a")->interaction ==
        Interaction::kConditionalUpdate);
  CHECK(parse_fhir_request(req("DELETE"), "Patient", "identifier=a")->interaction ==
        Interaction::kConditionalDelete);
  CHECK(parse_fhir_request(req("GET"), "Patient/_history", "")->interaction ==
        Interaction::kHistoryType);
  auto read = parse_fhir_request(req("GET"), "Patient/abc-1", "");
  CHECK(read->interaction == Interaction::kRead);
  CHECK(read->type == "Patient");
  CHECK(read->id == "abc-1");
  CHECK(parse_fhir_request(req("PUT"), "Patient/1", "")->interaction == Interaction::kUpdate);
  CHECK(parse_fhir_request(req("DELETE"), "Patient/1", "")->interaction == Interaction::kDelete);
  CHECK(parse_fhir_request(req("GET"), "Patient/1/_history", "")->interaction ==
        Interaction::kHistoryInstance);
  auto vread = parse_fhir_request(req("GET"), "Patient/1/_history/3", "");
  CHECK(vread->interaction == Interaction::kVread);
  CHECK(vread->version == "3");
}

TEST_CASE("unknown types, bad ids and wrong methods get the right error kinds") {
  CHECK(parse_fhir_request(req("GET"), "Patientx/1", "").error().kind == ErrorKind::kNotFound);
  CHECK(parse_fhir_request(req("GET"), "Patient/a_b", "").error().kind == ErrorKind::kInvalid);
  CHECK(parse_fhir_request(req("PATCH"), "Patient", "").error().kind == ErrorKind::kNotAllowed);
  CHECK(parse_fhir_request(req("DELETE"), "metadata", "").error().kind == ErrorKind::kNotAllowed);
  CHECK(parse_fhir_request(req("PUT"), "", "").error().kind == ErrorKind::kNotAllowed);
  CHECK(parse_fhir_request(req("GET"), "Patient/1/_history/1/x", "").error().kind ==
        ErrorKind::kNotFound);
}

TEST_CASE("_format wins over Accept, and Accept order decides") {
  CHECK(parse_fhir_request(req("GET"), "Patient/1", "_format=xml")->response_format ==
        Format::kXml);
  CHECK(parse_fhir_request(req("GET", {{"Accept", "application/fhir+xml"}}), "Patient/1",
                           "_format=json")
            ->response_format == Format::kJson);
  CHECK(parse_fhir_request(req("GET", {{"Accept", "application/fhir+xml;q=0.9, application/json"}}),
                           "Patient/1", "")
            ->response_format == Format::kXml);
  CHECK(parse_fhir_request(req("GET", {{"Accept", "*/*"}}), "Patient/1", "")->response_format ==
        Format::kJson);
  CHECK(parse_fhir_request(req("GET", {{"Accept", "text/html"}}), "Patient/1", "").error().kind ==
        ErrorKind::kNotAcceptable);
  CHECK(parse_fhir_request(req("GET"), "Patient/1", "_format=text/turtle").error().kind ==
        ErrorKind::kNotAcceptable);
}

TEST_CASE("Prefer header is read") {
  CHECK(parse_fhir_request(req("POST", {{"Prefer", "return=minimal"}}), "Patient", "")
            ->prefer_return == PreferReturn::kMinimal);
  CHECK(parse_fhir_request(req("POST", {{"Prefer", "return=OperationOutcome"}}), "Patient", "")
            ->prefer_return == PreferReturn::kOperationOutcome);
  CHECK(parse_fhir_request(req("GET", {{"Prefer", "handling=strict"}}), "Patient", "")
            ->strict_handling);
}

TEST_CASE("query values are percent- and plus-decoded; POST _search adds the form body") {
  auto r = parse_fhir_request(req("POST", {}, "identifier=urn%3Aoid%3A1%7Cx+y"), "Patient/_search",
                              "_count=5");
  REQUIRE(r.ok());
  CHECK(first_param(r->params, "_count") == "5");
  CHECK(first_param(r->params, "identifier") == "urn:oid:1|x y");
}

TEST_CASE("body formats come from Content-Type, sniffed when it is missing") {
  CHECK(*request_body_format(req(
            "POST", {{"Content-Type", "application/fhir+json; charset=utf-8"}})) == Format::kJson);
  CHECK(*request_body_format(req("POST", {{"Content-Type", "application/xml"}})) == Format::kXml);
  CHECK(*request_body_format(req("POST", {}, "  <Patient/>")) == Format::kXml);
  CHECK(*request_body_format(req("POST", {}, "{}")) == Format::kJson);
  CHECK(request_body_format(req("POST", {{"Content-Type", "text/plain"}})).error().kind ==
        ErrorKind::kUnsupported);
}

TEST_CASE("system and compartment searches are routed") {
  CHECK(parse_fhir_request(req("GET"), "", "_type=Patient")->interaction ==
        Interaction::kSearchSystem);
  CHECK(parse_fhir_request(req("POST"), "_search", "")->interaction == Interaction::kSearchSystem);
  auto c = parse_fhir_request(req("GET"), "Patient/p1/Observation", "code=x");
  REQUIRE(c.ok());
  CHECK(c->interaction == Interaction::kSearchCompartment);
  CHECK(c->compartment_type == "Patient");
  CHECK(c->compartment_id == "p1");
  CHECK(c->type == "Observation");
  auto all = parse_fhir_request(req("GET"), "Patient/p1/*", "");
  REQUIRE(all.ok());
  CHECK(all->type.empty());
  CHECK(parse_fhir_request(req("POST"), "Patient/p1/Observation", "").error().kind ==
        ErrorKind::kNotAllowed);
  CHECK(parse_fhir_request(req("GET"), "Patient/p1/Nonsense", "").error().kind ==
        ErrorKind::kNotFound);
}
