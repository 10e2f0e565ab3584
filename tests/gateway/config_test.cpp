#include "gateway/config.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <set>

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
  CHECK(*load.config.http.tls.certificate == "/srv/gw/tls/cert.pem");
  CHECK(*load.config.http.tls.private_key == "/secure/key.pem");
  CHECK(load.config.auth.token_sha256.size() == 1);
}

TEST_CASE("http.tls.client_ca asks HTTPS clients for certificates, and needs the server's own") {
  auto load = parse_config(R"(
    [http.tls]
    certificate = "tls/gateway.crt"
    private_key = "tls/gateway.key"
    client_ca = "tls/clients-ca.crt"
  )",
                           "/etc/clinic-gateway");
  REQUIRE(load.problems.empty());
  CHECK(*load.config.http.tls.client_ca == "/etc/clinic-gateway/tls/clients-ca.crt");
  CHECK_FALSE(load.config.mllp.tls.client_ca);

  auto alone = parse_config(R"(
    [http.tls]
    client_ca = "tls/clients-ca.crt"
  )",
                            "/etc/clinic-gateway");
  REQUIRE(alone.problems.size() == 1);
  CHECK(describe(alone.problems[0]) ==
        "http.tls.client_ca: needs http.tls.certificate and private_key");
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

TEST_CASE("[[mllp.senders]] rules: application, facility, networks and certificate subjects") {
  auto load = parse_config(R"(
    [mllp]
    enabled = true
    [[mllp.senders]]
    application = "EMR"
    facility = "WARD"
    addresses = ["10.0.0.0/24", "fd00::/8"]
    [[mllp.senders]]
    application = "LAB"
    certificate_subjects = ["CN=lab-1,O=Clinic"]
  )",
                           "/x");
  CHECK(load.problems.empty());
  const auto& senders = load.config.mllp.senders;
  REQUIRE(senders.size() == 2);
  CHECK(senders[0].application == "EMR");
  CHECK(senders[0].networks.size() == 2);
  CHECK(senders[1].certificate_subjects == std::vector<std::string>{"CN=lab-1,O=Clinic"});
  const cg::hl7v2::SenderPolicy policy(senders);
  CHECK(policy.admits("EMR", "WARD", "10.0.0.9", ""));
  CHECK_FALSE(policy.admits("EMR", "WARD", "10.0.1.9", ""));

  auto bad = parse_config(R"(
    [[mllp.senders]]
    addresses = ["10.0.0.0/33"]
    colour = "blue"
  )",
                          "/x");
  CHECK(has_problem(bad, "mllp.senders[0].addresses", "prefix"));
  CHECK(has_problem(bad, "mllp.senders[0].colour", "unknown setting"));
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

TEST_CASE("the MLLP listener and HL7 settings: off by default, read and checked when given") {
  auto defaults = parse_config("", "/etc/clinic-gateway");
  CHECK_FALSE(defaults.config.mllp.enabled);
  CHECK(defaults.config.mllp.port == 2575);
  CHECK(defaults.config.hl7.application_name == "CLINIC-GATEWAY");
  auto load = parse_config(R"(
    [mllp]
    enabled = true
    address = "0.0.0.0"
    port = 0
    max_message_bytes = 65536
    idle_timeout_ms = 1000
    [mllp.tls]
    certificate = "tls/mllp.pem"
    private_key = "tls/mllp.key"
    client_ca = "tls/emr-ca.pem"
    [hl7]
    application_name = "KISUMU-GW"
    [hl7.identifier_systems]
    KISUMU = "http://kisumu.example/mrn"
  )",
                           "/srv/gw");
  REQUIRE(load.problems.empty());
  CHECK(load.config.mllp.enabled);
  CHECK(load.config.mllp.port == 0);
  CHECK(load.config.mllp.max_message_bytes == 65536);
  CHECK(load.config.mllp.idle_timeout == std::chrono::milliseconds(1000));
  CHECK(*load.config.mllp.tls.client_ca == "/srv/gw/tls/emr-ca.pem");
  CHECK(load.config.hl7.application_name == "KISUMU-GW");
  CHECK(load.config.hl7.identifier_systems.at("KISUMU") == "http://kisumu.example/mrn");

  auto bad = parse_config(R"(
    [mllp]
    enabled = "yes"
    [mllp.tls]
    client_ca = "ca.pem"
    [hl7]
    application_name = "A|B"
    [hl7.identifier_systems]
    X = "not a uri"
  )",
                          "/srv/gw");
  std::set<std::string> keys;
  for (const auto& p : bad.problems) keys.insert(p.key);
  CHECK(keys.count("mllp.enabled") == 1);
  CHECK(keys.count("mllp.tls.client_ca") == 1);
  CHECK(keys.count("hl7.application_name") == 1);
  CHECK(keys.count("hl7.identifier_systems.X") == 1);
}

TEST_CASE("the ATNA syslog receivers: off by default, each transport read and checked") {
  auto defaults = parse_config("", "/etc/clinic-gateway");
  REQUIRE(defaults.problems.empty());
  const AtnaSettings& d = defaults.config.atna;
  CHECK_FALSE(d.enabled);
  CHECK(d.address == "127.0.0.1");
  CHECK(d.udp);
  CHECK(d.udp_port == 5514);
  CHECK(d.tcp);
  CHECK(d.tcp_port == 5514);
  CHECK(d.tls_port == 6514);
  CHECK_FALSE(d.tls.certificate);
  CHECK(d.max_message_bytes == 65536);
  CHECK(d.max_connections == 256);
  CHECK(d.idle_timeout == std::chrono::milliseconds(3'600'000));

  auto load = parse_config(R"(
    [atna]
    enabled = true
    address = "0.0.0.0"
    udp = false
    udp_port = 514
    tcp_port = 0
    tls_port = 0
    max_message_bytes = 131072
    max_connections = 32
    idle_timeout_ms = 60000
    [atna.tls]
    certificate = "tls/gateway.crt"
    private_key = "tls/gateway.key"
    client_ca = "tls/senders-ca.crt"
  )",
                           "/srv/gw");
  REQUIRE(load.problems.empty());
  const AtnaSettings& a = load.config.atna;
  CHECK(a.enabled);
  CHECK(a.address == "0.0.0.0");
  CHECK_FALSE(a.udp);
  CHECK(a.udp_port == 514);
  CHECK(a.tcp);
  CHECK(a.tcp_port == 0);
  CHECK(a.tls_port == 0);
  CHECK(a.max_message_bytes == 131072);
  CHECK(a.max_connections == 32);
  CHECK(a.idle_timeout == std::chrono::milliseconds(60000));
  CHECK(*a.tls.certificate == "/srv/gw/tls/gateway.crt");
  CHECK(*a.tls.client_ca == "/srv/gw/tls/senders-ca.crt");

  auto bad = parse_config(R"(
    [atna]
    enabled = 1
    udp = "no"
    udp_port = 70000
    tcp_port = -1
    max_message_bytes = 100
    max_connections = 0
    idle_timeout_ms = 5
    colour = "blue"
    [atna.tls]
    certificate = "tls/gateway.crt"
  )",
                          "/srv/gw");
  std::set<std::string> keys;
  for (const auto& p : bad.problems) keys.insert(p.key);
  for (const char* key :
       {"atna.enabled", "atna.udp", "atna.udp_port", "atna.tcp_port", "atna.max_message_bytes",
        "atna.max_connections", "atna.idle_timeout_ms", "atna.colour", "atna.tls"}) {
    CHECK_MESSAGE(keys.count(key) == 1, key);
  }

  auto silent = parse_config(R"(
    [atna]
    enabled = true
    udp = false
    tcp = false
  )",
                             "/srv/gw");
  CHECK(has_problem(silent, "atna", "no receiver"));
  auto clash = parse_config(R"(
    [atna]
    tcp_port = 6514
    [atna.tls]
    certificate = "c.pem"
    private_key = "k.pem"
  )",
                            "/srv/gw");
  CHECK(has_problem(clash, "atna.tls_port", "must differ from atna.tcp_port"));
}

TEST_CASE("no upstream by default; cached logins hold a week") {
  auto load = parse_config("", "/etc/clinic-gateway");
  CHECK(load.config.upstream.token_url.empty());
  CHECK(load.config.upstream.timeout == std::chrono::milliseconds(3000));
  CHECK(load.config.upstream.scope == "openid");
  CHECK(load.config.auth.cached_login_ttl == std::chrono::hours(168));
}

TEST_CASE("[upstream] is read, with paths resolved against the config's directory") {
  auto load = parse_config(R"(
    [auth]
    cached_login_ttl_hours = 0
    [upstream]
    token_url = "https://district.example:8443/auth/token"
    client_id = "clinic-7"
    client_secret_file = "secrets/upstream"
    scope = "openid fhirUser"
    timeout_ms = 1500
    tls_ca = "/etc/ssl/district-ca.pem"
  )",
                           "/srv/gw");
  REQUIRE(load.problems.empty());
  const auto& u = load.config.upstream;
  CHECK(u.token_url == "https://district.example:8443/auth/token");
  CHECK(u.client_id == "clinic-7");
  CHECK(*u.client_secret_file == "/srv/gw/secrets/upstream");
  CHECK(u.scope == "openid fhirUser");
  CHECK(u.timeout == std::chrono::milliseconds(1500));
  CHECK(*u.tls_ca == "/etc/ssl/district-ca.pem");
  CHECK(load.config.auth.cached_login_ttl == std::chrono::hours(0));
}

TEST_CASE("[upstream] problems name their keys") {
  auto bad_url = parse_config(R"(
    [upstream]
    token_url = "https://user:pw@district.example/auth/token"
    timeout_ms = 10
    scope = "openid  \"x\""
    colour = "blue"
  )",
                              "/x");
  CHECK(has_problem(bad_url, "upstream.token_url", "without user info"));
  CHECK(has_problem(bad_url, "upstream.timeout_ms", "between 100 and 60000"));
  CHECK(has_problem(bad_url, "upstream.scope", "single spaces"));
  CHECK(has_problem(bad_url, "upstream.colour", "unknown setting"));

  auto orphans = parse_config(R"(
    [upstream]
    client_secret_file = "s"
    tls_ca = "ca.pem"
  )",
                              "/x");
  CHECK(has_problem(orphans, "upstream.token_url", "needed"));
  CHECK(has_problem(orphans, "upstream.client_secret_file", "needs upstream.client_id"));

  auto plain_with_ca = parse_config(R"(
    [auth]
    cached_login_ttl_hours = -1
    [upstream]
    token_url = "http://127.0.0.1:8080/auth/token"
    tls_ca = "ca.pem"
    client_id = "a:b"
  )",
                                    "/x");
  CHECK(has_problem(plain_with_ca, "upstream.tls_ca", "https://"));
  CHECK(has_problem(plain_with_ca, "upstream.client_id", "':'"));
  CHECK(has_problem(plain_with_ca, "auth.cached_login_ttl_hours", "between 0 and 8784"));
}

TEST_CASE("[audit]: six years of retention and no forwarding by default") {
  auto load = parse_config("", "/etc/clinic-gateway");
  CHECK(load.problems.empty());
  CHECK(load.config.audit.retention_days == 2190);
  CHECK_FALSE(load.config.audit.forward.enabled());
  CHECK(load.config.audit.forward.batch_size == 100);
  CHECK(load.config.audit.forward.timeout == std::chrono::milliseconds(30'000));
}

TEST_CASE("[audit] and [audit.forward] are read, with paths against the config's directory") {
  auto load = parse_config(R"(
    [audit]
    retention_days = 0
    [audit.forward]
    syslog_url = "tls://arr.district.org:6514"
    fhir_url = "https://district.example/fhir"
    tls_ca = "district-ca.pem"
    client_certificate = "node.crt"
    client_key = "/secure/node.key"
    token_file = "audit-token"
    batch_size = 50
    timeout_ms = 5000
  )",
                           "/srv/gw");
  REQUIRE_MESSAGE(load.problems.empty(), describe(load.problems.front()));
  const auto& a = load.config.audit;
  CHECK(a.retention_days == 0);
  CHECK(a.forward.enabled());
  CHECK(a.forward.syslog_url == "tls://arr.district.org:6514");
  CHECK(a.forward.fhir_url == "https://district.example/fhir");
  CHECK(*a.forward.tls_ca == "/srv/gw/district-ca.pem");
  CHECK(*a.forward.client_certificate == "/srv/gw/node.crt");
  CHECK(*a.forward.client_key == "/secure/node.key");
  CHECK(*a.forward.token_file == "/srv/gw/audit-token");
  CHECK(a.forward.batch_size == 50);
  CHECK(a.forward.timeout == std::chrono::milliseconds(5000));
}

TEST_CASE("[audit] problems name their keys") {
  auto bad = parse_config(R"(
    [audit]
    retention_days = -1
    keep = true
    [audit.forward]
    syslog_url = "udp://arr:514"
    fhir_url = "ftp://district/fhir"
    batch_size = 0
    timeout_ms = 10
    colour = "red"
  )",
                          "/srv/gw");
  CHECK(has_problem(bad, "audit.retention_days", "between 0 and 36500"));
  CHECK(has_problem(bad, "audit.keep", "unknown setting"));
  CHECK(has_problem(bad, "audit.forward.syslog_url", "tls://HOST[:PORT] or tcp://"));
  CHECK(has_problem(bad, "audit.forward.fhir_url", "FHIR base"));
  CHECK(has_problem(bad, "audit.forward.batch_size", "between 1 and 1000"));
  CHECK(has_problem(bad, "audit.forward.timeout_ms", "between 1000 and 600000"));
  CHECK(has_problem(bad, "audit.forward.colour", "unknown setting"));

  // TLS files without a TLS destination; a key without its certificate; a token in clear.
  auto plain = parse_config(R"(
    [audit.forward]
    syslog_url = "tcp://arr:514"
    fhir_url = "http://district/fhir"
    tls_ca = "ca.pem"
    client_key = "node.key"
    token_file = "token"
  )",
                            "/srv/gw");
  CHECK(has_problem(plain, "audit.forward.tls_ca", "needs a tls:// syslog_url"));
  CHECK(has_problem(plain, "audit.forward", "given together"));
  CHECK(has_problem(plain, "audit.forward.token_file", "https://"));
  auto orphan_token = parse_config("[audit.forward]\ntoken_file = \"t\"\n", "/srv/gw");
  CHECK(has_problem(orphan_token, "audit.forward.token_file", "https://"));
}

TEST_CASE("[discovery]: on by default, with the instance name derived from the node name") {
  auto load = parse_config("", "/srv/gw");
  CHECK(load.problems.empty());
  CHECK(load.config.discovery.enabled);
  CHECK(load.config.discovery.name.empty());

  auto set = parse_config(R"(
    [discovery]
    enabled = false
    name = "Kisumu Clinic – reception"
  )",
                          "/srv/gw");
  CHECK(set.problems.empty());
  CHECK_FALSE(set.config.discovery.enabled);
  CHECK(set.config.discovery.name == "Kisumu Clinic – reception");
}

TEST_CASE("[discovery] problems name their keys") {
  auto bad = parse_config(R"(
    [discovery]
    enabled = "yes"
    name = "a name far too long for DNS-SD, which allows at most sixty-three bytes"
    port = 5353
  )",
                          "/srv/gw");
  CHECK(has_problem(bad, "discovery.enabled", "true or false"));
  CHECK(has_problem(bad, "discovery.name", "at most 63 bytes"));
  CHECK(has_problem(bad, "discovery.port", "unknown setting"));

  // Control characters and broken UTF-8 are no instance name.
  CHECK(has_problem(parse_config("[discovery]\nname = \"a\\tb\"\n", "/srv/gw"), "discovery.name",
                    "UTF-8"));
  CHECK(has_problem(parse_config("[discovery]\nname = \"a\\u007fb\"\n", "/srv/gw"),
                    "discovery.name", "UTF-8"));
  // 63 bytes exactly is fine.
  CHECK(parse_config("[discovery]\nname = \"" + std::string(63, 'x') + "\"\n", "/srv/gw")
            .problems.empty());
}

TEST_CASE("[storage] min_free_mb: 64 MB by default, 0 turns the floor off, negatives refused") {
  CHECK(parse_config("", "/etc/clinic-gateway").config.storage.min_free_mb == 64);
  auto off = parse_config("[storage]\nmin_free_mb = 0\n", "/srv/gw");
  REQUIRE(off.problems.empty());
  CHECK(off.config.storage.min_free_mb == 0);
  auto set = parse_config("[storage]\nmin_free_mb = 512\n", "/srv/gw");
  REQUIRE(set.problems.empty());
  CHECK(set.config.storage.min_free_mb == 512);
  CHECK(has_problem(parse_config("[storage]\nmin_free_mb = -1\n", "/srv/gw"), "storage.min_free_mb",
                    "between 0 and 1000000"));
}

TEST_CASE("[storage] sqlite_memory_mb: 24 MB by default, 0 for no limit, negatives refused") {
  CHECK(parse_config("", "/etc/clinic-gateway").config.storage.sqlite_memory_mb == 24);
  auto set = parse_config("[storage]\nsqlite_memory_mb = 64\n", "/srv/gw");
  REQUIRE(set.problems.empty());
  CHECK(set.config.storage.sqlite_memory_mb == 64);
  CHECK(parse_config("[storage]\nsqlite_memory_mb = 0\n", "/srv/gw")
            .config.storage.sqlite_memory_mb == 0);
  CHECK(has_problem(parse_config("[storage]\nsqlite_memory_mb = -5\n", "/srv/gw"),
                    "storage.sqlite_memory_mb", "between 0 and 1000000"));
}

TEST_CASE("[health] and [metrics]: on, loopback only, no token, 1 GiB warning by default") {
  auto load = parse_config("", "/etc/clinic-gateway");
  CHECK(load.problems.empty());
  CHECK(load.config.health.warn_free_disk_mb == 1024);
  CHECK(load.config.metrics.enabled);
  CHECK(load.config.metrics.allow == std::vector<std::string>{"127.0.0.0/8", "::1"});
  CHECK(load.config.metrics.token_sha256.empty());
}

TEST_CASE("[health] and [metrics] are read") {
  auto load = parse_config(R"(
    [health]
    warn_free_disk_mb = 200
    [metrics]
    enabled = false
    allow = ["192.168.1.0/24", "10.0.0.7"]
    token_sha256 = ["0000000000000000000000000000000000000000000000000000000000000000"]
  )",
                           "/srv/gw");
  CHECK(load.problems.empty());
  CHECK(load.config.health.warn_free_disk_mb == 200);
  CHECK_FALSE(load.config.metrics.enabled);
  CHECK(load.config.metrics.allow == std::vector<std::string>{"192.168.1.0/24", "10.0.0.7"});
  CHECK(load.config.metrics.token_sha256.size() == 1);
}

TEST_CASE("[health] and [metrics] problems name their keys") {
  auto load = parse_config(R"(
    [health]
    warn_free_disk_mb = -1
    free = 3
    [metrics]
    enabled = "yes"
    allow = ["192.168.1.0/24", "lan"]
    token_sha256 = ["ABC"]
    port = 9100
  )",
                           "/srv/gw");
  CHECK(has_problem(load, "health.warn_free_disk_mb", "between"));
  CHECK(has_problem(load, "health.free", "unknown"));
  CHECK(has_problem(load, "metrics.enabled", "true or false"));
  CHECK(has_problem(load, "metrics.allow[1]", ""));
  CHECK(has_problem(load, "metrics.token_sha256[0]", "64"));
  CHECK(has_problem(load, "metrics.port", "unknown"));
}
