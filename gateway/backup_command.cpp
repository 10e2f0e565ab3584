#include "gateway/backup_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "gateway/backup_archive.hpp"
#include "gateway/data_dir.hpp"
#include "gateway/text_table.hpp"
#include "storage/database_maintenance.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What goes into the archive from the data directory.
struct DataDirContents {
  std::vector<std::string> databases;  // top-level *.db, in copy order
  std::vector<fs::path> files;         // every other regular file, relative
};

// The databases in known_databases() order, any other *.db (a newer build's) before
// audit.db; then the other regular files, keys/ included. Links and sockets are skipped.
Result<DataDirContents> list_data_dir(const fs::path& dir) {
  DataDirContents contents;
  std::vector<std::string> others;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_transient_file(name) || !it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const fs::path relative = it->path().lexically_relative(dir);
    if (it.depth() == 0 && name.ends_with(".db")) {
      if (!known_database(name)) others.push_back(name);
      continue;
    }
    contents.files.push_back(relative);
  }
  if (ec) return Error::unavailable("cannot list " + dir.string() + ": " + ec.message());
  std::sort(others.begin(), others.end());
  std::sort(contents.files.begin(), contents.files.end());
  for (const auto& db : known_databases()) {
    if (db.file == "audit.db") {
      contents.databases.insert(contents.databases.end(), others.begin(), others.end());
    }
    if (fs::exists(dir / db.file, ec)) contents.databases.emplace_back(db.file);
  }
  return contents;
}

// Copies one database through a temporary file beside the backup, checks the copy and
// appends it as data/<name>.
Result<ManifestFile> add_database(BackupWriter& writer, const fs::path& data_dir,
                                  const std::string& name, const fs::path& out_file) {
  fs::path copy = out_file;
  copy += "." + name + ".tmp";
  ::unlink(copy.c_str());  // a dead run's
  struct Cleanup {
    fs::path path;
    ~Cleanup() { ::unlink(path.c_str()); }
  } cleanup{copy};
  if (auto s = storage::copy_database(data_dir / name, copy); !s) return s.take_error();
  auto check = storage::quick_check(copy);
  if (!check) return check.take_error();
  if (*check != "ok") return Error::internal(name + " fails its integrity check: " + *check);
  auto version = storage::schema_version(copy);
  if (!version) return version.take_error();
  // The check may have left SQLite's side files; the copy alone goes in.
  for (const char* side : {"-wal", "-shm", "-journal"}) ::unlink((copy.string() + side).c_str());
  auto added = writer.add_file(copy, std::string(kDataPrefix) + name);
  if (!added) return added.take_error();
  added->schema_version = *version;
  return added;
}

// Opens FILE.tmp afresh: 0600 whatever the umask, never through a link.
Result<int> open_temporary(const fs::path& temporary) {
  ::unlink(temporary.c_str());
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return Error::unavailable("cannot create " + temporary.string() + ": " + reason);
  }
  return fd;
}

// Everything into the open archive; the manifest last.
Status write_backup(BackupWriter& writer, const OperationsArgs& command,
                    const GatewayConfig& config, const DataDirContents& contents, std::ostream& out,
                    std::ostream& err) {
  Manifest manifest;
  manifest.gateway_version = CG_VERSION;
  manifest.created = storage::format_instant(now_ms());
  manifest.node_name = config.node_name;
  manifest.data_dir = config.data_dir.string();
  std::vector<std::vector<std::string>> rows{{"file", "size", "schema", "sha256"}};
  auto note = [&](const ManifestFile& f) {
    rows.push_back({f.path, byte_size(f.size),
                    f.schema_version ? std::to_string(*f.schema_version) : "-",
                    f.sha256.substr(0, 16) + "…"});
    manifest.files.push_back(f);
  };
  for (const auto& file : contents.files) {
    auto added = writer.add_file(config.data_dir / file, std::string(kDataPrefix) + file.string());
    if (!added) return added.take_error();
    note(*added);
  }
  for (const auto& name : contents.databases) {
    auto added = add_database(writer, config.data_dir, name, command.file);
    if (!added) return added.take_error();
    note(*added);
  }
  if (auto added =
          writer.add_file(command.config_file, std::string(kConfigPrefix) + "gateway.toml")) {
    note(*added);
  } else {
    err << "note: the config file is not in the backup: " << added.error().message << "\n";
  }
  if (auto s = writer.add_bytes(kManifestName, manifest_json(manifest)); !s) return s;
  if (auto s = writer.finish(); !s) return s;
  print_table(rows, out);
  return ok_status();
}

}  // namespace

Result<OperationsArgs> parse_backup_command(std::span<const std::string_view> words) {
  return parse_operations_args(words, {"backup", /*takes_file=*/true, /*takes_json=*/false});
}

int run_backup_command(const OperationsArgs& command, const GatewayConfig& config,
                       std::ostream& out, std::ostream& err) {
  std::error_code ec;
  if (!fs::exists(config.data_dir / "clinical.db", ec)) {
    err << "no clinical.db in " << config.data_dir.string()
        << " (is data_dir right, and has the gateway run?)\n";
    return 1;
  }
  // A backup inside the data directory would be in the next one, and the next.
  const fs::path data_dir = fs::weakly_canonical(config.data_dir, ec);
  const fs::path backup_dir =
      fs::weakly_canonical(fs::absolute(command.file, ec).parent_path(), ec);
  const auto inside =
      std::mismatch(data_dir.begin(), data_dir.end(), backup_dir.begin(), backup_dir.end());
  if (!ec && inside.first == data_dir.end()) {
    err << "backup refused: " << command.file.string()
        << " is inside the data directory; write it elsewhere\n";
    return 1;
  }
  auto contents = list_data_dir(config.data_dir);
  if (!contents) {
    err << "backup failed: " << contents.error().message << "\n";
    return 1;
  }
  fs::path temporary = command.file;
  temporary += ".tmp";
  auto fd = open_temporary(temporary);
  if (!fd) {
    err << "backup failed: " << fd.error().message << "\n";
    return 1;
  }
  Status written = [&]() -> Status {
    auto writer = BackupWriter::open(*fd);
    if (!writer) return writer.take_error();
    return write_backup(**writer, command, config, *contents, out, err);
  }();
  if (written && ::fsync(*fd) != 0) written = Error::unavailable(std::strerror(errno));
  ::close(*fd);
  if (written && ::rename(temporary.c_str(), command.file.c_str()) != 0) {
    written = Error::unavailable("cannot rename to " + command.file.string() + ": " +
                                 std::strerror(errno));
  }
  if (written) written = sync_directory(backup_dir);
  if (!written) {
    ::unlink(temporary.c_str());
    err << "backup failed: " << written.error().message << "\n";
    return 1;
  }
  out << "backup written to " << command.file.string() << " ("
      << byte_size(fs::file_size(command.file, ec))
      << ", mode 0600): it holds the token signing key and patient data, keep it where only "
         "administrators can read it\n";
  return 0;
}

}  // namespace cg::gateway
