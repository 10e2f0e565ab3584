#pragma once
// GatewayConfig: the daemon's settings, read from a TOML file (gateway.toml) and validated
// as a whole before anything starts. Every problem is reported with the key it concerns
// ("http.port: must be between 0 and 65535"), and unknown keys are errors so that a typo
// never silently falls back to a default. Plain values; load once, then read-only.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocols/hl7v2/sender_policy.hpp"

namespace cg::gateway {

// [http.tls] / [mllp.tls] / [atna.tls]: the listener speaks only TLS when certificate and
// private_key are set; with client_ca every client must present a certificate one of its CAs
// issued.
struct TlsSettings {
  std::optional<std::filesystem::path> certificate;  // PEM chain, server certificate first
  std::optional<std::filesystem::path> private_key;  // PEM
  std::optional<std::filesystem::path> client_ca;    // set: client certificates required
};

struct HttpSettings {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string public_base_url;  // e.g. "https://gw.clinic.local:8080"; empty: from Host
  std::size_t header_limit_bytes = 16 * 1024;
  std::size_t body_limit_bytes = 16 * 1024 * 1024;
  std::chrono::milliseconds request_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 512;
  int io_threads = 0;  // 0: one per core
  int worker_threads = 32;
  TlsSettings tls;
};

// The HL7v2 MLLP listener (docs/hl7v2.md, "The MLLP listener").
struct MllpSettings {
  bool enabled = false;  // the packaged and demo configurations turn it on
  std::string address = "127.0.0.1";
  std::uint16_t port = 2575;
  std::size_t max_connections = 64;
  std::size_t max_message_bytes = 1024 * 1024;
  std::chrono::milliseconds idle_timeout{600'000};
  std::chrono::milliseconds read_timeout{60'000};
  int worker_threads = 8;
  TlsSettings tls;
  // [[mllp.senders]]: who may send (empty: anyone who can connect). docs/hl7v2.md.
  std::vector<hl7v2::SenderRule> senders;
};

// [atna]: the syslog receivers of the ATNA audit record repository (docs/atna.md, "Receiving
// audit records"). audit.db is opened whether or not they are enabled.
struct AtnaSettings {
  bool enabled = false;  // the demo configuration turns it on
  std::string address = "127.0.0.1";
  bool udp = true;  // syslog over UDP (RFC 5426) on udp_port
  std::uint16_t udp_port = 5514;
  bool tcp = true;  // plain syslog over TCP (RFC 6587) on tcp_port
  std::uint16_t tcp_port = 5514;
  std::uint16_t tls_port = 6514;  // syslog over TLS (RFC 5425), when tls has a certificate
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_connections = 256;
  std::chrono::milliseconds idle_timeout{3'600'000};
  TlsSettings tls;
};

// What the gateway says about itself in HL7v2 answers.
struct Hl7Settings {
  std::string application_name = "CLINIC-GATEWAY";  // MSH-3 of answers to headerless input
  // Assigning authority namespace id (CX-4.1, e.g. "KISUMU") → Identifier.system URI.
  std::map<std::string, std::string> identifier_systems;
};

struct StorageSettings {
  int reader_connections = 4;
  std::size_t max_batch_jobs = 256;
  std::size_t max_queued_jobs = 10'000;
  // Below this much free space on the data directory's file system, clinical writes (FHIR,
  // HL7v2) are refused with 503 / AR 207 before the disk fills, keeping room for audit
  // records and recovery (docs/operations.md). 0: no floor.
  std::uint64_t min_free_mb = 64;
  // What SQLite may hold in memory across every database connection (page caches above all),
  // in MB: past it the caches recycle their own pages instead of growing. Keeps the daemon
  // near its memory budget whatever reader_connections says (docs/operations.md). 0: no limit.
  std::uint64_t sqlite_memory_mb = 24;
};

struct FhirSettings {
  std::size_t default_page_size = 50;
  std::size_t max_page_size = 1000;
  std::size_t max_bundle_entries = 10'000;
};

struct AuthSettings {
  std::vector<std::string> token_sha256;  // lowercase hex SHA-256 of accepted bearer tokens
  // How long after its last upstream login a bridged user may log in offline with the cached
  // verifier (docs/security.md, "Bridged login"). 0: never offline.
  std::chrono::hours cached_login_ttl{24 * 7};
};

// [upstream]: the gateway (or other OAuth server) this one answers to, typically the
// district's clinic-gateway. With token_url set, users who are not local log in through it.
struct UpstreamSettings {
  std::string token_url;  // its OAuth token endpoint (password grant); "": no upstream logins
  std::string client_id;  // when the upstream wants this gateway to authenticate as a client
  std::optional<std::filesystem::path> client_secret_file;  // first line: the secret
  std::string scope = "openid";  // asked for with each login: roles come from the token
  std::chrono::milliseconds timeout{3000};
  std::optional<std::filesystem::path> tls_ca;  // PEM CAs for https; default: the system's
};

// [audit.forward]: store-and-forward of the audit records in audit.db to an upstream audit
// record repository, over syslog (ITI-20) and/or a FHIR server (docs/atna.md, "Forwarding
// upstream"). Each destination keeps its own cursor in audit.db.
struct AuditForwardSettings {
  std::string syslog_url;  // "tls://host:6514" or "tcp://host:514"; "": no syslog forwarding
  std::string fhir_url;    // the upstream's FHIR base, "https://…/fhir"; "": none
  std::optional<std::filesystem::path> tls_ca;  // PEM CAs of both; default: the system's
  std::optional<std::filesystem::path> client_certificate;  // mutual TLS, with client_key
  std::optional<std::filesystem::path> client_key;
  std::optional<std::filesystem::path> token_file;  // fhir_url: first line, a bearer token
  std::size_t batch_size = 100;                     // records per connection / Bundle
  std::chrono::milliseconds timeout{30'000};        // one batch's whole exchange
  bool enabled() const { return !syslog_url.empty() || !fhir_url.empty(); }
};

// [audit]: keeping the audit record repository (audit.db).
struct AuditSettings {
  // Records received longer ago than this are pruned (once at start, then daily), except
  // those a forwarding destination has not had yet. 0 keeps every record. Six years by
  // default: what HIPAA asks of security documentation (45 CFR 164.316(b)(2)) and about as
  // long as the national rules clinics usually follow; docs/atna.md, "Retention".
  int retention_days = 2190;
  AuditForwardSettings forward;
};

// [discovery]: mDNS/DNS-SD announcement of the listeners through avahi-daemon
// (docs/operations.md, "Discovery"). Listeners on loopback addresses are never announced.
struct DiscoverySettings {
  bool enabled = true;
  std::string name;  // the DNS-SD instance name; "": "Clinic Gateway <node name>"
};

// [health]: what /health/ready judges (docs/operations.md, "Health checks").
struct HealthSettings {
  std::uint64_t warn_free_disk_mb = 1024;  // readiness warns below this free space in data_dir
};

// [metrics]: GET /metrics, the Prometheus scrape (docs/operations.md, "Metrics").
struct MetricsSettings {
  bool enabled = true;
  // Networks (CIDR) or addresses that may scrape; others get 403. Loopback by default: a
  // Prometheus on the LAN needs its address (or the LAN) here.
  std::vector<std::string> allow{"127.0.0.0/8", "::1"};
  // Set: a scrape must also carry one of these bearer tokens (lowercase hex SHA-256).
  std::vector<std::string> token_sha256;
};

struct GatewayConfig {
  std::string node_name = "clinic-gateway";
  std::filesystem::path data_dir = "/var/lib/clinic-gateway";
  std::string log_level = "info";  // error | warning | info | debug
  std::chrono::milliseconds shutdown_drain{10'000};
  HttpSettings http;
  MllpSettings mllp;
  AtnaSettings atna;
  Hl7Settings hl7;
  StorageSettings storage;
  FhirSettings fhir;
  AuthSettings auth;
  UpstreamSettings upstream;
  AuditSettings audit;
  DiscoverySettings discovery;
  HealthSettings health;
  MetricsSettings metrics;
};

struct ConfigProblem {
  std::string key;  // dotted TOML key, or "" for the file as a whole
  std::string message;
};

struct ConfigLoad {
  GatewayConfig config;
  std::vector<ConfigProblem> problems;  // empty: the config is usable
};

// Reads and validates `file`. Relative paths in the file are resolved against the
// file's own directory.
ConfigLoad load_config(const std::filesystem::path& file);
// Same for TOML text; `base_dir` resolves relative paths.
ConfigLoad parse_config(std::string_view toml_text, const std::filesystem::path& base_dir);

std::string describe(const ConfigProblem& problem);

}  // namespace cg::gateway
