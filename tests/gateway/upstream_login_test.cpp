#include "gateway/security/upstream_login.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include "gateway/security/jwt.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace std::chrono_literals;

namespace {

// An access token as a clinic-gateway writes it: only the payload matters here, so the
// signature is a placeholder (the upstream's signature is not checked: see the header).
std::string token_with(const boost::json::object& payload) {
  const std::string header = R"({"alg":"ES256","typ":"JWT","kid":"k"})";
  return base64url_encode(header) + "." + base64url_encode(boost::json::serialize(payload)) + "." +
         base64url_encode(std::string(64, 'x'));
}

http::FormAnswer ok_answer(const std::string& token) {
  return {200, "application/json",
          boost::json::serialize(boost::json::object{
              {"access_token", token}, {"token_type", "Bearer"}, {"expires_in", 300}})};
}

http::FormAnswer error_answer(int status, std::string_view error,
                              std::string_view description = "") {
  return {status, "application/json",
          boost::json::serialize(
              boost::json::object{{"error", error}, {"error_description", description}})};
}

UpstreamLoginConfig config() {
  UpstreamLoginConfig c;
  c.token_url = *http::parse_http_url("https://district.example/auth/token");
  c.scope = "openid";
  c.timeout = 1500ms;
  return c;
}

}  // namespace

TEST_CASE("200 with a token: accepted, with the roles of its claim that this gateway knows") {
  auto verdict = judge_token_answer(
      ok_answer(token_with(
          {{"sub", "Wanjiru"},
           {"roles", boost::json::array{"clinician", "district-lead", "admin", "clinician", 7}}})),
      "wanjiru");
  CHECK(verdict.kind == UpstreamVerdictKind::kAccepted);
  CHECK(verdict.roles == std::vector<std::string>{"clinician", "admin"});
}

TEST_CASE("a token that is not a JWT, or has no roles: accepted without roles") {
  auto opaque = judge_token_answer(ok_answer("2YotnFZFEjr1zCsicMWpAA"), "wanjiru");
  CHECK(opaque.kind == UpstreamVerdictKind::kAccepted);
  CHECK(opaque.roles.empty());
  auto roleless = judge_token_answer(ok_answer(token_with({{"sub", "wanjiru"}})), "wanjiru");
  CHECK(roleless.kind == UpstreamVerdictKind::kAccepted);
  CHECK(roleless.roles.empty());
}

TEST_CASE("a token for another user, or no token at all, is not an acceptance") {
  auto other = judge_token_answer(
      ok_answer(token_with({{"sub", "mallory"}, {"roles", boost::json::array{"admin"}}})),
      "wanjiru");
  CHECK(other.kind == UpstreamVerdictKind::kUnreachable);
  CHECK(judge_token_answer({200, "application/json", "{}"}, "w").kind ==
        UpstreamVerdictKind::kUnreachable);
  CHECK(judge_token_answer({200, "text/html", "<html>"}, "w").kind ==
        UpstreamVerdictKind::kUnreachable);
}

TEST_CASE("invalid_grant is a refusal, except the upstream's own lockout") {
  CHECK(judge_token_answer(error_answer(400, "invalid_grant", "invalid username or password"), "w")
            .kind == UpstreamVerdictKind::kRefused);
  CHECK(judge_token_answer(error_answer(401, "invalid_grant"), "w").kind ==
        UpstreamVerdictKind::kRefused);
  auto locked = judge_token_answer(
      error_answer(400, "invalid_grant", "too many failed logins; try again later"), "w");
  CHECK(locked.kind == UpstreamVerdictKind::kUnreachable);
}

TEST_CASE("server errors, other OAuth errors and odd statuses: unreachable, saying which") {
  auto down = judge_token_answer({503, "text/plain", "maintenance"}, "w");
  CHECK(down.kind == UpstreamVerdictKind::kUnreachable);
  CHECK(down.detail == "the upstream answered HTTP 503");
  auto client = judge_token_answer(error_answer(401, "invalid_client"), "w");
  CHECK(client.kind == UpstreamVerdictKind::kUnreachable);
  CHECK(client.detail.find("client credentials") != std::string::npos);
  auto scope = judge_token_answer(error_answer(400, "invalid_scope"), "w");
  CHECK(scope.detail == "the upstream answered HTTP 400 invalid_scope");
  CHECK(judge_token_answer({302, "", ""}, "w").kind == UpstreamVerdictKind::kUnreachable);
}

TEST_CASE("the password grant is posted with the configured scope, URL and limits") {
  http::FormPost sent;
  TokenEndpointLogin login(config(), [&](const http::FormPost& post) -> Result<http::FormAnswer> {
    sent = post;
    return ok_answer(token_with({{"sub", "wanjiru"}, {"roles", boost::json::array{"clinician"}}}));
  });
  auto verdict = login.check("wanjiru", "correct horse battery");
  CHECK(verdict.kind == UpstreamVerdictKind::kAccepted);
  CHECK(sent.url.host == "district.example");
  CHECK(sent.url.target == "/auth/token");
  CHECK(sent.timeout == 1500ms);
  CHECK(sent.authorization.empty());
  using Field = std::pair<std::string, std::string>;
  CHECK(sent.fields == std::vector<Field>{{"grant_type", "password"},
                                          {"username", "wanjiru"},
                                          {"password", "correct horse battery"},
                                          {"scope", "openid"}});
}

TEST_CASE("client credentials go in HTTP Basic, form-encoded; a client id alone in the body") {
  auto c = config();
  c.client_id = "clinic 7";
  c.client_secret = "s:cret";
  http::FormPost sent;
  auto capture = [&](const http::FormPost& post) -> Result<http::FormAnswer> {
    sent = post;
    return error_answer(400, "invalid_grant");
  };
  TokenEndpointLogin with_secret(c, capture);
  CHECK(with_secret.check("w", "p").kind == UpstreamVerdictKind::kRefused);
  // base64("clinic+7:s%3Acret")
  CHECK(sent.authorization == "Basic Y2xpbmljKzc6cyUzQWNyZXQ=");
  c.client_secret.clear();
  TokenEndpointLogin public_client(c, capture);
  (void)public_client.check("w", "p");
  CHECK(sent.authorization.empty());
  CHECK(sent.fields.back() == std::pair<std::string, std::string>{"client_id", "clinic 7"});
}

TEST_CASE("a transport failure is unreachable, with the client's reason") {
  TokenEndpointLogin login(config(), [](const http::FormPost&) -> Result<http::FormAnswer> {
    return Error::unavailable("https://district.example:443: no answer within 1500 ms");
  });
  auto verdict = login.check("w", "p");
  CHECK(verdict.kind == UpstreamVerdictKind::kUnreachable);
  CHECK(verdict.detail == "https://district.example:443: no answer within 1500 ms");
}
