#include "gateway/router.hpp"

#include <doctest/doctest.h>

#include "../fhir/rest/temp_store.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {
struct Fixture {
  testing::TempStore store;
  fhir::FhirApi api{*store, {}};
  std::string token = generate_token();
  StaticTokenVerifier tokens{{sha256_hex(token)}};
  GatewayRouter router{api, tokens, {}};

  http::Response call(std::string method, std::string target, bool with_token) {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers.emplace_back("Host", "gw.test:8080");
    if (with_token) r.headers.emplace_back("Authorization", "Bearer " + token);
    return router.handle(r);
  }
};
}  // namespace

TEST_CASE("only /health, /fhir/metadata and the OAuth discovery and token routes are open") {
  Fixture f;
  CHECK(f.call("GET", "/health", false).status == 200);
  CHECK(f.call("GET", "/fhir/metadata", false).status == 200);
  for (auto [method, target] :
       std::initializer_list<std::pair<const char*, const char*>>{{"GET", "/fhir/Patient"},
                                                                  {"GET", "/fhir/Patient/1"},
                                                                  {"POST", "/fhir/Patient"},
                                                                  {"PUT", "/fhir/Patient/1"},
                                                                  {"DELETE", "/fhir/Patient/1"},
                                                                  {"GET", "/fhir/_history"},
                                                                  {"POST", "/fhir"},
                                                                  {"GET", "/nowhere"},
                                                                  {"POST", "/fhir/metadata"},
                                                                  {"GET", "/fhir/metadata/x"}}) {
    CAPTURE(method);
    CAPTURE(target);
    auto r = f.call(method, target, false);
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate").starts_with("Bearer"));
  }
  CHECK(f.router.unauthorized_count() == 10);
  // The OAuth routes skip the token check (the token endpoint authenticates its callers);
  // only those methods.
  CHECK(GatewayRouter::is_open_route("POST", "/auth/token"));
  CHECK(GatewayRouter::is_open_route("POST", "/auth/revoke"));
  CHECK(GatewayRouter::is_open_route("GET", "/.well-known/jwks.json"));
  CHECK(GatewayRouter::is_open_route("GET", "/.well-known/smart-configuration"));
  CHECK_FALSE(GatewayRouter::is_open_route("GET", "/auth/token"));
  CHECK_FALSE(GatewayRouter::is_open_route("POST", "/.well-known/jwks.json"));
  CHECK_FALSE(GatewayRouter::is_open_route("GET", "/.well-known/other"));
}

TEST_CASE("with a token, FHIR routes work and unknown paths are 404") {
  Fixture f;
  CHECK(f.call("GET", "/fhir/Patient", true).status == 200);
  CHECK(f.call("GET", "/nowhere", true).status == 404);
}

TEST_CASE("every response carries the security headers") {
  Fixture f;
  auto r = f.call("GET", "/fhir/metadata", false);
  CHECK(r.header("X-Content-Type-Options") == "nosniff");
  CHECK(r.header("Cache-Control") == "no-store");
  auto body = f.call("GET", "/fhir/metadata", false).body;
  CHECK(body.find("http://gw.test:8080/fhir") != std::string::npos);  // base from Host
}

TEST_CASE("errors found by the HTTP server itself become OperationOutcomes") {
  auto r = GatewayRouter::protocol_error(413, "Payload Too Large");
  CHECK(r.status == 413);
  CHECK(r.header("Content-Type").starts_with("application/fhir+json"));
  CHECK(r.body.find("\"too-costly\"") != std::string::npos);
  CHECK(GatewayRouter::protocol_error(431, "x").status == 431);
  CHECK(GatewayRouter::protocol_error(400, "x").body.find("\"invalid\"") != std::string::npos);
}
