#include "protocols/fhir/rest/fhir_api.hpp"

#include <doctest/doctest.h>

#include <set>

#include "protocols/fhir/model/json.hpp"
#include "temp_store.hpp"

using namespace cg;
using namespace cg::fhir;
namespace json = boost::json;

namespace {

constexpr std::string_view kBase = "http://gw.test/fhir";

struct Api {
  testing::TempStore store;
  FhirApi api{*store, FhirApiConfig{}};

  http::Response call(std::string method, std::string target, std::string body = {},
                      http::Headers headers = {}) {
    http::Request r;
    r.method = std::move(method);
    r.target = target;
    r.body = std::move(body);
    r.headers = std::move(headers);
    if (!r.body.empty() && r.header("Content-Type").empty()) {
      r.headers.emplace_back("Content-Type", "application/fhir+json");
    }
    auto q = target.find('?');
    std::string path = target.substr(0, q);
    std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    return api.handle(r, path, query, kBase);
  }
};

json::object body_of(const http::Response& r) {
  auto v = parse_json(r.body);
  REQUIRE_MESSAGE(v.ok(), r.body);
  return v->as_object();
}

std::string id_from_location(const http::Response& r) {
  std::string loc(r.header("Location"));
  auto start = loc.find("/Patient/") + 9;
  return loc.substr(start, loc.find('/', start) - start);
}

const char* kPatient =
    R"({"resourceType":"Patient","identifier":[{"system":"urn:sys","value":"42"}],
  "name":[{"family":"Okafor","given":["Ada"]}],"birthDate":"1990-04-01"})";

}  // namespace

TEST_CASE("create assigns a UUID and version 1, and read returns it with ETag") {
  Api a;
  auto created = a.call("POST", "Patient", kPatient);
  REQUIRE(created.status == 201);
  CHECK(created.header("ETag") == "W/\"1\"");
  std::string id = id_from_location(created);
  CHECK(id.size() == 36);
  CHECK(created.header("Location") == std::string(kBase) + "/Patient/" + id + "/_history/1");
  auto read = a.call("GET", "Patient/" + id);
  CHECK(read.status == 200);
  auto p = body_of(read);
  CHECK(p.at("id") == id.c_str());
  CHECK(p.at("meta").at("versionId") == "1");
  CHECK(p.at("birthDate") == "1990-04-01");
  CHECK(read.header("Content-Type").starts_with("application/fhir+json"));
  CHECK(a.call("GET", "Patient/" + id, {}, {{"If-None-Match", "W/\"1\""}}).status == 304);
}

TEST_CASE("update creates versions, vread finds each, delete is versioned and read says 410") {
  Api a;
  std::string id = id_from_location(a.call("POST", "Patient", kPatient));
  auto p = parse_json(kPatient)->as_object();
  p["id"] = id;
  p["gender"] = "female";
  auto updated = a.call("PUT", "Patient/" + id, serialize_json(p));
  CHECK(updated.status == 200);
  CHECK(updated.header("ETag") == "W/\"2\"");
  CHECK(body_of(a.call("GET", "Patient/" + id + "/_history/1")).if_contains("gender") == nullptr);
  CHECK(body_of(a.call("GET", "Patient/" + id + "/_history/2")).at("gender") == "female");
  CHECK(a.call("GET", "Patient/" + id + "/_history/9").status == 404);
  CHECK(a.call("DELETE", "Patient/" + id).status == 204);
  CHECK(a.call("GET", "Patient/" + id).status == 410);
  CHECK(a.call("GET", "Patient/" + id + "/_history/3").status == 410);
  CHECK(a.call("GET", "Patient/" + id + "/_history/2").status == 200);
  CHECK(a.call("DELETE", "Patient/" + id).status == 204);  // idempotent
  CHECK(a.call("DELETE", "Patient/never").status == 404);
}

TEST_CASE("update to a new id creates it (201); a mismatched or missing id is 400") {
  Api a;
  auto p = parse_json(kPatient)->as_object();
  p["id"] = "chosen-1";
  CHECK(a.call("PUT", "Patient/chosen-1", serialize_json(p)).status == 201);
  CHECK(a.call("PUT", "Patient/other", serialize_json(p)).status == 400);
  CHECK(a.call("PUT", "Patient/chosen-1", kPatient).status == 400);
}

TEST_CASE("If-Match with a stale version is 412 and changes nothing") {
  Api a;
  std::string id = id_from_location(a.call("POST", "Patient", kPatient));
  auto p = parse_json(kPatient)->as_object();
  p["id"] = id;
  CHECK(a.call("PUT", "Patient/" + id, serialize_json(p), {{"If-Match", "W/\"1\""}}).status == 200);
  CHECK(a.call("PUT", "Patient/" + id, serialize_json(p), {{"If-Match", "W/\"1\""}}).status == 412);
  CHECK(a.call("DELETE", "Patient/" + id, {}, {{"If-Match", "W/\"1\""}}).status == 412);
  CHECK(a.call("GET", "Patient/" + id).header("ETag") == "W/\"2\"");
}

TEST_CASE(
    "invalid resources get 400 with an OperationOutcome naming the path, and nothing is stored") {
  Api a;
  auto bad = a.call("POST", "Patient", R"({"resourceType":"Patient","birthDate":"1990-13-01"})");
  CHECK(bad.status == 400);
  auto oo = body_of(bad);
  CHECK(oo.at("resourceType") == "OperationOutcome");
  CHECK(serialize_json(oo).find("birthDate") != std::string::npos);
  CHECK(a.call("POST", "Patient", R"({"resourceType":"Patient","colour":"blue"})").status == 400);
  CHECK(a.call("POST", "Patient", R"({"resourceType":"Observation","status":"final"})").status ==
        400);
  CHECK(a.call("POST", "Patient", R"({"resourceType":"Patient",)").status == 400);
  CHECK(a.call("POST", "Patient", "<Patient xmlns=\"http://hl7.org/fhir\"><bogus/></Patient>",
               {{"Content-Type", "application/fhir+xml"}})
            .status == 400);
  CHECK(a.call("POST", "Patient", "hello", {{"Content-Type", "text/plain"}}).status == 415);
  CHECK(*a.store->latest_seq() == 0);
}

TEST_CASE("conditional create returns the existing match instead of a duplicate") {
  Api a;
  auto first = a.call("POST", "Patient", kPatient, {{"If-None-Exist", "identifier=urn:sys|42"}});
  CHECK(first.status == 201);
  auto second = a.call("POST", "Patient", kPatient, {{"If-None-Exist", "identifier=urn:sys|42"}});
  CHECK(second.status == 200);
  CHECK(body_of(second).at("id") == body_of(first).at("id"));
  auto by_name = a.call("POST", "Patient", kPatient, {{"If-None-Exist", "name=okafor"}});
  CHECK(by_name.status == 200);
  CHECK(body_of(by_name).at("id") == body_of(first).at("id"));
  a.call("POST", "Patient", kPatient);  // a second match
  CHECK(a.call("POST", "Patient", kPatient, {{"If-None-Exist", "identifier=urn:sys|42"}}).status ==
        412);
}

TEST_CASE("conditional update and delete by identifier") {
  Api a;
  auto created = a.call("PUT", "Patient?identifier=urn:sys|42", kPatient);
  CHECK(created.status == 201);
  auto updated = a.call("PUT", "Patient?identifier=urn:sys|42", kPatient);
  CHECK(updated.status == 200);
  CHECK(body_of(updated).at("id") == body_of(created).at("id"));
  CHECK(a.call("DELETE", "Patient?identifier=urn:sys|42").status == 204);
  CHECK(a.call("GET", "Patient?identifier=urn:sys|42").status == 200);
  CHECK(body_of(a.call("GET", "Patient?identifier=urn:sys|42")).at("total") == 0);
}

TEST_CASE("conditional update by a date, a string or a chained criterion") {
  Api a;
  auto org = a.call("POST", "Organization", R"({"resourceType":"Organization","name":"Aurora"})");
  REQUIRE(org.status == 201);
  auto p = parse_json(kPatient)->as_object();
  p["managingOrganization"] =
      json::object{{"reference", "Organization/" + std::string(body_of(org).at("id").as_string())}};
  std::string id = id_from_location(a.call("POST", "Patient", serialize_json(p)));
  int version = 1;
  for (std::string q : std::vector<std::string>{
           "birthdate=1990-04-01", "birthdate=ge1990&birthdate=lt1991", "name=okaf",
           "organization.name=aurora", "_id=" + id + "&family:exact=Okafor"}) {
    CAPTURE(q);
    auto r = a.call("PUT", "Patient?" + q, serialize_json(p));
    CHECK(r.status == 200);
    CHECK(body_of(r).at("id") == id.c_str());
    CHECK(r.header("ETag") == "W/\"" + std::to_string(++version) + "\"");
  }
  auto other = p;
  other["birthDate"] = "2001-01-01";
  CHECK(a.call("PUT", "Patient?birthdate=2001", serialize_json(other)).status == 201);
  // Now two Okafors: several matches are 412 and nothing is written.
  auto before = *a.store->latest_seq();
  CHECK(a.call("PUT", "Patient?name=okafor", serialize_json(p)).status == 412);
  CHECK(a.call("DELETE", "Patient?name=okafor").status == 412);
  CHECK(a.call("POST", "Patient", kPatient, {{"If-None-Exist", "name=okafor"}}).status == 412);
  CHECK(*a.store->latest_seq() == before);
  CHECK(a.call("DELETE", "Patient?birthdate=1990-04-01").status == 204);
  CHECK(a.call("GET", "Patient/" + id).status == 410);
}

TEST_CASE("conditional criteria that would be ignored or are result parameters get 400") {
  Api a;
  std::string id = id_from_location(a.call("POST", "Patient", kPatient));
  auto before = *a.store->latest_seq();
  auto refused = [&](const http::Response& r) {
    CAPTURE(r.body);
    return r.status == 400 && r.body.find("conditional criteria") != std::string::npos;
  };
  // A search ignores an unknown parameter; a conditional write must not (nothing silently
  // overwritten or deleted).
  CHECK(refused(a.call("DELETE", "Patient?identifier=urn:sys|42&colour=blue")));
  CHECK(refused(a.call("PUT", "Patient?colour=blue", kPatient)));
  CHECK(refused(a.call("POST", "Patient", kPatient, {{"If-None-Exist", "colour=blue"}})));
  CHECK(refused(a.call("DELETE", "Patient?_text=okafor")));
  for (std::string p : {"_sort=name", "_count=1", "_total=accurate", "_summary=count",
                        "_elements=name", "_include=Patient:organization"}) {
    CAPTURE(p);
    CHECK(refused(a.call("DELETE", "Patient?identifier=urn:sys|42&" + p)));
  }
  CHECK(refused(a.call("DELETE", "Patient")));
  CHECK(refused(a.call("DELETE", "Patient?_format=json")));
  CHECK(refused(a.call("PUT", "Patient?", kPatient)));
  CHECK(refused(a.call("DELETE", "Observation?code:in=http://example.org/vs")));
  CHECK(*a.store->latest_seq() == before);
  CHECK(a.call("GET", "Patient/" + id).status == 200);
}

TEST_CASE("Prefer return=minimal sends no body; OperationOutcome sends one") {
  Api a;
  auto minimal = a.call("POST", "Patient", kPatient, {{"Prefer", "return=minimal"}});
  CHECK(minimal.status == 201);
  CHECK(minimal.body.empty());
  CHECK_FALSE(minimal.header("Location").empty());
  auto oo = a.call("POST", "Patient", kPatient, {{"Prefer", "return=OperationOutcome"}});
  CHECK(body_of(oo).at("resourceType") == "OperationOutcome");
}

TEST_CASE("XML in and out") {
  Api a;
  auto created = a.call("POST", "Patient?_format=xml", kPatient);
  REQUIRE(created.status == 201);
  CHECK(created.header("Content-Type").starts_with("application/fhir+xml"));
  CHECK(created.body.find("<family value=\"Okafor\"/>") != std::string::npos);
  std::string id = id_from_location(created);
  auto xml = a.call("GET", "Patient/" + id, {}, {{"Accept", "application/fhir+xml"}});
  auto back = a.call("PUT", "Patient/" + id, xml.body, {{"Content-Type", "application/fhir+xml"}});
  CHECK(back.status == 200);
  auto v2 = body_of(a.call("GET", "Patient/" + id));
  CHECK(v2.at("name") == parse_json(kPatient)->at("name"));
}

TEST_CASE("history at three levels, newest first, with stable next links") {
  Api a;
  std::string id = id_from_location(a.call("POST", "Patient", kPatient));
  auto p = parse_json(kPatient)->as_object();
  p["id"] = id;
  a.call("PUT", "Patient/" + id, serialize_json(p));
  a.call("POST", "Observation",
         R"({"resourceType":"Observation","status":"final","code":{"text":"x"}})");
  auto inst = body_of(a.call("GET", "Patient/" + id + "/_history"));
  CHECK(inst.at("type") == "history");
  REQUIRE(inst.at("entry").as_array().size() == 2);
  CHECK(inst.at("entry").as_array()[0].at("resource").at("meta").at("versionId") == "2");
  CHECK(body_of(a.call("GET", "Patient/_history")).at("entry").as_array().size() == 2);
  auto page1 = body_of(a.call("GET", "_history?_count=2"));
  REQUIRE(page1.at("entry").as_array().size() == 2);
  std::string next;
  for (const auto& l : page1.at("link").as_array()) {
    if (l.at("relation") == "next") next = std::string(l.at("url").as_string());
  }
  REQUIRE_FALSE(next.empty());
  a.call("POST", "Patient", kPatient);  // a write between pages must not shift them
  std::string target = next.substr(kBase.size() + 1);
  auto page2 = body_of(a.call("GET", target));
  REQUIRE(page2.at("entry").as_array().size() == 1);
  CHECK(page2.at("entry").as_array()[0].at("resource").at("meta").at("versionId") == "1");
  CHECK(a.call("GET", "Patient/nope/_history").status == 404);
}

TEST_CASE("minimal search: _id, identifier, _lastUpdated, _count paging and _summary=count") {
  Api a;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(id_from_location(a.call("POST", "Patient", kPatient)));
  auto all = body_of(a.call("GET", "Patient?_count=2"));
  CHECK(all.at("total") == 5);
  CHECK(all.at("entry").as_array().size() == 2);
  CHECK(body_of(a.call("GET", "Patient?_id=" + ids[0] + "," + ids[1])).at("total") == 2);
  CHECK(body_of(a.call("GET", "Patient?identifier=urn:sys|42")).at("total") == 5);
  CHECK(body_of(a.call("GET", "Patient?identifier=urn:other|42")).at("total") == 0);
  CHECK(body_of(a.call("GET", "Patient?_lastUpdated=gt2000-01-01")).at("total") == 5);
  CHECK(body_of(a.call("GET", "Patient?_lastUpdated=lt2000-01-01")).at("total") == 0);
  auto count = body_of(a.call("GET", "Patient?_summary=count"));
  CHECK(count.at("total") == 5);
  CHECK(count.if_contains("entry") == nullptr);
  CHECK(a.call("GET", "Patient?_lastUpdated=2026-99").status == 400);
  CHECK(a.call("GET", "Patient?_count=100000").status == 400);
  CHECK(a.call("GET", "Patient?nonsense=x").status == 200);  // ignored by default
  CHECK(a.call("GET", "Patient?nonsense=x", {}, {{"Prefer", "handling=strict"}}).status == 400);
  // Follow next links through all pages: every resource exactly once, even with a write
  // between pages.
  std::set<std::string> seen;
  std::string target = "Patient?_count=2";
  for (int guard = 0; guard < 10 && !target.empty(); ++guard) {
    auto page = body_of(a.call("GET", target));
    for (const auto& e : page.at("entry").as_array())
      seen.insert(std::string(e.at("resource").at("id").as_string()));
    target.clear();
    for (const auto& l : page.at("link").as_array()) {
      if (l.at("relation") == "next")
        target = std::string(l.at("url").as_string()).substr(kBase.size() + 1);
    }
  }
  CHECK(seen.size() == 5);
}

TEST_CASE("full search: strings, tokens, dates, references, chains, _has, includes, compartments") {
  Api a;
  auto create = [&](std::string type, std::string json) {
    auto r = a.call("POST", type, json);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return body_of(r).at("id").as_string().c_str() + std::string();
  };
  std::string org =
      create("Organization", R"({"resourceType":"Organization","name":"Kumasi Clinic"})");
  std::string ada =
      create("Patient", R"({"resourceType":"Patient","name":[{"family":"Müller","given":["Ada"]}],
    "gender":"female","birthDate":"1990-04-01","managingOrganization":{"reference":"Organization/)" +
                            org + R"("}})");
  std::string kofi =
      create("Patient", R"({"resourceType":"Patient","name":[{"family":"Mensah","given":["Kofi"]}],
    "gender":"male","birthDate":"2019-05-02"})");
  auto obs = [&](const std::string& patient, const char* code, const char* value) {
    return create("Observation", std::string(R"({"resourceType":"Observation","status":"final",
      "code":{"coding":[{"system":"http://loinc.org","code":")") +
                                     code + R"("}]},
      "subject":{"reference":"Patient/)" +
                                     patient + R"("},"effectiveDateTime":"2026-11-20T10:00:00Z",
      "valueQuantity":{"value":)" + value +
                                     R"(,"system":"http://unitsofmeasure.org","code":"kg"}})");
  };
  obs(ada, "29463-7", "72.5");
  obs(kofi, "29463-7", "14");
  obs(kofi, "8302-2", "95");
  auto total = [&](const std::string& target) {
    auto r = a.call("GET", target);
    REQUIRE_MESSAGE(r.status == 200, std::string(target + " -> " + r.body));
    return body_of(r).at("total").as_int64();
  };
  CHECK(total("Patient?name=muller") == 1);  // accent- and case-insensitive prefix
  CHECK(total("Patient?family:exact=Müller") == 1);
  CHECK(total("Patient?family:exact=muller") == 0);
  CHECK(total("Patient?gender=female") == 1);
  CHECK(total("Patient?gender:not=female") == 1);
  CHECK(total("Patient?birthdate=ge2000-01-01") == 1);
  CHECK(total("Patient?birthdate=1990") == 1);
  CHECK(total("Observation?code=http://loinc.org|29463-7") == 2);
  CHECK(total("Observation?code=29463-7,8302-2") == 3);
  CHECK(total("Observation?subject=Patient/" + kofi) == 2);
  CHECK(total("Observation?patient=" + kofi + "&code=8302-2") == 1);
  CHECK(total("Observation?value-quantity=gt50|http://unitsofmeasure.org|kg") == 2);
  CHECK(total("Observation?value-quantity=ap72500|http://unitsofmeasure.org|g") == 1);  // UCUM
  CHECK(total("Observation?subject:Patient.name=mensah") == 2);
  CHECK(total("Observation?subject:Patient.organization.name=kumasi") == 1);
  CHECK(total("Patient?_has:Observation:patient:code=8302-2") == 1);
  CHECK(total("Patient/" + kofi + "/Observation") == 2);
  CHECK(total("Patient/" + kofi + "/Observation?code=8302-2") == 1);
  auto included = body_of(a.call("GET", "Observation?code=8302-2&_include=Observation:subject"));
  REQUIRE(included.at("entry").as_array().size() == 2);
  CHECK(included.at("entry").as_array()[1].at("search").at("mode") == "include");
  auto rev = body_of(a.call("GET", "Patient?_id=" + kofi + "&_revinclude=Observation:subject"));
  CHECK(rev.at("entry").as_array().size() == 3);
  auto sorted = body_of(a.call("GET", "Patient?_sort=-birthdate"));
  CHECK(sorted.at("entry").as_array()[0].at("resource").at("id") == kofi.c_str());
  CHECK(a.call("GET", "Patient?birthdate=2026-02-30").status == 400);
  CHECK(a.call("GET", "Observation?subject.name=x").status == 400);  // ambiguous chain
  CHECK(total("?_type=Patient,Organization") == 3);
}

TEST_CASE(":in and :not-in use ValueSets stored on the server") {
  Api a;
  REQUIRE(
      a.call("POST", "ValueSet",
             R"({"resourceType":"ValueSet","url":"http://example.org/vs/vitals","status":"active",
    "expansion":{"timestamp":"2026-11-21T00:00:00Z","contains":[{"system":"http://loinc.org","code":"29463-7"},
    {"system":"http://loinc.org","code":"8302-2","contains":[{"system":"http://loinc.org","code":"8310-5"}]}]}})")
          .status == 201);
  REQUIRE(
      a.call("POST", "ValueSet",
             R"({"resourceType":"ValueSet","url":"http://example.org/vs/composed","status":"active",
    "compose":{"include":[{"system":"http://loinc.org","concept":[{"code":"8310-5"}]}]}})")
          .status == 201);
  REQUIRE(
      a.call("POST", "ValueSet",
             R"({"resourceType":"ValueSet","url":"http://example.org/vs/filtered","status":"active",
    "compose":{"include":[{"system":"http://snomed.info/sct","filter":[{"property":"concept","op":"is-a","value":"404684003"}]}]}})")
          .status == 201);
  for (const char* code : {"29463-7", "8310-5", "1234-5"}) {
    REQUIRE(a.call("POST", "Observation",
                   std::string(R"({"resourceType":"Observation","status":"final",
      "code":{"coding":[{"system":"http://loinc.org","code":")") +
                       code + R"("}]}})")
                .status == 201);
  }
  auto total = [&](const std::string& target) {
    auto r = a.call("GET", target);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return body_of(r).at("total").as_int64();
  };
  CHECK(total("Observation?code:in=http://example.org/vs/vitals") == 2);
  CHECK(total("Observation?code:not-in=http://example.org/vs/vitals") == 1);
  CHECK(total("Observation?code:in=http://example.org/vs/composed") == 1);
  CHECK(a.call("GET", "Observation?code:in=http://example.org/vs/unknown").status == 400);
  CHECK(a.call("GET", "Observation?code:in=http://example.org/vs/filtered").status == 400);
}

TEST_CASE("Patient/$everything pages through every type of the compartment") {
  Api a;
  std::string pid = id_from_location(a.call("POST", "Patient", kPatient));
  std::string other = id_from_location(a.call("POST", "Patient", kPatient));
  auto add = [&](const std::string& type, const std::string& json) {
    REQUIRE(a.call("POST", type, json).status == 201);
  };
  for (int i = 0; i < 3; ++i) {
    add("Observation",
        R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/)" +
            pid + R"("}})");
  }
  add("Condition",
      R"({"resourceType":"Condition","subject":{"reference":"Patient/)" + pid + R"("}})");
  add("Immunization",
      R"({"resourceType":"Immunization","status":"completed","vaccineCode":{"text":"BCG"},
    "patient":{"reference":"Patient/)" +
          pid + R"("},"occurrenceDateTime":"2026-01-01"})");
  add("Observation",
      R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/)" +
          other + R"("}})");
  auto collect = [&](std::string target) {
    std::multiset<std::string> seen;
    for (int guard = 0; guard < 20 && !target.empty(); ++guard) {
      auto r = a.call("GET", target);
      REQUIRE_MESSAGE(r.status == 200, r.body);
      auto page = body_of(r);
      if (auto* entries = page.if_contains("entry")) {
        for (const auto& e : entries->as_array()) {
          seen.insert(std::string(e.at("resource").at("resourceType").as_string()));
        }
      }
      target.clear();
      for (const auto& l : page.at("link").as_array()) {
        if (l.at("relation") == "next")
          target = std::string(l.at("url").as_string()).substr(kBase.size() + 1);
      }
    }
    return seen;
  };
  auto all = collect("Patient/" + pid + "/$everything?_count=2");
  CHECK(all.size() == 6);
  CHECK(all.count("Patient") == 1);
  CHECK(all.count("Observation") == 3);
  CHECK(all.count("Immunization") == 1);
  CHECK(collect("Patient/" + pid + "/*").size() == 6);
  auto only = collect("Patient/" + pid + "/$everything?_type=Observation,Condition");
  CHECK(only.size() == 4);
  CHECK(collect("Patient/" + pid + "/$everything?_since=2999-01-01").empty());
  CHECK(a.call("GET", "Patient/nobody/$everything").status == 404);
  CHECK(a.call("GET", "Patient/" + pid + "/$everything?_type=Nonsense").status == 400);
  CHECK(a.call("GET", "Observation/x/$everything").status == 404);
}

TEST_CASE("the Android FHIR SDK download pattern pages by _lastUpdated") {
  Api a;
  for (int i = 0; i < 5; ++i) a.call("POST", "Patient", kPatient);
  std::string target = "Patient?_sort=_lastUpdated&_lastUpdated=gt2000-01-01T00:00:00Z&_count=2";
  std::set<std::string> seen;
  std::string last;
  for (int guard = 0; guard < 10 && !target.empty(); ++guard) {
    auto page = body_of(a.call("GET", target));
    for (const auto& e : page.at("entry").as_array()) {
      std::string updated(e.at("resource").at("meta").at("lastUpdated").as_string());
      CHECK(updated >= last);
      last = updated;
      seen.insert(std::string(e.at("resource").at("id").as_string()));
    }
    target.clear();
    for (const auto& l : page.at("link").as_array()) {
      if (l.at("relation") == "next")
        target = std::string(l.at("url").as_string()).substr(kBase.size() + 1);
    }
  }
  CHECK(seen.size() == 5);
  CHECK(body_of(a.call("GET", "Patient?_summary=count")).at("total") == 5);
  auto subset = body_of(a.call("GET", "Patient?_elements=birthDate&_count=1"));
  const auto& p = subset.at("entry").as_array()[0].at("resource").as_object();
  CHECK(p.if_contains("birthDate"));
  CHECK_FALSE(p.if_contains("name"));
  CHECK(serialize_json(p).find("SUBSETTED") != std::string::npos);
  CHECK(a.call("GET", "Patient?_elements=nonsense").status == 400);
}

TEST_CASE("a transaction rewrites urn:uuid references and commits atomically") {
  Api a;
  std::string tx = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","name":[{"family":"Tx"}]},
     "request":{"method":"POST","url":"Patient"}},
    {"fullUrl":"urn:uuid:22222222-2222-4222-8222-222222222222","resource":{"resourceType":"Observation","status":"final",
     "code":{"text":"weight"},"subject":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"}},
     "request":{"method":"POST","url":"Observation"}}]})";
  auto r = a.call("POST", "", tx);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto bundle = body_of(r);
  CHECK(bundle.at("type") == "transaction-response");
  const auto& entries = bundle.at("entry").as_array();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].at("response").at("status") == "201 Created");
  std::string patient_id(entries[0].at("resource").at("id").as_string());
  CHECK(entries[1].at("resource").at("subject").at("reference") ==
        ("Patient/" + patient_id).c_str());

  auto before = *a.store->latest_seq();
  std::string failing = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
    {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},
     "subject":{"reference":"Patient?identifier=urn:none|nobody"}},"request":{"method":"POST","url":"Observation"}}]})";
  auto failed = a.call("POST", "", failing);
  CHECK(failed.status == 404);
  CHECK(*a.store->latest_seq() == before);

  // A conditional reference by name and birthdate resolves to the one match.
  a.call("POST", "Patient", kPatient);
  std::string by_search = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},
     "subject":{"reference":"Patient?name=okafor&birthdate=1990-04-01"}},
     "request":{"method":"POST","url":"Observation"}}]})";
  auto resolved = a.call("POST", "", by_search);
  REQUIRE_MESSAGE(resolved.status == 200, resolved.body);
  auto obs = body_of(resolved).at("entry").as_array()[0].at("resource");
  CHECK(obs.at("subject").at("reference").as_string().starts_with("Patient/"));
}

TEST_CASE("a batch answers each entry on its own") {
  Api a;
  std::string batch = R"({"resourceType":"Bundle","type":"batch","entry":[
    {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
    {"request":{"method":"GET","url":"Patient/does-not-exist"}},
    {"resource":{"resourceType":"Patient","birthDate":"x"},"request":{"method":"POST","url":"Patient"}}]})";
  auto r = a.call("POST", "", batch);
  REQUIRE(r.status == 200);
  auto response = body_of(r);
  const auto& entries = response.at("entry").as_array();
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].at("response").at("status") == "201 Created");
  CHECK(entries[1].at("response").at("status") == "404");
  CHECK(entries[2].at("response").at("status") == "400");
  CHECK(entries[2].at("response").at("outcome").at("resourceType") == "OperationOutcome");
}

TEST_CASE("conditional creates in one batch make one resource: each sees the earlier ones") {
  Api a;
  std::string batch = R"({"resourceType":"Bundle","type":"batch","entry":[)";
  for (int i = 0; i < 6; ++i) {
    if (i) batch += ',';
    batch += R"({"resource":{"resourceType":"Patient","name":[{"family":"Batch"}],)"
             R"("birthDate":"1970-01-01"},"request":{"method":"POST","url":"Patient",)"
             R"("ifNoneExist":"name=batch&birthdate=1970"}})";
  }
  batch += "]}";
  auto r = a.call("POST", "", batch);
  REQUIRE(r.status == 200);
  auto response = body_of(r);
  int created = 0, existing = 0;
  std::set<std::string> ids;
  for (const auto& e : response.at("entry").as_array()) {
    std::string status(e.at("response").at("status").as_string());
    created += status == "201 Created";
    existing += status == "200 OK";
    ids.insert(std::string(e.at("resource").at("id").as_string()));
  }
  CHECK(created == 1);
  CHECK(existing == 5);
  CHECK(ids.size() == 1);
  CHECK(body_of(a.call("GET", "Patient?name=batch")).at("total") == 1);
}

TEST_CASE("a large batch keeps the request order in its response") {
  Api a;
  std::string batch = R"({"resourceType":"Bundle","type":"batch","entry":[)";
  for (int i = 0; i < 40; ++i) {
    if (i) batch += ',';
    batch += R"({"resource":{"resourceType":"Patient","identifier":[{"system":"urn:n","value":")" +
             std::to_string(i) + R"("}]},"request":{"method":"POST","url":"Patient"}})";
  }
  batch += "]}";
  auto r = a.call("POST", "", batch);
  REQUIRE(r.status == 200);
  auto response = body_of(r);
  const auto& entries = response.at("entry").as_array();
  REQUIRE(entries.size() == 40);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(entries[i].at("response").at("status") == "201 Created");
    CHECK(entries[i].at("resource").at("identifier").as_array()[0].at("value") ==
          std::to_string(i).c_str());
  }
}

TEST_CASE("metadata is a CapabilityStatement listing every resource type") {
  Api a;
  auto cs = body_of(a.call("GET", "metadata"));
  CHECK(cs.at("resourceType") == "CapabilityStatement");
  CHECK(cs.at("fhirVersion") == "4.0.1");
  CHECK(cs.at("rest").as_array()[0].at("resource").as_array().size() == 146);
  // Every parameter the search evaluates, composites included; special ones are not.
  auto params_of = [&](std::string_view type) {
    std::set<std::string> names;
    for (const auto& r : cs.at("rest").as_array()[0].at("resource").as_array()) {
      if (r.at("type").as_string() != type) continue;
      for (const auto& p : r.at("searchParam").as_array()) {
        names.insert(std::string(p.at("name").as_string()));
      }
    }
    return names;
  };
  auto observation = params_of("Observation");
  CHECK(observation.count("code") == 1);
  CHECK(observation.count("code-value-quantity") == 1);
  CHECK(observation.count("component-code-value-quantity") == 1);
  CHECK(observation.count("_lastUpdated") == 1);
  CHECK(params_of("Location").count("near") == 1);
  CHECK(params_of("Patient").count("_text") == 0);
  CHECK(cs.at("rest").as_array()[0].at("searchParam").as_array()[0].at("name") == "_list");
  // SMART clients that discover through /metadata find the token endpoint beside the base.
  const auto& security = cs.at("rest").as_array()[0].at("security").as_object();
  CHECK(security.at("service").as_array()[0].at("coding").as_array()[0].at("code") ==
        "SMART-on-FHIR");
  const auto& oauth = security.at("extension").as_array()[0].as_object();
  CHECK(oauth.at("url") == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris");
  CHECK(oauth.at("extension").as_array()[0].at("valueUri").as_string().ends_with("/auth/token"));
  CHECK_FALSE(
      oauth.at("extension").as_array()[0].at("valueUri").as_string().ends_with("/fhir/auth/token"));
}
