#include "gateway/status_command.hpp"

#include <sys/statvfs.h>

#include <boost/json.hpp>
#include <chrono>

#include "gateway/text_table.hpp"
#include "gateway/vacuum_command.hpp"
#include "storage/database_maintenance.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// The cheap counts of each database: {label, table, where}.
struct Count {
  std::string_view database;
  std::string_view label;
  std::string_view table;
  std::string_view where;
};
constexpr Count kCounts[] = {
    {"clinical.db", "resources", "resources", "deleted = 0"},
    {"clinical.db", "HL7v2 messages", "messages", ""},
    {"messages.db", "HL7v2 messages", "messages", ""},
    {"audit.db", "audit records", "audit_records", ""},
    {"security.db", "users", "users", ""},
    {"security.db", "clients", "clients", ""},
};

StoreStatus store_status(const fs::path& dir, const KnownDatabase& db) {
  StoreStatus s;
  s.file = std::string(db.file);
  s.what = std::string(db.what);
  const fs::path file = dir / db.file;
  std::error_code ec;
  s.bytes = static_cast<std::int64_t>(fs::file_size(file, ec));
  s.wal_bytes = database_bytes(file) - s.bytes;
  auto version = storage::schema_version(file);
  if (!version) {
    s.problem = version.error().message;
    return s;
  }
  s.schema_version = *version;
  for (const auto& count : kCounts) {
    if (count.database != db.file) continue;
    auto n = storage::count_rows(file, count.table, count.where);
    if (!n) {
      s.problem = n.error().message;
      break;
    }
    s.counts.emplace_back(std::string(count.label), *n);
  }
  return s;
}

std::string ago(std::int64_t now_ms, std::int64_t then_ms) {
  const std::int64_t s = std::max<std::int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 120) return std::to_string(s) + " s ago";
  if (s < 7200) return std::to_string(s / 60) + " min ago";
  return std::to_string(s / 3600) + " h ago";
}

std::string daemon_line(const GatewayStatus& s) {
  if (s.lock_holder && !s.serving) {
    return "not serving: the data directory is held by " + describe(*s.lock_holder);
  }
  if (!s.serving) return "not running";
  std::string line = "running, " + describe(*s.lock_holder);
  if (!s.runtime) return line + "; no status file yet";
  line += ", up since " + storage::format_instant(s.runtime->started_ms) + ", version " +
          s.runtime->version;
  line += s.runtime_stale ? "; status file STALE (updated " : "; status updated ";
  return line + ago(s.now_ms, s.runtime->updated_ms) + (s.runtime_stale ? ")" : "");
}

std::string counts_text(const StoreStatus& store) {
  if (!store.problem.empty()) return "unreadable: " + store.problem;
  std::vector<std::string> parts;
  for (const auto& [label, n] : store.counts) parts.push_back(std::to_string(n) + " " + label);
  return joined(parts);
}

}  // namespace

Result<OperationsArgs> parse_status_command(std::span<const std::string_view> words) {
  return parse_operations_args(words, {"status", /*takes_file=*/false, /*takes_json=*/true});
}

GatewayStatus collect_status(const std::string& config_file, const GatewayConfig& config,
                             std::int64_t now_ms) {
  GatewayStatus s;
  s.version = CG_VERSION;
  s.config_file = config_file;
  s.data_dir = config.data_dir.string();
  s.node_name = config.node_name;
  s.now_ms = now_ms;
  if (struct statvfs st{}; ::statvfs(config.data_dir.c_str(), &st) == 0) {
    s.disk_free_bytes =
        static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
    s.disk_total_bytes =
        static_cast<std::int64_t>(st.f_blocks) * static_cast<std::int64_t>(st.f_frsize);
  }
  s.lock_holder = DataDirLock::holder(config.data_dir);
  s.serving = s.lock_holder && s.lock_holder->command == "serve";
  if (auto runtime = read_runtime_status(config.data_dir)) {
    s.runtime = std::move(*runtime);
    s.runtime_stale = !s.serving || s.runtime->pid != s.lock_holder->pid ||
                      now_ms - s.runtime->updated_ms > kStaleAfterMs;
  }
  std::error_code ec;
  for (const auto& db : known_databases()) {
    if (fs::exists(config.data_dir / db.file, ec))
      s.stores.push_back(store_status(config.data_dir, db));
  }
  return s;
}

void print_status(const GatewayStatus& s, std::ostream& out) {
  std::string disk = "?";
  if (s.disk_free_bytes >= 0) {
    disk = byte_size(s.disk_free_bytes) + " free of " + byte_size(s.disk_total_bytes);
  }
  const std::vector<std::vector<std::string>> head{
      {"clinic-gateway", s.version}, {"config", s.config_file},
      {"node", s.node_name},         {"data dir", s.data_dir + " (" + disk + ")"},
      {"daemon", daemon_line(s)},
  };
  print_table(head, out);
  if (s.runtime && !s.runtime_stale) {
    out << "\nlisteners:\n";
    std::vector<std::vector<std::string>> rows{{"  name", "address", "port", "tls"}};
    for (const auto& l : s.runtime->listeners) {
      rows.push_back({"  " + l.name, l.address, std::to_string(l.port), l.tls ? "yes" : "no"});
    }
    print_table(rows, out);
  }
  out << "\nstores:\n";
  std::vector<std::vector<std::string>> rows{{"  database", "size", "wal", "schema", "rows"}};
  for (const auto& store : s.stores) {
    rows.push_back({"  " + store.file, byte_size(store.bytes), byte_size(store.wal_bytes),
                    store.schema_version ? std::to_string(*store.schema_version) : "?",
                    counts_text(store)});
  }
  print_table(rows, out);
  if (s.runtime && !s.runtime->recent_errors.empty()) {
    out << "\nrecent errors" << (s.runtime_stale ? " (of the last run)" : "") << ":\n";
    for (const auto& e : s.runtime->recent_errors) {
      out << "  " << storage::format_instant(e.at_ms) << "  " << e.message << "\n";
    }
  }
}

std::string status_json(const GatewayStatus& s) {
  json::array stores;
  for (const auto& store : s.stores) {
    json::object counts;
    for (const auto& [label, n] : store.counts) counts[label] = n;
    json::object o{{"file", store.file},
                   {"bytes", store.bytes},
                   {"wal_bytes", store.wal_bytes},
                   {"counts", std::move(counts)}};
    if (store.schema_version) o["schema_version"] = *store.schema_version;
    if (!store.problem.empty()) o["problem"] = store.problem;
    stores.push_back(std::move(o));
  }
  json::object daemon{{"running", s.serving}};
  if (s.lock_holder) {
    daemon["pid"] = static_cast<std::int64_t>(s.lock_holder->pid);
    daemon["lock_holder"] = s.lock_holder->command;
  }
  json::object o{{"version", s.version},
                 {"config_file", s.config_file},
                 {"node_name", s.node_name},
                 {"data_dir", s.data_dir},
                 {"disk_free_bytes", s.disk_free_bytes},
                 {"disk_total_bytes", s.disk_total_bytes},
                 {"daemon", std::move(daemon)},
                 {"stores", std::move(stores)}};
  if (s.runtime) {
    json::value runtime = json::parse(runtime_status_json(*s.runtime));
    runtime.as_object()["stale"] = s.runtime_stale;
    o["runtime"] = std::move(runtime);
  }
  return json::serialize(o) + "\n";
}

int run_status_command(const OperationsArgs& command, const GatewayConfig& config,
                       std::ostream& out, std::ostream& err) {
  std::error_code ec;
  if (!fs::is_directory(config.data_dir, ec)) {
    err << "no data directory at " << config.data_dir.string() << " (is data_dir right?)\n";
    return 1;
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const GatewayStatus status = collect_status(command.config_file, config, now);
  if (command.json) {
    out << status_json(status);
  } else {
    print_status(status, out);
  }
  return 0;
}

}  // namespace cg::gateway
