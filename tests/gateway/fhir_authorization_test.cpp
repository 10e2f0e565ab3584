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
Result<FhirGrant> allowed(const GrantedScopes& granted, std::string method, std::string target,
                          std::string if_none_exist = {}, std::string body = {}) {
  http::Request http;
  http.method = std::move(method);
  http.body = std::move(body);
  if (!http.body.empty()) http.headers.emplace_back("Content-Type", "application/fhir+json");
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
}

namespace {
std::string bundle(std::string_view type, std::string_view entries) {
  return R"({"resourceType":"Bundle","type":")" + std::string(type) + R"(","entry":[)" +
         std::string(entries) + "]}";
}
const char* kReadPatient = R"({"request":{"method":"GET","url":"Patient/1"}})";
const char* kCreateObservation =
    R"({"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}},)"
    R"("request":{"method":"POST","url":"Observation"}})";
}  // namespace

TEST_CASE("batch and transaction Bundles: every entry is authorized on its own") {
  auto reader = scopes("user/Patient.rs user/Observation.c");
  const std::string both = std::string(kReadPatient) + "," + kCreateObservation;
  CHECK(allowed(reader, "POST", "", {}, bundle("batch", both)).ok());
  CHECK(allowed(reader, "POST", "", {}, bundle("transaction", both)).ok());
  auto refused = allowed(scopes("user/Patient.rs"), "POST", "", {}, bundle("batch", both));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kForbidden);
  CHECK(refused.error().message.starts_with("Bundle entry 1:"));
  // Conditional create inside a transaction also needs s.
  auto conditional = R"({"resource":{"resourceType":"Observation","status":"final",)"
                     R"("code":{"text":"x"}},"request":{"method":"POST","url":"Observation",)"
                     R"("ifNoneExist":"identifier=a|b"}})";
  CHECK_FALSE(allowed(reader, "POST", "", {}, bundle("transaction", conditional)).ok());
  // Fail closed: an entry without a readable request, or a nested Bundle, is refused.
  CHECK_FALSE(allowed(reader, "POST", "", {}, bundle("batch", R"({"resource":{}})")).ok());
  CHECK_FALSE(allowed(reader, "POST", "", {},
                      bundle("batch", R"({"request":{"method":"GET","url":"Nonsense/1"}})"))
                  .ok());
  CHECK_FALSE(
      allowed(reader, "POST", "", {}, bundle("batch", R"({"request":{"method":"POST","url":""}})"))
          .ok());
  // user/*.cruds covers any entry without reading the Bundle; a patient/ scope never reaches
  // into a Bundle (an entry cannot be confined to the compartment).
  CHECK(allowed(scopes("system/*.cruds"), "POST", "", {}, bundle("batch", both)).ok());
  CHECK_FALSE(
      allowed(scopes("patient/*.rs", "p1"), "POST", "", {}, bundle("batch", kReadPatient)).ok());
  // What is not a batch or transaction is the FHIR layer's to refuse (it stores nothing).
  CHECK(allowed(reader, "POST", "", {}, bundle("collection", both)).ok());
}

TEST_CASE("patient/ and granular scopes allow a request confined to their condition") {
  auto patient = scopes("patient/Observation.rs", "p1");
  auto search = allowed(patient, "GET", "Observation?code=x");
  REQUIRE(search.ok());
  REQUIRE(search->confine.has_value());
  CHECK(search->confine->patient == "p1");
  CHECK(search->confine->match.empty());
  CHECK_FALSE(allowed(patient, "POST", "Observation").ok());  // no c in the scope

  auto granular = scopes(
      "user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
      "observation-category|laboratory");
  auto read = allowed(granular, "GET", "Observation/1");
  REQUIRE(read.ok());
  REQUIRE(read->confine.has_value());
  CHECK(read->confine->patient.empty());
  REQUIRE(read->confine->match.size() == 1);
  CHECK(read->confine->match.front().name == "category");
  // A patient/ scope without a patient context grants nothing at all.
  CHECK_FALSE(allowed(scopes("patient/Observation.rs"), "GET", "Observation/1").ok());
  // user/ and system/ scopes without parameters are unconditional.
  CHECK_FALSE(allowed(scopes("user/Observation.rs"), "GET", "Observation/1")->confine);
}

TEST_CASE("alternative granular scopes merge into one OR; other mixes are refused") {
  auto two =
      scopes("user/Observation.rs?category=laboratory user/Observation.rs?category=vital-signs");
  auto merged = allowed(two, "GET", "Observation?code=x");
  REQUIRE(merged.ok());
  REQUIRE(merged->confine.has_value());
  REQUIRE(merged->confine->match.size() == 1);
  const std::string& value = merged->confine->match.front().value;
  CHECK((value == "laboratory,vital-signs" || value == "vital-signs,laboratory"));
  auto mixed = scopes("user/Observation.rs?category=laboratory user/Observation.rs?status=final");
  auto refused = allowed(mixed, "GET", "Observation?code=x");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kForbidden);
  CHECK(merge_conditions({}) == std::nullopt);
}

TEST_CASE("what a search reaches beyond its type needs its own scope: includes, chains, _has") {
  auto observations = scopes("user/Observation.rs");
  auto both = scopes("user/Observation.rs user/Patient.rs");
  // _include returns the targets: Observation:subject reaches Patient, Group, Device, Location.
  CHECK_FALSE(
      allowed(observations, "GET", "Observation?_include=Observation:subject:Patient").ok());
  CHECK(allowed(both, "GET", "Observation?_include=Observation:subject:Patient").ok());
  CHECK(allowed(both, "GET", "Observation?_include=Observation:patient").ok());  // targets Patient
  CHECK_FALSE(allowed(both, "GET", "Observation?_include=Observation:subject").ok());
  CHECK_FALSE(allowed(both, "GET", "Observation?_include=*").ok());
  CHECK(allowed(scopes("user/*.rs"), "GET", "Observation?_include=*").ok());
  // _revinclude returns the sources.
  auto patients = scopes("user/Patient.rs");
  CHECK_FALSE(allowed(patients, "GET", "Patient?_revinclude=Observation:patient").ok());
  CHECK(allowed(both, "GET", "Patient?_revinclude=Observation:patient").ok());
  CHECK_FALSE(allowed(both, "GET", "Patient?_revinclude:iterate=Provenance:target").ok());
  // A chain filters on the types it passes through.
  CHECK_FALSE(allowed(observations, "GET", "Observation?patient.name=x").ok());
  CHECK(allowed(both, "GET", "Observation?patient.name=x").ok());
  CHECK(allowed(both, "GET", "Observation?subject:Patient.name=x").ok());
  CHECK_FALSE(allowed(both, "GET", "Observation?patient.organization.name=x").ok());
  CHECK(allowed(scopes("user/Observation.rs user/Patient.rs user/Organization.s"), "GET",
                "Observation?patient.organization.name=x")
            .ok());
  // _has searches the type it names.
  CHECK_FALSE(allowed(patients, "GET", "Patient?_has:Observation:patient:code=x").ok());
  CHECK(allowed(both, "GET", "Patient?_has:Observation:patient:code=x").ok());
  auto refused = allowed(patients, "GET", "Patient?_has:Observation:patient:code=x");
  CHECK(refused.error().message.find("reaches Observation") != std::string::npos);
}

TEST_CASE("every permission on every type, unconditionally, allows every interaction") {
  CHECK(allows_every_interaction(scopes("system/*.cruds")));
  CHECK(allows_every_interaction(scopes("user/*.cruds openid")));
  CHECK_FALSE(allows_every_interaction(scopes("user/*.rs")));
  CHECK_FALSE(allows_every_interaction(scopes("user/Patient.cruds")));
  CHECK_FALSE(allows_every_interaction(scopes("patient/*.cruds", "p1")));
  CHECK_FALSE(allows_every_interaction(scopes("system/*.cruds?category=laboratory")));
}
