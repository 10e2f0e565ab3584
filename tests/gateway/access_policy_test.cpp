#include "gateway/security/access_policy.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::gateway;

namespace {

using I = FhirInteraction;

GrantedScopes scopes(std::string_view text, std::string patient = {}) {
  auto parsed = parse_scopes(text);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->rejected.empty());
  parsed->granted.patient = std::move(patient);
  return parsed->granted;
}

AccessRequest on(I interaction, std::string type) {
  AccessRequest r;
  r.interaction = interaction;
  r.resource_type = std::move(type);
  return r;
}

AccessRequest operation(std::string name, std::string type) {
  auto r = on(I::kOperation, std::move(type));
  r.operation = std::move(name);
  return r;
}

}  // namespace

TEST_CASE("each interaction needs its permission letter") {
  struct Row {
    I interaction;
    std::string_view enough;
    std::string_view not_enough;
  };
  const Row rows[] = {
      {I::kRead, "r", "cuds"},      {I::kVread, "r", "cuds"},
      {I::kSearch, "s", "crud"},    {I::kCreate, "c", "ruds"},
      {I::kUpdate, "u", "crds"},    {I::kPatch, "u", "crds"},
      {I::kDelete, "d", "crus"},    {I::kHistoryInstance, "rs", "cud"},
      {I::kHistoryType, "rs", "r"}, {I::kHistoryType, "rs", "s"},
  };
  for (const auto& row : rows) {
    CAPTURE(static_cast<int>(row.interaction));
    auto yes = scopes("user/Observation." + std::string(row.enough));
    auto no = scopes("user/Observation." + std::string(row.not_enough));
    CHECK(decide(yes, on(row.interaction, "Observation")).unconditional());
    auto d = decide(no, on(row.interaction, "Observation"));
    CHECK_FALSE(d.allowed);
    CHECK_FALSE(d.reason.empty());
  }
}

TEST_CASE("a scope on one type does not cover another; * covers every type") {
  CHECK_FALSE(decide(scopes("system/Patient.cruds"), on(I::kRead, "Observation")).allowed);
  CHECK(decide(scopes("system/*.r"), on(I::kRead, "Observation")).unconditional());
}

TEST_CASE("conditional writes also need search") {
  auto r = on(I::kUpdate, "Patient");
  r.conditional = true;
  CHECK_FALSE(decide(scopes("user/Patient.u"), r).allowed);
  CHECK(decide(scopes("user/Patient.us"), r).allowed);
  r.interaction = I::kCreate;
  CHECK_FALSE(decide(scopes("user/Patient.c"), r).allowed);
  CHECK(decide(scopes("user/Patient.c user/Patient.s"), r).allowed);
}

TEST_CASE("permissions from separate scopes add up") {
  auto g = scopes("user/Observation.r user/Observation.s");
  CHECK(decide(g, on(I::kHistoryInstance, "Observation")).unconditional());
}

TEST_CASE("patient/ scopes confine access to the token's patient") {
  auto d = decide(scopes("patient/*.rs", "p1"), on(I::kSearch, "Observation"));
  REQUIRE(d.allowed);
  REQUIRE(d.any_of.size() == 1);
  CHECK(d.any_of[0].patient == "p1");
  CHECK(d.any_of[0].match.empty());
}

TEST_CASE("patient/ scopes without a patient context grant nothing") {
  auto d = decide(scopes("patient/*.rs"), on(I::kRead, "Observation"));
  CHECK_FALSE(d.allowed);
  CHECK(d.reason.find("patient context") != std::string::npos);
}

TEST_CASE("a user/ or system/ scope lifts the patient confinement") {
  auto d = decide(scopes("patient/*.rs user/Observation.r", "p1"), on(I::kRead, "Observation"));
  CHECK(d.unconditional());
  d = decide(scopes("patient/*.rs user/Observation.r", "p1"), on(I::kRead, "Condition"));
  CHECK(d.any_of.size() == 1);
}

TEST_CASE("a granular scope hands its parameters to the caller") {
  auto g = scopes("user/Observation.rs?category=laboratory");
  auto d = decide(g, on(I::kSearch, "Observation"));
  REQUIRE(d.allowed);
  REQUIRE(d.any_of.size() == 1);
  CHECK(d.any_of[0].patient.empty());
  CHECK(d.any_of[0].match == std::vector<ScopeParam>{{"category", "laboratory"}});
  CHECK_FALSE(decide(g, on(I::kSearch, "Condition")).allowed);
}

TEST_CASE("two granular scopes are alternatives; a whole-type scope makes them moot") {
  auto g = scopes(
      "patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs",
      "p1");
  auto d = decide(g, on(I::kRead, "Observation"));
  REQUIRE(d.any_of.size() == 2);
  CHECK(d.any_of[0].patient == "p1");
  CHECK(d.any_of[0].match[0].value == "laboratory");
  CHECK(d.any_of[1].match[0].value == "vital-signs");

  g = scopes("patient/Observation.rs?category=laboratory patient/Observation.rs", "p1");
  d = decide(g, on(I::kRead, "Observation"));
  REQUIRE(d.any_of.size() == 1);
  CHECK(d.any_of[0].match.empty());
}

TEST_CASE("needing two permissions from granular scopes ANDs their conditions") {
  auto g = scopes("user/Observation.r?category=laboratory user/Observation.s?status=final");
  auto d = decide(g, on(I::kHistoryType, "Observation"));
  REQUIRE(d.any_of.size() == 1);
  CHECK(d.any_of[0].match ==
        std::vector<ScopeParam>{{"category", "laboratory"}, {"status", "final"}});
}

TEST_CASE("a system-level search needs search on every type, or on each _type") {
  auto g = scopes("user/Patient.s user/Observation.s");
  CHECK_FALSE(decide(g, on(I::kSearch, "")).allowed);
  auto r = on(I::kSearch, "");
  r.query = {{"_type", "Patient,Observation"}};
  CHECK(decide(g, r).unconditional());
  r.query = {{"_type", "Patient"}, {"_type", "Condition"}};
  CHECK_FALSE(decide(g, r).allowed);
  CHECK(decide(scopes("system/*.s"), on(I::kSearch, "")).unconditional());
}

TEST_CASE("system history needs read and search on every type") {
  CHECK_FALSE(decide(scopes("user/Patient.rs"), on(I::kHistorySystem, "")).allowed);
  CHECK(decide(scopes("user/*.rs"), on(I::kHistorySystem, "")).unconditional());
}

TEST_CASE("$everything needs read and search on every type") {
  auto req = operation("everything", "Patient");
  CHECK_FALSE(decide(scopes("user/Patient.rs user/Observation.rs"), req).allowed);
  CHECK_FALSE(decide(scopes("user/*.r"), req).allowed);
  CHECK(decide(scopes("user/*.rs"), req).unconditional());
  auto d = decide(scopes("patient/*.rs", "p1"), req);
  REQUIRE(d.any_of.size() == 1);
  CHECK(d.any_of[0].patient == "p1");
}

TEST_CASE("known operations follow the table; unknown ones are denied") {
  CHECK(decide(scopes("user/ValueSet.r"), operation("expand", "ValueSet")).allowed);
  CHECK_FALSE(decide(scopes("user/ValueSet.s"), operation("expand", "ValueSet")).allowed);
  CHECK(decide(scopes("user/Patient.u"), operation("meta-add", "Patient")).allowed);
  CHECK_FALSE(decide(scopes("user/Patient.r"), operation("meta-add", "Patient")).allowed);
  CHECK_FALSE(decide(scopes("user/Patient.r"), operation("meta", "")).allowed);
  CHECK(decide(scopes("user/*.r"), operation("meta", "")).allowed);
  auto d = decide(scopes("user/*.cruds"), operation("purge", "Patient"));
  CHECK_FALSE(d.allowed);
  CHECK(d.reason.find("$purge") != std::string::npos);
}

TEST_CASE("metadata needs no scope; a typed interaction without a type is denied") {
  CHECK(decide(GrantedScopes{}, on(I::kCapabilities, "")).unconditional());
  CHECK_FALSE(decide(scopes("user/*.cruds"), on(I::kRead, "")).allowed);
}

TEST_CASE("a default RoutePolicy is no policy and refuses everything") {
  RoutePolicy none;
  CHECK_FALSE(none.is_set());
  CHECK(none.needs_token());
  Role admin[] = {Role::kAdmin};
  auto d = check_route(none, scopes("user/*.cruds gateway.admin"), admin);
  CHECK_FALSE(d.allowed);
  CHECK(d.reason == "the route has no access policy");
}

TEST_CASE("route policies: public, authenticated, scope or role, FHIR") {
  GrantedScopes empty;
  CHECK_FALSE(RoutePolicy::public_route().needs_token());
  CHECK(check_route(RoutePolicy::public_route(), empty, {}).allowed);
  CHECK(check_route(RoutePolicy::authenticated(), empty, {}).allowed);

  auto admin_route = RoutePolicy::granted("gateway.admin", {Role::kAdmin});
  Role admin[] = {Role::kAdmin};
  Role clinician[] = {Role::kClinician};
  CHECK(check_route(admin_route, empty, admin).allowed);
  CHECK(check_route(admin_route, scopes("gateway.admin"), clinician).allowed);
  CHECK_FALSE(check_route(admin_route, scopes("gateway.admins user/*.cruds"), clinician).allowed);
  auto roles_only = RoutePolicy::granted("", {Role::kPeer});
  CHECK_FALSE(check_route(roles_only, scopes("gateway.admin"), admin).allowed);

  CHECK(check_route(RoutePolicy::fhir(), scopes("patient/Patient.r"), {}).allowed);
  CHECK_FALSE(check_route(RoutePolicy::fhir(), scopes("openid fhirUser"), {}).allowed);
}

TEST_CASE("role names round-trip") {
  for (Role role : {Role::kAdmin, Role::kClinician, Role::kDevice, Role::kPeer})
    CHECK(parse_role(role_name(role)) == role);
  CHECK_FALSE(parse_role("root"));
}
