#include "gateway/security/scopes.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::gateway;

namespace {

ParsedScopes parse(std::string_view s) {
  auto parsed = parse_scopes(s);
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

}  // namespace

TEST_CASE("v2 clinical scopes keep context, type and permissions") {
  auto p = parse("patient/Observation.rs user/*.cruds system/Patient.c");
  CHECK(p.rejected.empty());
  REQUIRE(p.granted.resources.size() == 3);
  const auto& obs = p.granted.resources[0];
  CHECK(obs.context == ScopeContext::kPatient);
  CHECK(obs.resource_type == "Observation");
  CHECK(obs.permissions.has(Permission::kRead));
  CHECK(obs.permissions.has(Permission::kSearch));
  CHECK_FALSE(obs.permissions.has(Permission::kCreate));
  CHECK(p.granted.resources[1].context == ScopeContext::kUser);
  CHECK(p.granted.resources[1].resource_type == "*");
  CHECK(p.granted.resources[1].permissions.to_string() == "cruds");
  CHECK(p.granted.resources[2].context == ScopeContext::kSystem);
  CHECK(p.granted.resources[2].permissions.to_string() == "c");
}

TEST_CASE("v1 read, write and * map to their v2 permissions") {
  auto p = parse("patient/Patient.read user/Observation.write system/*.*");
  REQUIRE(p.granted.resources.size() == 3);
  CHECK(p.granted.resources[0].permissions.to_string() == "rs");
  CHECK(p.granted.resources[1].permissions.to_string() == "cud");
  CHECK(p.granted.resources[2].permissions.to_string() == "cruds");
  CHECK(format_scope(p.granted.resources[0]) == "patient/Patient.rs");
}

TEST_CASE("permissions out of cruds order, repeated or unknown are rejected, not widened") {
  auto p = parse(
      "patient/Observation.sr patient/Observation.rr patient/Observation.x "
      "patient/Observation. patient/Observation user/Observation.rs");
  CHECK(p.rejected.size() == 5);
  REQUIRE(p.granted.resources.size() == 1);
  CHECK(format_scope(p.granted.resources[0]) == "user/Observation.rs");
  CHECK(p.rejected[0].scope == "patient/Observation.sr");
  CHECK_FALSE(p.rejected[0].reason.empty());
}

TEST_CASE("an unknown resource type is rejected") {
  auto p = parse("patient/Observaton.rs patient/observation.r");
  CHECK(p.rejected.size() == 2);
  CHECK(p.granted.resources.empty());
}

TEST_CASE("a granular scope keeps its parameters, percent-decoded") {
  auto p = parse(
      "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
      "observation-category|laboratory "
      "user/Condition.r?category=problem-list-item&clinical-status=active "
      "user/Observation.s?code=a%20b");
  CHECK(p.rejected.empty());
  REQUIRE(p.granted.resources.size() == 3);
  const auto& lab = p.granted.resources[0].restriction;
  REQUIRE(lab.size() == 1);
  CHECK(lab[0].name == "category");
  CHECK(lab[0].value == "http://terminology.hl7.org/CodeSystem/observation-category|laboratory");
  CHECK(p.granted.resources[1].restriction.size() == 2);
  CHECK(p.granted.resources[2].restriction[0].value == "a b");
  CHECK(format_scope(p.granted.resources[2]) == "user/Observation.s?code=a%20b");
}

TEST_CASE("a malformed granular restriction rejects the whole scope") {
  auto p = parse(
      "patient/Observation.rs? patient/Observation.rs?category "
      "patient/Observation.rs?=x patient/Observation.rs?a=1& "
      "patient/Observation.rs?a=%zz patient/Observation.rs?a=");
  CHECK(p.rejected.size() == 6);
  CHECK(p.granted.resources.empty());
}

TEST_CASE("identity, launch and lifetime scopes are flags; others stay opaque") {
  auto p = parse(
      "openid fhirUser profile launch launch/patient offline_access online_access "
      "launch/encounter gateway.admin");
  const auto& g = p.granted;
  CHECK(g.openid);
  CHECK(g.fhir_user);
  CHECK(g.profile);
  CHECK(g.launch);
  CHECK(g.launch_patient);
  CHECK(g.offline_access);
  CHECK(g.online_access);
  CHECK(g.opaque == std::vector<std::string>{"launch/encounter", "gateway.admin"});
  CHECK(g.has_opaque("gateway.admin"));
  CHECK_FALSE(g.has_opaque("gateway"));
  CHECK(p.rejected.empty());
}

TEST_CASE("a scope with characters outside RFC 6749 scope-token is rejected") {
  auto p = parse("ok \"quoted\" back\\slash caf\xc3\xa9 tab\x01");
  CHECK(p.granted.opaque == std::vector<std::string>{"ok"});
  CHECK(p.rejected.size() == 4);
}

TEST_CASE("repeated spaces are tolerated and duplicates count once") {
  auto p = parse("  openid   patient/Patient.r patient/Patient.r x x  ");
  CHECK(p.granted.resources.size() == 1);
  CHECK(p.granted.opaque.size() == 1);
  CHECK(parse("").granted == GrantedScopes{});
}

TEST_CASE("a scope string over the limits fails as a whole") {
  CHECK(parse_scopes(std::string(kMaxScopeStringBytes + 1, 'a')).error().kind ==
        ErrorKind::kTooLarge);
  std::string many;
  for (std::size_t i = 0; i <= kMaxScopeCount; ++i) many += "s" + std::to_string(i) + " ";
  CHECK(parse_scopes(many).error().kind == ErrorKind::kTooLarge);
}

TEST_CASE("format_scopes gives back what parses to the same grant") {
  auto p = parse(
      "offline_access patient/Observation.read?category=a%26b%3Dc "
      "openid user/*.cruds custom");
  auto text = format_scopes(p.granted);
  CHECK(text ==
        "openid offline_access patient/Observation.rs?category=a%26b%3Dc user/*.cruds custom");
  CHECK(parse(text).granted == p.granted);
}
