#include "gateway/config.hpp"

#include <doctest/doctest.h>

using namespace cg::gateway;

namespace {
bool has_problem(const ConfigLoad& load, std::string_view key, std::string_view words) {
  for (const auto& p : load.problems) {
    if (p.key == key && p.message.find(words) != std::string::npos) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("an empty file gives the documented defaults") {
  auto load = parse_config("", "/etc/clinic-gateway");
  CHECK(load.problems.empty());
  CHECK(load.config.http.port == 8080);
  CHECK(load.config.http.address == "127.0.0.1");
  CHECK(load.config.data_dir == "/var/lib/clinic-gateway");
}

TEST_CASE("values are read and relative paths resolve against the config's directory") {
  auto load = parse_config(R"(
    [node]
    data_dir = "data"
    [http]
    port = 0
    body_limit_bytes = 2048
    [http.tls]
    certificate = "tls/cert.pem"
    private_key = "/secure/key.pem"
    [auth]
    token_sha256 = ["0000000000000000000000000000000000000000000000000000000000000000"]
  )",
                           "/srv/gw");
  REQUIRE(load.problems.empty());
  CHECK(load.config.data_dir == "/srv/gw/data");
  CHECK(load.config.http.port == 0);
  CHECK(load.config.http.body_limit_bytes == 2048);
  CHECK(*load.config.http.tls_certificate == "/srv/gw/tls/cert.pem");
  CHECK(*load.config.http.tls_private_key == "/secure/key.pem");
  CHECK(load.config.auth.token_sha256.size() == 1);
}

TEST_CASE("every problem names its key") {
  auto load = parse_config(R"(
    [http]
    port = 70000
    prot = 1
    address = 5
    [http.tls]
    certificate = "c.pem"
    [log]
    level = "loud"
    [auth]
    token_sha256 = ["abc"]
    [extra]
  )",
                           "/x");
  CHECK(has_problem(load, "http.port", "between 0 and 65535"));
  CHECK(has_problem(load, "http.prot", "unknown setting"));
  CHECK(has_problem(load, "http.address", "must be a string"));
  CHECK(has_problem(load, "http.tls", "together"));
  CHECK(has_problem(load, "log.level", "one of"));
  CHECK(has_problem(load, "auth.token_sha256[0]", "64"));
  CHECK(has_problem(load, "extra", "unknown setting"));
}

TEST_CASE("TOML syntax errors give the line") {
  auto load = parse_config("[http\nport = 1", "/x");
  REQUIRE(load.problems.size() == 1);
  CHECK(load.problems[0].message.find("line 1") != std::string::npos);
}

TEST_CASE("an unreadable file is reported") {
  auto load = load_config("/nonexistent/gateway.toml");
  REQUIRE(load.problems.size() == 1);
  CHECK(load.problems[0].message.find("cannot read") != std::string::npos);
}
