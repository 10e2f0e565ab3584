#include "gateway/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "protocols/atna/syslog_destination.hpp"
#include "protocols/http/http_url.hpp"

namespace cg::gateway {
namespace {

// Reads typed values out of a TOML table, recording a problem for every wrong type,
// out-of-range value or unknown key. Keys are tracked so unknown ones can be reported.
class TableReader {
 public:
  TableReader(const toml::table* table, std::string prefix, std::vector<ConfigProblem>& problems)
      : table_(table), prefix_(std::move(prefix)), problems_(problems) {}

  template <class Int>
  void integer(const char* key, Int& out, std::int64_t min, std::int64_t max) {
    const toml::node* node = take(key);
    if (!node) return;
    auto v = node->value<std::int64_t>();
    if (!node->is_integer() || !v) return problem(key, "must be an integer");
    if (*v < min || *v > max) {
      return problem(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    out = static_cast<Int>(*v);
  }

  void boolean(const char* key, bool& out) {
    const toml::node* node = take(key);
    if (!node) return;
    if (!node->is_boolean()) return problem(key, "must be true or false");
    out = *node->value<bool>();
  }
  void millis(const char* key, std::chrono::milliseconds& out, std::int64_t min, std::int64_t max) {
    std::int64_t v = out.count();
    integer(key, v, min, max);
    out = std::chrono::milliseconds(v);
  }

  void string(const char* key, std::string& out) {
    const toml::node* node = take(key);
    if (!node) return;
    if (!node->is_string()) return problem(key, "must be a string");
    out = *node->value<std::string>();
  }

  void path(const char* key, std::optional<std::filesystem::path>& out,
            const std::filesystem::path& base) {
    std::string s;
    if (!table_ || !table_->contains(key)) {
      take(key);
      return;
    }
    string(key, s);
    if (s.empty()) return problem(key, "must not be empty");
    out = base / s;
  }

  void string_list(const char* key, std::vector<std::string>& out) {
    const toml::node* node = take(key);
    if (!node) return;
    const toml::array* arr = node->as_array();
    if (!arr) return problem(key, "must be an array of strings");
    out.clear();
    for (const auto& item : *arr) {
      if (!item.is_string()) return problem(key, "must be an array of strings");
      out.push_back(*item.value<std::string>());
    }
  }

  // A table of string values, e.g. [hl7.identifier_systems].
  void string_map(const char* key, std::map<std::string, std::string>& out) {
    const toml::node* node = take(key);
    if (!node) return;
    const toml::table* table = node->as_table();
    if (!table) return problem(key, "must be a table of strings");
    for (const auto& [k, v] : *table) {
      if (!v.is_string()) return problem(key, "must be a table of strings");
      out[std::string(k.str())] = *v.value<std::string>();
    }
  }
  // An array of tables, e.g. [[mllp.senders]]; each table read by `read`.
  template <class ReadOne>
  void table_array(const char* key, ReadOne read) {
    const toml::node* node = take(key);
    if (!node) return;
    const toml::array* arr = node->as_array();
    if (!arr) return problem(key, "must be an array of tables ([[" + prefix_ + key + "]])");
    int n = 0;
    for (const auto& item : *arr) {
      const toml::table* table = item.as_table();
      if (!table) return problem(key, "must be an array of tables ([[" + prefix_ + key + "]])");
      read(TableReader(table, prefix_ + key + "[" + std::to_string(n++) + "].", problems_));
    }
  }

  const toml::table* subtable(const char* key) {
    const toml::node* node = take(key);
    if (!node) return nullptr;
    if (!node->is_table()) {
      problem(key, "must be a table");
      return nullptr;
    }
    return node->as_table();
  }

  void problem(const char* key, std::string message) {
    problems_.push_back({prefix_ + key, std::move(message)});
  }

  // Reports every key of the table that no reader asked for.
  void reject_unknown() {
    if (!table_) return;
    for (const auto& [k, v] : *table_) {
      std::string key(k.str());
      if (!seen_.count(key)) problems_.push_back({prefix_ + key, "unknown setting"});
    }
  }

 private:
  const toml::node* take(const char* key) {
    seen_.insert(key);
    return table_ ? table_->get(key) : nullptr;
  }

  const toml::table* table_;
  std::string prefix_;
  std::vector<ConfigProblem>& problems_;
  std::set<std::string> seen_;
};

// [http.tls] or [mllp.tls] of the listener `listener`: certificate and private_key together,
// client_ca only beside them.
void read_tls(const toml::table* table, const std::string& listener, TlsSettings& tls,
              const std::filesystem::path& base, std::vector<ConfigProblem>& problems) {
  const std::string prefix = listener + ".tls";
  TableReader r(table, prefix + ".", problems);
  r.path("certificate", tls.certificate, base);
  r.path("private_key", tls.private_key, base);
  r.path("client_ca", tls.client_ca, base);
  r.reject_unknown();
  if (tls.certificate.has_value() != tls.private_key.has_value()) {
    problems.push_back({prefix, "certificate and private_key must be given together"});
  }
  if (tls.client_ca && !tls.certificate) {
    problems.push_back({prefix + ".client_ca", "needs " + prefix + ".certificate and private_key"});
  }
}

void read_http(TableReader r, HttpSettings& h, const std::filesystem::path& base,
               std::vector<ConfigProblem>& problems) {
  r.string("address", h.address);
  r.integer("port", h.port, 0, 65535);
  r.string("public_base_url", h.public_base_url);
  r.integer("header_limit_bytes", h.header_limit_bytes, 1024, 1024 * 1024);
  r.integer("body_limit_bytes", h.body_limit_bytes, 1024, std::int64_t{1} << 30);
  r.millis("request_timeout_ms", h.request_timeout, 100, 3'600'000);
  r.millis("idle_timeout_ms", h.idle_timeout, 100, 3'600'000);
  r.integer("max_connections", h.max_connections, 1, 100'000);
  r.integer("io_threads", h.io_threads, 0, 256);
  r.integer("worker_threads", h.worker_threads, 1, 1024);
  read_tls(r.subtable("tls"), "http", h.tls, base, problems);
  if (!h.public_base_url.empty() && h.public_base_url.rfind("http://", 0) != 0 &&
      h.public_base_url.rfind("https://", 0) != 0) {
    problems.push_back({"http.public_base_url", "must start with http:// or https://"});
  }
  r.reject_unknown();
}

// One [[mllp.senders]] rule: application, facility, addresses (CIDR), certificate_subjects.
hl7v2::SenderRule read_sender(TableReader r, std::vector<ConfigProblem>& problems,
                              const std::string& where) {
  hl7v2::SenderRule rule;
  r.string("application", rule.application);
  r.string("facility", rule.facility);
  std::vector<std::string> addresses;
  r.string_list("addresses", addresses);
  for (const auto& text : addresses) {
    auto network = hl7v2::parse_network(text);
    if (!network) {
      problems.push_back({where + "addresses", network.error().message});
    } else {
      rule.networks.push_back(*network);
    }
  }
  r.string_list("certificate_subjects", rule.certificate_subjects);
  r.reject_unknown();
  return rule;
}

void read_mllp(TableReader r, MllpSettings& m, const std::filesystem::path& base,
               std::vector<ConfigProblem>& problems) {
  r.boolean("enabled", m.enabled);
  r.string("address", m.address);
  r.integer("port", m.port, 0, 65535);
  r.integer("max_connections", m.max_connections, 1, 100'000);
  r.integer("max_message_bytes", m.max_message_bytes, 1024, std::int64_t{64} << 20);
  r.millis("idle_timeout_ms", m.idle_timeout, 100, 86'400'000);
  r.millis("read_timeout_ms", m.read_timeout, 100, 3'600'000);
  r.integer("worker_threads", m.worker_threads, 1, 256);
  read_tls(r.subtable("tls"), "mllp", m.tls, base, problems);
  int n = 0;
  r.table_array("senders", [&](TableReader sender) {
    m.senders.push_back(
        read_sender(std::move(sender), problems, "mllp.senders[" + std::to_string(n++) + "]."));
  });
  r.reject_unknown();
}

void read_atna(TableReader r, AtnaSettings& a, const std::filesystem::path& base,
               std::vector<ConfigProblem>& problems) {
  r.boolean("enabled", a.enabled);
  r.string("address", a.address);
  r.boolean("udp", a.udp);
  r.integer("udp_port", a.udp_port, 0, 65535);
  r.boolean("tcp", a.tcp);
  r.integer("tcp_port", a.tcp_port, 0, 65535);
  r.integer("tls_port", a.tls_port, 0, 65535);
  // RFC 5425 asks receivers to take at least 2048 octets; a UDP datagram holds at most 65507.
  r.integer("max_message_bytes", a.max_message_bytes, 2048, std::int64_t{16} << 20);
  r.integer("max_connections", a.max_connections, 1, 100'000);
  r.millis("idle_timeout_ms", a.idle_timeout, 1000, 86'400'000);
  read_tls(r.subtable("tls"), "atna", a.tls, base, problems);
  r.reject_unknown();
  if (a.enabled && !a.udp && !a.tcp && !a.tls.certificate) {
    problems.push_back({"atna", "enabled with no receiver: set udp or tcp, or [atna.tls]"});
  }
  const bool tls = a.tls.certificate.has_value();
  if (a.tcp && tls && a.tcp_port == a.tls_port && a.tcp_port != 0) {
    problems.push_back({"atna.tls_port", "must differ from atna.tcp_port"});
  }
}

void read_hl7(TableReader r, Hl7Settings& h, std::vector<ConfigProblem>& problems) {
  r.string("application_name", h.application_name);
  r.string_map("identifier_systems", h.identifier_systems);
  for (const auto& [authority, system] : h.identifier_systems) {
    if (system.find(':') == std::string::npos) {
      problems.push_back(
          {"hl7.identifier_systems." + authority, "must be an absolute URI (http://…, urn:oid:…)"});
    }
  }
  if (h.application_name.empty() || h.application_name.size() > 180 ||
      h.application_name.find_first_of("|^~\\&\r\n") != std::string::npos) {
    problems.push_back(
        {"hl7.application_name", "must be 1 to 180 characters without HL7 delimiters (|^~\\&)"});
  }
  r.reject_unknown();
}

void read_storage(TableReader r, StorageSettings& s) {
  r.integer("reader_connections", s.reader_connections, 1, 64);
  r.integer("max_batch_jobs", s.max_batch_jobs, 1, 100'000);
  r.integer("max_queued_jobs", s.max_queued_jobs, 1, 10'000'000);
  r.integer("min_free_mb", s.min_free_mb, 0, 1'000'000);
  r.integer("sqlite_memory_mb", s.sqlite_memory_mb, 0, 1'000'000);
  r.reject_unknown();
}

void read_fhir(TableReader r, FhirSettings& f, std::vector<ConfigProblem>& problems) {
  r.integer("default_page_size", f.default_page_size, 1, 10'000);
  r.integer("max_page_size", f.max_page_size, 1, 10'000);
  r.integer("max_bundle_entries", f.max_bundle_entries, 1, 1'000'000);
  if (f.default_page_size > f.max_page_size) {
    problems.push_back({"fhir.default_page_size", "must not exceed fhir.max_page_size"});
  }
  r.reject_unknown();
}

bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void read_auth(TableReader r, AuthSettings& a, std::vector<ConfigProblem>& problems) {
  r.string_list("token_sha256", a.token_sha256);
  std::int64_t ttl_hours = a.cached_login_ttl.count();
  r.integer("cached_login_ttl_hours", ttl_hours, 0, 24 * 366);
  a.cached_login_ttl = std::chrono::hours(ttl_hours);
  for (std::size_t i = 0; i < a.token_sha256.size(); ++i) {
    if (!is_sha256_hex(a.token_sha256[i])) {
      problems.push_back({"auth.token_sha256[" + std::to_string(i) + "]",
                          "must be 64 lowercase hex characters (sha256sum of the token)"});
    }
  }
  r.reject_unknown();
}

// OAuth scope tokens: visible ASCII but '"' and '\', separated by single spaces; or none.
bool is_scope_list(const std::string& s) {
  if (s.empty()) return true;
  return s.front() != ' ' && s.back() != ' ' && s.find("  ") == std::string::npos &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return c == ' ' || (c >= 0x21 && c <= 0x7e && c != '"' && c != '\\');
         });
}

void read_upstream(TableReader r, UpstreamSettings& u, const std::filesystem::path& base,
                   std::vector<ConfigProblem>& problems) {
  r.string("token_url", u.token_url);
  r.string("client_id", u.client_id);
  r.path("client_secret_file", u.client_secret_file, base);
  r.string("scope", u.scope);
  r.millis("timeout_ms", u.timeout, 100, 60'000);
  r.path("tls_ca", u.tls_ca, base);
  r.reject_unknown();
  auto url = u.token_url.empty() ? std::nullopt : http::parse_http_url(u.token_url);
  if (!u.token_url.empty() && !url) {
    problems.push_back({"upstream.token_url", std::string(http::kHttpUrlForm)});
  }
  const bool configured = !u.token_url.empty();
  if (!configured && (!u.client_id.empty() || u.client_secret_file || u.tls_ca)) {
    problems.push_back({"upstream.token_url", "is needed by the other upstream settings"});
  }
  if (u.client_secret_file && u.client_id.empty()) {
    problems.push_back({"upstream.client_secret_file", "needs upstream.client_id"});
  }
  if (u.tls_ca && url && !url->tls) {
    problems.push_back({"upstream.tls_ca", "needs an https:// upstream.token_url"});
  }
  if (u.client_id.find_first_of(":\r\n") != std::string::npos) {
    problems.push_back({"upstream.client_id", "must not contain ':' or line breaks"});
  }
  if (!is_scope_list(u.scope)) {
    problems.push_back({"upstream.scope", "must be OAuth scopes separated by single spaces"});
  }
}

// The cross-checks of [audit.forward]: URLs that parse, TLS files only where TLS is used.
void check_audit_forward(const AuditForwardSettings& f, std::vector<ConfigProblem>& problems) {
  auto syslog = f.syslog_url.empty() ? std::nullopt : atna::parse_syslog_url(f.syslog_url);
  if (!f.syslog_url.empty() && !syslog) {
    problems.push_back({"audit.forward.syslog_url", std::string(atna::kSyslogUrlForm)});
  }
  auto fhir = f.fhir_url.empty() ? std::nullopt : http::parse_http_url(f.fhir_url);
  if (!f.fhir_url.empty() && (!fhir || fhir->target.find('?') != std::string::npos)) {
    problems.push_back({"audit.forward.fhir_url",
                        "must be the FHIR base, http://HOST[:PORT]/PATH "
                        "or https://…, without a query"});
  }
  const bool uses_tls = (syslog && syslog->tls) || (fhir && fhir->tls);
  if ((f.tls_ca || f.client_certificate) && !uses_tls) {
    problems.push_back({f.tls_ca ? "audit.forward.tls_ca" : "audit.forward.client_certificate",
                        "needs a tls:// syslog_url or an https:// fhir_url"});
  }
  if (f.client_certificate.has_value() != f.client_key.has_value()) {
    problems.push_back(
        {"audit.forward", "client_certificate and client_key must be given together"});
  }
  if (f.token_file && (!fhir || !fhir->tls)) {
    problems.push_back({"audit.forward.token_file",
                        "needs an https:// fhir_url (a bearer token is never sent in clear)"});
  }
}

void read_audit(TableReader r, AuditSettings& a, const std::filesystem::path& base,
                std::vector<ConfigProblem>& problems) {
  r.integer("retention_days", a.retention_days, 0, 36'500);
  TableReader f(r.subtable("forward"), "audit.forward.", problems);
  AuditForwardSettings& forward = a.forward;
  f.string("syslog_url", forward.syslog_url);
  f.string("fhir_url", forward.fhir_url);
  f.path("tls_ca", forward.tls_ca, base);
  f.path("client_certificate", forward.client_certificate, base);
  f.path("client_key", forward.client_key, base);
  f.path("token_file", forward.token_file, base);
  f.integer("batch_size", forward.batch_size, 1, 1000);
  f.millis("timeout_ms", forward.timeout, 1000, 600'000);
  f.reject_unknown();
  check_audit_forward(forward, problems);
  r.reject_unknown();
}

// Well-formed UTF-8 without control characters.
bool is_printable_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80             ? 1
                          : (c & 0xE0) == 0xC0 ? 2
                          : (c & 0xF0) == 0xE0 ? 3
                          : (c & 0xF8) == 0xF0 ? 4
                                               : 0;
    if (n == 0 || i + n > s.size() || c < 0x20 || c == 0x7F || c == 0xC0 || c == 0xC1) {
      return false;
    }
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

void read_discovery(TableReader r, DiscoverySettings& d, std::vector<ConfigProblem>& problems) {
  r.boolean("enabled", d.enabled);
  r.string("name", d.name);
  r.reject_unknown();
  // A DNS-SD instance name: at most 63 bytes of UTF-8 (RFC 6763 §4.1.1); "" is the default.
  if (d.name.size() > 63 || !is_printable_utf8(d.name)) {
    problems.push_back(
        {"discovery.name", "must be at most 63 bytes of UTF-8 without control characters"});
  }
}

void read_health(TableReader r, HealthSettings& h) {
  r.integer("warn_free_disk_mb", h.warn_free_disk_mb, 0, std::int64_t{1} << 30);
  r.reject_unknown();
}

void read_metrics(TableReader r, MetricsSettings& m, std::vector<ConfigProblem>& problems) {
  r.boolean("enabled", m.enabled);
  r.string_list("allow", m.allow);
  r.string_list("token_sha256", m.token_sha256);
  for (std::size_t i = 0; i < m.allow.size(); ++i) {
    if (auto network = hl7v2::parse_network(m.allow[i]); !network) {
      problems.push_back({"metrics.allow[" + std::to_string(i) + "]", network.error().message});
    }
  }
  for (std::size_t i = 0; i < m.token_sha256.size(); ++i) {
    if (!is_sha256_hex(m.token_sha256[i])) {
      problems.push_back({"metrics.token_sha256[" + std::to_string(i) + "]",
                          "must be 64 lowercase hex characters (sha256sum of the token)"});
    }
  }
  r.reject_unknown();
}

void read_root(const toml::table& root, GatewayConfig& c, const std::filesystem::path& base,
               std::vector<ConfigProblem>& problems) {
  TableReader r(&root, "", problems);
  TableReader node(r.subtable("node"), "node.", problems);
  node.string("name", c.node_name);
  std::optional<std::filesystem::path> data_dir;
  node.path("data_dir", data_dir, base);
  if (data_dir) c.data_dir = *data_dir;
  node.millis("shutdown_drain_ms", c.shutdown_drain, 0, 600'000);
  node.reject_unknown();

  TableReader log(r.subtable("log"), "log.", problems);
  log.string("level", c.log_level);
  log.reject_unknown();
  static const std::set<std::string> kLevels = {"error", "warning", "info", "debug"};
  if (!kLevels.count(c.log_level)) {
    problems.push_back({"log.level", "must be one of error, warning, info, debug"});
  }

  read_http(TableReader(r.subtable("http"), "http.", problems), c.http, base, problems);
  read_mllp(TableReader(r.subtable("mllp"), "mllp.", problems), c.mllp, base, problems);
  read_atna(TableReader(r.subtable("atna"), "atna.", problems), c.atna, base, problems);
  read_hl7(TableReader(r.subtable("hl7"), "hl7.", problems), c.hl7, problems);
  read_storage(TableReader(r.subtable("storage"), "storage.", problems), c.storage);
  read_fhir(TableReader(r.subtable("fhir"), "fhir.", problems), c.fhir, problems);
  read_auth(TableReader(r.subtable("auth"), "auth.", problems), c.auth, problems);
  read_upstream(TableReader(r.subtable("upstream"), "upstream.", problems), c.upstream, base,
                problems);
  read_audit(TableReader(r.subtable("audit"), "audit.", problems), c.audit, base, problems);
  read_discovery(TableReader(r.subtable("discovery"), "discovery.", problems), c.discovery,
                 problems);
  read_health(TableReader(r.subtable("health"), "health.", problems), c.health);
  read_metrics(TableReader(r.subtable("metrics"), "metrics.", problems), c.metrics, problems);
  r.reject_unknown();
}

}  // namespace

ConfigLoad parse_config(std::string_view toml_text, const std::filesystem::path& base_dir) {
  ConfigLoad load;
  try {
    toml::table root = toml::parse(toml_text);
    read_root(root, load.config, base_dir, load.problems);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "line " << e.source().begin.line << ", column " << e.source().begin.column << ": "
        << e.description();
    load.problems.push_back({"", msg.str()});
  }
  return load;
}

ConfigLoad load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ConfigLoad load;
    load.problems.push_back({"", "cannot read " + file.string()});
    return load;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto base = std::filesystem::absolute(file).parent_path();
  return parse_config(text.str(), base);
}

std::string describe(const ConfigProblem& problem) {
  return problem.key.empty() ? problem.message : problem.key + ": " + problem.message;
}

}  // namespace cg::gateway
