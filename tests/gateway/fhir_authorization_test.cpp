#include "gateway/fhir_authorization.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::gateway;

namespace {

GrantedScopes scopes(std::string_view text, std::string patient = {}) {
  auto parsed = parse_scopes(text);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->rejected.empty());
  parsed->granted.patient = std::move(patient);
  return parsed->granted;
}

// Whether `granted` may do `method target` (target after the FHIR base).
Status allowed(const GrantedScopes& granted, std::string method, std::string target,
               std::string if_none_exist = {}) {
  http::Request http;
  http.method = std::move(method);
  const auto q = target.find('?');
  http.target = "/fhir/" + target;
  if (!if_none_exist.empty()) http.headers.emplace_back("If-None-Exist", if_none_exist);
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  auto parsed = fhir::parse_fhir_request(http, path, query);
  REQUIRE_MESSAGE(parsed.ok(), target);
  return authorize_fhir(granted, *parsed, http);
}

}  // namespace

TEST_CASE("user/ and system/ scopes allow exactly their types and permissions") {
  auto reader = scopes("user/Patient.rs");
  CHECK(allowed(reader, "GET", "Patient/1").ok());
  CHECK(allowed(reader, "GET", "Patient?name=x").ok());
  CHECK(allowed(reader, "GET", "Patient/1/_history").ok());  // history needs r+s: both given
  CHECK(allowed(reader, "GET", "metadata").ok());
  auto denied = allowed(reader, "GET", "Observation?code=x");
  CHECK(denied.error().kind == ErrorKind::kForbidden);
  CHECK(allowed(reader, "DELETE", "Patient/1").error().kind == ErrorKind::kForbidden);
  CHECK(allowed(reader, "PUT", "Patient/1").error().kind == ErrorKind::kForbidden);

  auto writer = scopes("system/Observation.cu");
  CHECK(allowed(writer, "POST", "Observation").ok());
  // Conditional create also searches: it needs s.
  CHECK_FALSE(allowed(writer, "POST", "Observation", "identifier=a|b").ok());
  CHECK(allowed(scopes("system/Observation.cus"), "POST", "Observation", "identifier=a|b").ok());
  CHECK(allowed(writer, "PUT", "Observation/9").ok());
  CHECK_FALSE(allowed(writer, "GET", "Observation/9").ok());
}

TEST_CASE("system searches, $everything and Bundles need scopes on every type") {
  CHECK_FALSE(allowed(scopes("user/Patient.rs"), "GET", "?_type=Patient,Observation").ok());
  CHECK(allowed(scopes("user/Patient.rs user/Observation.rs"), "GET", "?_type=Patient,Observation")
            .ok());
  CHECK_FALSE(allowed(scopes("user/Patient.rs"), "GET", "Patient/1/$everything").ok());
  CHECK(allowed(scopes("user/*.rs"), "GET", "Patient/1/$everything").ok());
  CHECK_FALSE(allowed(scopes("user/*.rs"), "POST", "").ok());
  CHECK(allowed(scopes("system/*.cruds"), "POST", "").ok());
}

TEST_CASE("patient/ and granular scopes are refused until the FHIR layer confines to them") {
  auto patient = scopes("patient/Observation.rs", "p1");
  auto refused = allowed(patient, "GET", "Observation?code=x");
  CHECK(refused.error().kind == ErrorKind::kForbidden);
  CHECK(refused.error().message.find("patient compartment") != std::string::npos);
  auto granular = scopes(
      "user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
      "observation-category|laboratory");
  CHECK_FALSE(allowed(granular, "GET", "Observation/1").ok());
  // A patient/ scope without a patient context grants nothing at all.
  CHECK_FALSE(allowed(scopes("patient/Observation.rs"), "GET", "Observation/1").ok());
}
