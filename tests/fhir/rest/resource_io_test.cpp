#include "protocols/fhir/rest/resource_io.hpp"

#include <doctest/doctest.h>

#include <set>

#include "protocols/fhir/model/json.hpp"

using namespace cg;
using namespace cg::fhir;

TEST_CASE("new ids are valid, distinct, time-ordered version 7 UUIDs") {
  std::set<std::string> ids;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_resource_id();
    REQUIRE(id.size() == 36);
    CHECK(id[14] == '7');
    CHECK((id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b'));
    CHECK(id.substr(0, 13) >= previous.substr(0, std::min<std::size_t>(13, previous.size())));
    previous = id;
    ids.insert(id);
  }
  CHECK(ids.size() == 1000);
}

TEST_CASE("bodies parse by format; the error names the problem") {
  CHECK(parse_resource(R"({"resourceType":"Patient"})", Format::kJson).ok());
  CHECK(parse_resource(R"([1])", Format::kJson).error().kind == ErrorKind::kInvalid);
  CHECK(parse_resource(R"(<Patient xmlns="http://hl7.org/fhir"/>)", Format::kXml).ok());
  CHECK_FALSE(parse_resource("<Patient", Format::kXml).ok());
}

TEST_CASE("structure problems are listed with the first path as location") {
  auto r = parse_json(R"({"resourceType":"Patient","birthDate":"1990-02-30","active":"yes"})");
  auto s = check_structure(r->as_object());
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().location.find("Patient.") == 0);
  CHECK(s.error().message.find("birthDate") != std::string::npos);
  CHECK(s.error().message.find("active") != std::string::npos);
}

TEST_CASE("stored JSON is sent as is, and converted for XML") {
  storage::StoredVersion v;
  v.json = R"({"resourceType":"Patient","id":"a","birthDate":"2000-01-01"})";
  CHECK(render_stored(v, Format::kJson, false) == v.json);
  CHECK(render_stored(v, Format::kXml, false).find("<birthDate value=\"2000-01-01\"/>") !=
        std::string::npos);
  CHECK(render_stored(v, Format::kJson, true).find("\n") != std::string::npos);
}

TEST_CASE("parse_checked_resource: what every write accepts, with the first problem named") {
  auto ok = parse_checked_resource(R"({"resourceType":"Patient","gender":"female"})", Format::kJson,
                                   "Patient");
  REQUIRE(ok.ok());
  CHECK(ok->at("gender").as_string() == "female");
  CHECK(parse_checked_resource(R"({"resourceType":"Patient"})", Format::kJson, "").ok());

  auto syntax = parse_checked_resource(R"({"resourceType":)", Format::kJson, "");
  REQUIRE_FALSE(syntax.ok());
  CHECK(syntax.error().kind == ErrorKind::kInvalid);
  auto no_type = parse_checked_resource(R"({"id":"1"})", Format::kJson, "");
  REQUIRE_FALSE(no_type.ok());
  CHECK(no_type.error().location == "resourceType");
  auto other =
      parse_checked_resource(R"({"resourceType":"Patient"})", Format::kJson, "Observation");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message.find("Observation") != std::string::npos);
  auto invalid =
      parse_checked_resource(R"({"resourceType":"Patient","gender":17})", Format::kJson, "");
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().message.find("gender") != std::string::npos);
}
