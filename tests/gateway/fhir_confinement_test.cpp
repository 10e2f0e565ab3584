#include "gateway/fhir_confinement.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "../fhir/rest/temp_store.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {

constexpr std::string_view kBase = "http://gw.test/fhir";
const std::string kLab = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory";

std::string observation(std::string_view id, std::string_view patient, std::string_view category) {
  std::string idpart = id.empty() ? "" : R"("id":")" + std::string(id) + R"(",)";
  return R"({"resourceType":"Observation",)" + idpart +
         R"("status":"final","category":[{"coding":[{"system":)"
         R"("http://terminology.hl7.org/CodeSystem/observation-category","code":")" +
         std::string(category) + R"("}]}],"code":{"text":"x"},"subject":{"reference":"Patient/)" +
         std::string(patient) + R"("}})";
}

struct Fixture {
  testing::TempStore store;
  fhir::FhirApi api{*store, {}};

  Fixture() {
    for (const char* p : {"p1", "p2"}) {
      put("Patient/" + std::string(p),
          R"({"resourceType":"Patient","id":")" + std::string(p) + R"("})");
    }
    put("Observation/o1", observation("o1", "p1", "laboratory"));
    put("Observation/o2", observation("o2", "p2", "laboratory"));
    put("Observation/o3", observation("o3", "p1", "vital-signs"));
  }

  http::Request request(std::string method, std::string target, std::string body = {}) {
    http::Request r;
    r.method = std::move(method);
    r.target = "/fhir/" + target;
    r.body = std::move(body);
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/fhir+json");
    return r;
  }

  void put(std::string target, std::string body) {
    auto r = request("PUT", target, std::move(body));
    REQUIRE(api.handle(r, target, "", kBase).status < 300);
  }

  // Serves `method target` confined to `condition`, as the router would.
  http::Response serve(const AccessCondition& condition, std::string method, std::string target,
                       std::string body = {}) {
    auto r = request(std::move(method), target, std::move(body));
    auto q = target.find('?');
    std::string path = target.substr(0, q);
    std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    auto parsed = fhir::parse_fhir_request(r, path, query);
    REQUIRE_MESSAGE(parsed.ok(), target);
    return serve_confined(api, r, path, query, *parsed, condition, kBase);
  }
};

// The ids of the resources a searchset Bundle matched, in order.
std::vector<std::string> ids(const http::Response& r) {
  REQUIRE_MESSAGE(r.status == 200, r.body);
  std::vector<std::string> out;
  auto bundle = boost::json::parse(r.body).as_object();
  if (auto* entries = bundle.if_contains("entry")) {
    for (const auto& e : entries->as_array()) {
      out.emplace_back(e.at("resource").at("id").as_string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const AccessCondition kPatient1{"p1", {}};

}  // namespace

TEST_CASE("a patient/ search sees only the token's patient's compartment") {
  Fixture f;
  CHECK(ids(f.serve(kPatient1, "GET", "Observation")) == std::vector<std::string>{"o1", "o3"});
  CHECK(ids(f.serve(kPatient1, "GET", "Observation?subject=Patient/p2")).empty());
  CHECK(ids(f.serve(kPatient1, "GET", "Patient")) == std::vector<std::string>{"p1"});
  CHECK(ids(f.serve(kPatient1, "GET", "Patient/p1/Observation")) ==
        std::vector<std::string>{"o1", "o3"});
  CHECK(f.serve(kPatient1, "GET", "Patient/p2/Observation").status == 403);
  // Parameters that reach other resources are refused rather than filtered.
  CHECK(f.serve(kPatient1, "GET", "Observation?_include=Observation:subject").status == 403);
  CHECK(f.serve(kPatient1, "GET", "Observation?_revinclude=Provenance:target").status == 403);
  CHECK(f.serve(kPatient1, "GET", "Observation?subject.name=x").status == 403);
  CHECK(f.serve(kPatient1, "GET", "Patient?_has:Observation:subject:status=final").status == 403);
  CHECK(f.serve(kPatient1, "GET", "?_type=Observation").status == 403);
  CHECK(f.serve(kPatient1, "GET", "Observation/_history").status == 403);
}

TEST_CASE("a granular scope adds its parameters to the search, with or without a patient") {
  Fixture f;
  const AccessCondition lab{"", {{"category", kLab}}};
  CHECK(ids(f.serve(lab, "GET", "Observation")) == std::vector<std::string>{"o1", "o2"});
  const AccessCondition lab_p1{"p1", {{"category", kLab}}};
  CHECK(ids(f.serve(lab_p1, "GET", "Observation")) == std::vector<std::string>{"o1"});
  // The caller's own parameters still narrow; they cannot widen.
  CHECK(ids(f.serve(lab, "GET", "Observation?category=vital-signs")).empty());
}

TEST_CASE("reads, history and deletes outside the condition are 404") {
  Fixture f;
  CHECK(f.serve(kPatient1, "GET", "Observation/o1").status == 200);
  CHECK(f.serve(kPatient1, "GET", "Observation/o2").status == 404);
  CHECK(f.serve(kPatient1, "GET", "Observation/o2/_history/1").status == 404);
  CHECK(f.serve(kPatient1, "GET", "Observation/o2/_history").status == 404);
  CHECK(f.serve(kPatient1, "GET", "Observation/nowhere").status == 404);
  CHECK(f.serve(kPatient1, "GET", "Patient/p1").status == 200);
  CHECK(f.serve(kPatient1, "GET", "Patient/p2").status == 404);
  CHECK(f.serve({"", {{"category", kLab}}}, "GET", "Observation/o3").status == 404);
  CHECK(f.serve(kPatient1, "DELETE", "Observation/o2").status == 404);
  CHECK(f.serve(kPatient1, "GET", "Observation/o2").status == 404);  // still there for p2
  CHECK(f.serve(kPatient1, "DELETE", "Observation/o3").status < 300);
}

TEST_CASE("$everything only for the token's own patient") {
  Fixture f;
  CHECK(f.serve(kPatient1, "GET", "Patient/p1/$everything").status == 200);
  CHECK(f.serve(kPatient1, "GET", "Patient/p2/$everything").status == 403);
  CHECK(f.serve({"p1", {{"category", kLab}}}, "GET", "Patient/p1/$everything").status == 403);
}

TEST_CASE("writes: the submitted resource must meet the condition") {
  Fixture f;
  CHECK(f.serve(kPatient1, "POST", "Observation", observation("", "p1", "laboratory")).status ==
        201);
  auto other = f.serve(kPatient1, "POST", "Observation", observation("", "p2", "laboratory"));
  CHECK(other.status == 403);
  // Moving a resource out of the compartment is refused; another patient's is not found.
  CHECK(f.serve(kPatient1, "PUT", "Observation/o1", observation("o1", "p2", "laboratory")).status ==
        403);
  CHECK(f.serve(kPatient1, "PUT", "Observation/o2", observation("o2", "p1", "laboratory")).status ==
        404);
  CHECK(
      f.serve(kPatient1, "PUT", "Observation/o1", observation("o1", "p1", "vital-signs")).status ==
      200);
  // A Patient in its own compartment is the patient itself.
  CHECK(f.serve(kPatient1, "POST", "Patient", R"({"resourceType":"Patient"})").status == 403);
  CHECK(f.serve(kPatient1, "PUT", "Patient/p1", R"({"resourceType":"Patient","id":"p1"})").status ==
        200);
  // Granular token restrictions are checked on the content.
  const AccessCondition lab{"", {{"category", kLab}}};
  CHECK(f.serve(lab, "POST", "Observation", observation("", "p2", "vital-signs")).status == 403);
  CHECK(f.serve(lab, "POST", "Observation", observation("", "p2", "laboratory")).status == 201);
  // What cannot be confined is refused.
  CHECK(
      f.serve(kPatient1, "PUT", "Observation?code=x", observation("", "p1", "laboratory")).status ==
      403);
  CHECK(f.serve(kPatient1, "DELETE", "Observation?code=x").status == 403);
  CHECK(
      f.serve({"", {{"date", "2020"}}}, "POST", "Observation", observation("", "p1", "laboratory"))
          .status == 403);
}
