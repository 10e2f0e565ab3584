#include "gateway/vacuum_command.hpp"

#include <sys/statvfs.h>

#include <vector>

#include "gateway/data_dir.hpp"
#include "gateway/text_table.hpp"
#include "storage/database_maintenance.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

std::int64_t free_bytes(const fs::path& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
}

// The databases present: the known ones, then any other *.db of a newer build.
std::vector<std::string> databases_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& db : known_databases()) {
    if (fs::is_regular_file(dir / db.file, ec)) names.emplace_back(db.file);
  }
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
    std::error_code ignored;
    const std::string name = it->path().filename().string();
    if (name.ends_with(".db") && !known_database(name) && it->is_regular_file(ignored)) {
      names.push_back(name);
    }
  }
  return names;
}

}  // namespace

std::int64_t database_bytes(const fs::path& file) {
  std::error_code ec;
  std::int64_t total = 0;
  for (const fs::path& part : {file, fs::path(file.string() + "-wal")}) {
    const auto size = fs::file_size(part, ec);
    if (!ec) total += static_cast<std::int64_t>(size);
  }
  return total;
}

Result<OperationsArgs> parse_vacuum_command(std::span<const std::string_view> words) {
  return parse_operations_args(words, {"vacuum", /*takes_file=*/false, /*takes_json=*/false});
}

int run_vacuum_command(const OperationsArgs&, const GatewayConfig& config, std::ostream& out,
                       std::ostream& err) {
  const fs::path& dir = config.data_dir;
  std::error_code ec;
  if (!fs::exists(dir / "clinical.db", ec)) {
    err << "no clinical.db in " << dir.string() << " (is data_dir right?)\n";
    return 1;
  }
  auto lock = DataDirLock::acquire(dir, "vacuum");
  if (!lock) {
    err << "vacuum refused: " << lock.error().message
        << (lock.error().kind == ErrorKind::kConflict
                ? "; VACUUM blocks every write while it runs: stop the gateway, vacuum, start "
                  "it again (systemctl stop clinic-gateway)"
                : "")
        << "\n";
    return 1;
  }
  std::vector<std::vector<std::string>> rows{{"database", "before", "after", "freed"}};
  int exit_code = 0;
  for (const auto& name : databases_in(dir)) {
    const fs::path file = dir / name;
    const std::int64_t before = database_bytes(file);
    if (free_bytes(dir) < before) {
      err << name << ": not vacuumed, VACUUM needs " << byte_size(before)
          << " free beside it and there is " << byte_size(free_bytes(dir)) << "\n";
      exit_code = 1;
      continue;
    }
    if (auto s = storage::vacuum_database(file); !s) {
      err << name << ": vacuum failed: " << s.error().message << "\n";
      exit_code = 1;
      continue;
    }
    const std::int64_t after = database_bytes(file);
    rows.push_back({name, byte_size(before), byte_size(after), byte_size(before - after)});
  }
  print_table(rows, out);
  return exit_code;
}

}  // namespace cg::gateway
