#include "protocols/fhir/index/indexer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocols/fhir/model/json.hpp"

using namespace cg;
using namespace cg::fhir;

namespace {

boost::json::value parse(std::string_view text) {
  auto v = parse_json(text);
  REQUIRE(v.ok());
  return std::move(*v);
}

template <class Rows, class Pred>
bool any_row(const Rows& rows, Pred pred) {
  return std::any_of(rows.begin(), rows.end(), pred);
}

}  // namespace

TEST_CASE("a Patient is indexed by name, identifier, gender, birthdate and organization") {
  auto patient =
      parse(R"({"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"42"}],
    "name":[{"family":"Müller","given":["Anna"]}],"gender":"female","birthDate":"1990-04-01",
    "managingOrganization":{"reference":"Organization/org1"},
    "telecom":[{"system":"phone","value":"555-1234"}],"address":[{"city":"Kumasi"}]})");
  IndexReport report;
  auto rows = index_resource(patient, &report);
  CHECK(report.failures.empty());
  CHECK(report.parameters > 10);
  CHECK(any_row(rows.strings,
                [](auto& r) { return r.param == "family" && r.normalized == "muller"; }));
  CHECK(any_row(rows.strings, [](auto& r) { return r.param == "name" && r.normalized == "anna"; }));
  CHECK(any_row(rows.strings,
                [](auto& r) { return r.param == "address-city" && r.exact == "Kumasi"; }));
  CHECK(any_row(rows.tokens, [](auto& r) {
    return r.param == "identifier" && r.code == "42" && r.system == "urn:mrn";
  }));
  CHECK(any_row(rows.tokens, [](auto& r) { return r.param == "gender" && r.code == "female"; }));
  CHECK(any_row(rows.tokens, [](auto& r) { return r.param == "phone" && r.code == "555-1234"; }));
  CHECK(any_row(rows.dates, [](auto& r) { return r.param == "birthdate"; }));
  CHECK(any_row(rows.references, [](auto& r) {
    return r.param == "organization" && r.target_type == "Organization" && r.target_id == "org1";
  }));
  CHECK_FALSE(any_row(rows.dates, [](auto& r) { return r.param == "_lastUpdated"; }));
}

TEST_CASE("an Observation: code, subject vs patient (resolve() is Patient), value, date") {
  auto obs = parse(R"({"resourceType":"Observation","status":"final",
    "code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},
    "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-20T10:00:00Z",
    "valueQuantity":{"value":72.5,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}})");
  auto rows = index_resource(obs);
  CHECK(any_row(rows.tokens, [](auto& r) { return r.param == "code" && r.code == "29463-7"; }));
  CHECK(any_row(rows.references,
                [](auto& r) { return r.param == "subject" && r.target_id == "p1"; }));
  CHECK(any_row(rows.references,
                [](auto& r) { return r.param == "patient" && r.target_id == "p1"; }));
  CHECK(any_row(rows.dates, [](auto& r) { return r.param == "date"; }));
  CHECK(any_row(rows.quantities, [](auto& r) {
    return r.param == "value-quantity" && r.canonical_code == "g" && r.canonical_low > 72000;
  }));
  auto device_obs = parse(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},
    "subject":{"reference":"Device/d1"}})");
  auto device_rows = index_resource(device_obs);
  CHECK_FALSE(any_row(device_rows.references, [](auto& r) { return r.param == "patient"; }));
  CHECK(any_row(device_rows.references, [](auto& r) { return r.param == "subject"; }));
}

TEST_CASE("composites: one grp per component instance; the root instance is not repeated") {
  auto bp = parse(R"({"resourceType":"Observation","status":"final",
    "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
    "component":[
      {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
       "valueQuantity":{"value":150,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
      {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},
       "valueQuantity":{"value":85,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
      {"code":{"text":"no value"}}]})");
  IndexReport report;
  auto rows = index_resource(bp, &report);
  CHECK(report.failures.empty());
  auto token_grp = [&](std::string_view param, std::string_view code) {
    for (const auto& t : rows.tokens) {
      if (t.param == param && t.code == code) return t.grp;
    }
    return -1;
  };
  auto quantity_grp = [&](std::string_view param, double low) {
    for (const auto& q : rows.quantities) {
      if (q.param == param && q.low <= low && low < q.high) return q.grp;
    }
    return -1;
  };
  CHECK(token_grp("component-code-value-quantity$0", "8480-6") == 1);
  CHECK(quantity_grp("component-code-value-quantity$1", 150) == 1);
  CHECK(token_grp("component-code-value-quantity$0", "8462-4") == 2);
  CHECK(quantity_grp("component-code-value-quantity$1", 85) == 2);
  // combo: instance 1 is the Observation itself (answered by code and value-quantity, so
  // not stored), 2 and 3 its first two components; the third has no value and is skipped.
  CHECK(token_grp("combo-code-value-quantity$0", "85354-9") == -1);
  CHECK(token_grp("combo-code-value-quantity$0", "8480-6") == 2);
  CHECK(quantity_grp("combo-code-value-quantity$1", 85) == 3);
  CHECK_FALSE(any_row(rows.tokens, [](const auto& t) { return t.grp == 4; }));
  // Ordinary parameters carry no grp.
  CHECK(token_grp("code", "85354-9") == 0);
}

TEST_CASE("every FHIR example indexes without an expression failure") {
  std::filesystem::path dir = std::filesystem::path(CG_SHARED_DATA) / "fhir-examples";
  if (!std::filesystem::exists(dir)) {
    MESSAGE("skipped: " << dir << " is absent");
    return;
  }
  std::size_t files = 0, rows = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto v = parse_json(text.str());
    if (!v || !v->is_object()) continue;
    IndexReport report;
    rows += index_resource(*v, &report).size();
    ++files;
    CAPTURE(entry.path().filename().string());
    for (const auto& f : report.failures) MESSAGE(f);
    CHECK(report.failures.empty());
  }
  CHECK(files > 60);
  CHECK(rows > 500);
}
