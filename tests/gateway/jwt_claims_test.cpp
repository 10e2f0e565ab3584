#include "gateway/security/jwt_claims.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

using namespace cg;
using namespace cg::gateway;
using std::chrono::seconds;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

ClaimChecks at_now() {
  ClaimChecks checks;
  checks.now = std::chrono::sys_seconds(seconds(kNow));
  checks.leeway = seconds(30);
  return checks;
}

boost::json::object claims(std::string_view json) {
  return boost::json::parse(json).as_object();
}

std::string refusal(const boost::json::object& payload, const ClaimChecks& checks) {
  auto status = validate_claims(payload, checks);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::kUnauthorized);
  return status.error().message;
}

boost::json::object expiring_at(std::int64_t exp) {
  return {{"exp", exp}};
}

}  // namespace

TEST_CASE("a token is valid until exp, give or take the leeway") {
  CHECK(validate_claims(expiring_at(kNow + 300), at_now()).ok());
  CHECK(validate_claims(expiring_at(kNow - 29), at_now()).ok());  // within 30 s of skew
  CHECK(refusal(expiring_at(kNow - 30), at_now()).find("expired") != std::string::npos);
  CHECK(refusal(expiring_at(kNow - 3600), at_now()).find("expired") != std::string::npos);
  ClaimChecks strict = at_now();
  strict.leeway = seconds(0);
  CHECK(refusal(expiring_at(kNow), strict).find("expired") != std::string::npos);
  CHECK(validate_claims(expiring_at(kNow + 1), strict).ok());
}

TEST_CASE("exp is required and must be a NumericDate") {
  CHECK(refusal(claims(R"({"sub":"a"})"), at_now()).find("no exp") != std::string::npos);
  for (std::string_view bad :
       {R"({"exp":"1700000300"})", R"({"exp":null})", R"({"exp":-5})", R"({"exp":1e300})",
        R"({"exp":[1700000300]})", R"({"exp":true})", R"({"exp":18446744073709551615})"}) {
    CAPTURE(bad);
    CHECK(refusal(claims(bad), at_now()).find("NumericDate") != std::string::npos);
  }
  CHECK(validate_claims(claims(R"({"exp":1700000300.75})"), at_now()).ok());  // fractional
}

TEST_CASE("nbf and iat in the future beyond the leeway make a token not yet valid") {
  const std::int64_t exp = kNow + 300;
  CHECK(validate_claims({{"exp", exp}, {"nbf", kNow + 30}, {"iat", kNow + 30}}, at_now()).ok());
  CHECK(refusal({{"exp", exp}, {"nbf", kNow + 31}}, at_now()).find("nbf") != std::string::npos);
  CHECK(refusal({{"exp", exp}, {"iat", kNow + 31}}, at_now()).find("iat") != std::string::npos);
  CHECK(refusal({{"exp", exp}, {"nbf", "soon"}}, at_now()).find("nbf") != std::string::npos);
  CHECK(validate_claims({{"exp", exp}, {"nbf", kNow - 1000}, {"iat", kNow - 1000}}, at_now()).ok());
}

TEST_CASE("max_lifetime bounds how far ahead exp may be (SMART client assertions)") {
  ClaimChecks checks = at_now();
  checks.max_lifetime = seconds(300);
  CHECK(validate_claims(expiring_at(kNow + 300), checks).ok());
  CHECK(validate_claims(expiring_at(kNow + 330), checks).ok());  // the leeway again
  CHECK(refusal(expiring_at(kNow + 331), checks).find("further ahead") != std::string::npos);
  CHECK(refusal(expiring_at(std::int64_t{1} << 52), checks).find("exp") != std::string::npos);
}

TEST_CASE("issuer, subject and jti are checked only when asked, and exactly") {
  auto payload = claims(R"({"exp":1700000300,"iss":"client-7","sub":"client-7","jti":"j-1"})");
  ClaimChecks checks = at_now();
  CHECK(validate_claims(payload, checks).ok());
  checks.issuer = "client-7";
  checks.subject = "client-7";
  checks.require_jti = true;
  CHECK(validate_claims(payload, checks).ok());

  checks.issuer = "Client-7";
  CHECK(refusal(payload, checks).find("iss") != std::string::npos);
  checks.issuer = "client-7";
  checks.subject = "client-8";
  CHECK(refusal(payload, checks).find("sub") != std::string::npos);
  checks.subject.reset();
  CHECK(refusal(claims(R"({"exp":1700000300,"iss":"client-7"})"), checks).find("jti") !=
        std::string::npos);
  CHECK(refusal(claims(R"({"exp":1700000300,"iss":"client-7","jti":""})"), checks).find("jti") !=
        std::string::npos);
  CHECK(refusal(claims(R"({"exp":1700000300,"iss":7,"jti":"j"})"), checks).find("iss") !=
        std::string::npos);
}

TEST_CASE("aud may be a string or an array that names the expected audience") {
  ClaimChecks checks = at_now();
  checks.audience = "https://gw.example/auth/token";
  CHECK(
      validate_claims(claims(R"({"exp":1700000300,"aud":"https://gw.example/auth/token"})"), checks)
          .ok());
  CHECK(
      validate_claims(
          claims(R"({"exp":1700000300,"aud":["other",3,"https://gw.example/auth/token"]})"), checks)
          .ok());
  for (std::string_view bad :
       {R"({"exp":1700000300})", R"({"exp":1700000300,"aud":"https://gw.example/auth"})",
        R"({"exp":1700000300,"aud":["other"]})", R"({"exp":1700000300,"aud":[]})",
        R"({"exp":1700000300,"aud":{"0":"https://gw.example/auth/token"}})"}) {
    CAPTURE(bad);
    CHECK(refusal(claims(bad), checks).find("aud") != std::string::npos);
  }
}

TEST_CASE("a refusal never echoes the claim's value") {
  ClaimChecks checks = at_now();
  checks.issuer = "expected";
  auto message = refusal(claims(R"({"exp":1700000300,"iss":"secret-looking-value"})"), checks);
  CHECK(message.find("secret-looking-value") == std::string::npos);
}
