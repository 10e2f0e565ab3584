#include "gateway/security/token_request.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::gateway;

namespace {

constexpr std::string_view kAssertionType =
    "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

// Checks the error's kind, OAuth code and parameter.
void check_error(const Result<TokenRequest>& r, std::string_view code,
                 std::string_view parameter = {}) {
  REQUIRE_FALSE(r.ok());
  CHECK(oauth_error_code(r.error()) == code);
  if (!parameter.empty()) CHECK(r.error().location == parameter);
}

}  // namespace

TEST_CASE("a password grant with '+' and escapes decodes its fields") {
  auto r = parse_token_request(
      "grant_type=password&username=nurse%40clinic&password=p%26ss+word&client_id=tablet"
      "&scope=openid+user%2F*.rs");
  REQUIRE(r.ok());
  CHECK(r->grant_type == GrantType::kPassword);
  CHECK(r->username == "nurse@clinic");
  CHECK(r->password == "p&ss word");
  CHECK(r->client_id == "tablet");
  CHECK(r->scope == "openid user/*.rs");
  CHECK_FALSE(r->basic_auth);
}

TEST_CASE("a password grant without username or password is invalid_request") {
  check_error(parse_token_request("grant_type=password&password=x"), "invalid_request", "username");
  check_error(parse_token_request("grant_type=password&username=a&password="), "invalid_request",
              "password");
}

TEST_CASE("client_credentials with a secret or a jwt-bearer assertion") {
  auto secret = parse_token_request("grant_type=client_credentials&client_id=lab&client_secret=s3");
  REQUIRE(secret.ok());
  CHECK(secret->grant_type == GrantType::kClientCredentials);
  CHECK(secret->client_secret == "s3");

  auto jwt = parse_token_request(
      "grant_type=client_credentials&scope=system%2F*.rs"
      "&client_assertion_type=" +
      std::string(kAssertionType) + "&client_assertion=aaa.bbb.ccc");
  REQUIRE(jwt.ok());
  CHECK(jwt->client_assertion_type == kJwtBearerAssertionType);
  CHECK(jwt->client_assertion == "aaa.bbb.ccc");
  CHECK(jwt->scope == "system/*.rs");
}

TEST_CASE("client_credentials without client authentication is invalid_client") {
  check_error(parse_token_request("grant_type=client_credentials&client_id=lab"), "invalid_client");
}

TEST_CASE("an assertion needs the jwt-bearer type and no second method") {
  check_error(parse_token_request("grant_type=client_credentials&client_assertion=a.b.c"),
              "invalid_request", "client_assertion_type");
  check_error(parse_token_request("grant_type=client_credentials&client_assertion_type=" +
                                  std::string(kAssertionType)),
              "invalid_request", "client_assertion");
  check_error(parse_token_request("grant_type=client_credentials&client_assertion=a.b.c"
                                  "&client_assertion_type=urn%3Aother"),
              "invalid_request", "client_assertion_type");
  check_error(parse_token_request("grant_type=client_credentials&client_id=x&client_secret=y"
                                  "&client_assertion=a.b.c&client_assertion_type=" +
                                  std::string(kAssertionType)),
              "invalid_request");
  check_error(parse_token_request("grant_type=client_credentials&client_secret=y"),
              "invalid_request", "client_id");
}

TEST_CASE("a refresh_token grant needs the token") {
  auto r = parse_token_request("grant_type=refresh_token&refresh_token=abc&scope=openid");
  REQUIRE(r.ok());
  CHECK(r->refresh_token == "abc");
  check_error(parse_token_request("grant_type=refresh_token"), "invalid_request", "refresh_token");
}

TEST_CASE("grant_type missing is invalid_request, unknown is unsupported_grant_type") {
  check_error(parse_token_request("username=a&password=b"), "invalid_request", "grant_type");
  check_error(parse_token_request(""), "invalid_request", "grant_type");
  check_error(parse_token_request("grant_type=authorization_code&code=x"), "unsupported_grant_type",
              "grant_type");
  check_error(parse_token_request("grant_type=Password&username=a&password=b"),
              "unsupported_grant_type");
}

TEST_CASE("a repeated parameter is refused, even an unknown or empty one") {
  check_error(parse_token_request("grant_type=password&username=a&password=b&username=c"),
              "invalid_request", "username");
  check_error(parse_token_request("grant_type=password&username=a&password=b&x=1&x=2"),
              "invalid_request", "x");
  check_error(parse_token_request("grant_type=password&grant_type=password&username=a&"
                                  "password=b"),
              "invalid_request", "grant_type");
}

TEST_CASE("unknown parameters and empty pairs are ignored") {
  auto r = parse_token_request("&grant_type=password&&username=a&password=b&aud=x&flag&");
  REQUIRE(r.ok());
  CHECK(r->username == "a");
}

TEST_CASE("malformed encoding, nameless pairs and control characters are invalid_request") {
  check_error(parse_token_request("grant_type=password&username=a%2&password=b"),
              "invalid_request");
  check_error(parse_token_request("grant_type=password&=a&username=a&password=b"),
              "invalid_request");
  check_error(parse_token_request("grant_type=password&username=a%00b&password=b"),
              "invalid_request", "username");
  check_error(parse_token_request("grant_type=password&username=a&password=b%0A"),
              "invalid_request", "password");
}

TEST_CASE("a body or parameter count over the limits is refused") {
  std::string big =
      "grant_type=password&username=a&password=" + std::string(kMaxTokenRequestBytes, 'x');
  auto r = parse_token_request(big);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kTooLarge);
  CHECK(oauth_error_code(r.error()) == "invalid_request");

  std::string many = "grant_type=password&username=a&password=b";
  for (std::size_t i = 0; i < kMaxTokenRequestParams; ++i) many += "&p" + std::to_string(i);
  CHECK(parse_token_request(many).error().kind == ErrorKind::kTooLarge);
}

TEST_CASE("error messages never echo a secret") {
  auto r = parse_token_request("grant_type=password&username=a&password=hunter2&password=x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("hunter2") == std::string::npos);
}

TEST_CASE("HTTP Basic client authentication decodes the form-encoded id and secret") {
  // base64("my%20app:s%3Acr+t")
  auto c = parse_basic_client_auth("Basic bXklMjBhcHA6cyUzQWNyK3Q=");
  REQUIRE(c.ok());
  CHECK(c->client_id == "my app");
  CHECK(c->client_secret == "s:cr t");
  CHECK(parse_basic_client_auth("basic bGFiOnMz")->client_id == "lab");  // "lab:s3"
}

TEST_CASE("malformed Basic credentials are invalid_client") {
  for (std::string_view bad : {"Bearer bGFiOnMz", "Basic", "Basic ", "Basic bGFiOnMz!",
                               "Basic bGFiOnM", "Basic bGFi",  // "lab": no ':'
                               "Basic OnMz",                   // ":s3": empty id
                               "Basic bGFiOnMz====", "Basic bG=iOnMz"}) {
    CAPTURE(bad);
    auto c = parse_basic_client_auth(bad);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().kind == ErrorKind::kUnauthorized);
  }
}

TEST_CASE("Basic authentication fills the client of the request") {
  auto r =
      parse_token_request("grant_type=client_credentials&scope=system%2F*.rs", "Basic bGFiOnMz");
  REQUIRE(r.ok());
  CHECK(r->client_id == "lab");
  CHECK(r->client_secret == "s3");
  CHECK(r->basic_auth);
  CHECK(parse_token_request("grant_type=client_credentials&client_id=lab", "Basic bGFiOnMz").ok());
}

TEST_CASE("Basic authentication must be the only client authentication method") {
  check_error(
      parse_token_request("grant_type=client_credentials&client_secret=s3", "Basic bGFiOnMz"),
      "invalid_request");
  check_error(
      parse_token_request("grant_type=client_credentials&client_id=other", "Basic bGFiOnMz"),
      "invalid_request", "client_id");
  check_error(parse_token_request("grant_type=client_credentials", "Basic !!"), "invalid_client");
}

TEST_CASE("revocation requests: token required, the hint kept, other parameters ignored") {
  auto r = parse_revocation_request("token=abc%2Bdef&token_type_hint=refresh_token&client_id=x");
  REQUIRE(r.ok());
  CHECK(r->token == "abc+def");
  CHECK(r->token_type_hint == "refresh_token");
  CHECK_FALSE(parse_revocation_request("token_type_hint=access_token").ok());
  CHECK_FALSE(parse_revocation_request("token=a&token=b").ok());  // repeated: invalid_request
  CHECK(oauth_error_code(parse_revocation_request("").error()) == "invalid_request");
}
