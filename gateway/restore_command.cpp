#include "gateway/restore_command.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>

#include "gateway/backup_archive.hpp"
#include "gateway/data_dir.hpp"
#include "storage/database_maintenance.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

// The data directory without a trailing slash, so that siblings can be named after it.
fs::path normal_directory(const fs::path& dir) {
  std::error_code ec;
  fs::path normal = fs::absolute(dir, ec).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  return normal;
}

fs::path sibling(const fs::path& dir, std::string_view suffix) {
  return dir.parent_path() / (dir.filename().string() + std::string(suffix));
}

// The schema of every database in the unpacked backup: as the manifest says, and not newer
// than this build knows.
Status check_schemas(const Manifest& manifest, const fs::path& staging) {
  bool has_clinical = false;
  for (const auto& file : manifest.files) {
    if (!file.path.starts_with(kDataPrefix) || !file.schema_version) continue;
    const std::string name = file.path.substr(kDataPrefix.size());
    has_clinical = has_clinical || name == "clinical.db";
    auto version = storage::schema_version(staging / name);
    if (!version) return version.take_error();
    if (*version != *file.schema_version) {
      return Error::invalid(name + " has schema " + std::to_string(*version) +
                            ", the manifest says " + std::to_string(*file.schema_version));
    }
    const KnownDatabase* known = known_database(name);
    if (known && *version > known->schema_version) {
      return Error::invalid(
          name + " has schema " + std::to_string(*version) + ", newer than this build knows (" +
          std::to_string(known->schema_version) + "): restore with clinic-gateway " +
          manifest.gateway_version + " or later");
    }
  }
  if (!has_clinical) return Error::invalid("the backup has no clinical.db");
  return ok_status();
}

// Mode of `mode_of`'s directory on `dir`; every entry under it owned by uid:gid when root.
Status take_ownership(const fs::path& dir, const struct stat& like) {
  if (::chmod(dir.c_str(), like.st_mode & 07777) != 0) {
    return Error::unavailable("cannot set the mode of " + dir.string() + ": " +
                              std::strerror(errno));
  }
  if (::geteuid() != 0) return ok_status();
  auto own = [&](const fs::path& path) -> Status {
    if (::lchown(path.c_str(), like.st_uid, like.st_gid) != 0) {
      return Error::unavailable("cannot give " + path.string() +
                                " to the data directory's owner: " + std::strerror(errno));
    }
    return ok_status();
  };
  if (auto s = own(dir); !s) return s;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (auto s = own(it->path()); !s) return s;
  }
  if (ec) return Error::unavailable("cannot list " + dir.string() + ": " + ec.message());
  return ok_status();
}

// Puts `staging` in the place of `dir`, and the old `dir` at `keep`.
Status swap_in(const fs::path& staging, const fs::path& dir, const fs::path& keep) {
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
    if (::rename(staging.c_str(), keep.c_str()) != 0) {
      return Error::unavailable("restored, but the old data directory stays at " +
                                staging.string() + ": " + std::strerror(errno));
    }
  } else if (errno == EINVAL || errno == ENOSYS) {  // no RENAME_EXCHANGE on this file system
    if (::rename(dir.c_str(), keep.c_str()) != 0) {
      return Error::unavailable("cannot move " + dir.string() + " aside: " + std::strerror(errno));
    }
    if (::rename(staging.c_str(), dir.c_str()) != 0) {
      const std::string reason = std::strerror(errno);
      ::rename(keep.c_str(), dir.c_str());
      return Error::unavailable("cannot move the restored directory into place: " + reason);
    }
  } else {
    return Error::unavailable("cannot swap " + dir.string() + ": " + std::strerror(errno));
  }
  return sync_directory(dir.parent_path());
}

struct Staging {
  fs::path path;
  bool keep = false;
  ~Staging() {
    std::error_code ec;
    if (!keep) fs::remove_all(path, ec);
  }
};

// Steps 2 and 3 up to the swap; the manifest read.
Result<Manifest> unpack_and_check(const OperationsArgs& command, const fs::path& staging,
                                  const struct stat& like) {
  auto extracted = extract_backup(command.file, staging);
  if (!extracted) return extracted.take_error();
  auto manifest = parse_manifest(extracted->manifest_text);
  if (!manifest) return manifest.take_error();
  if (auto s = verify_manifest(*manifest, extracted->files); !s) return s.take_error();
  if (auto s = check_schemas(*manifest, staging); !s) return s.take_error();
  // The checks opened the databases; SQLite removed its side files on close, but a crash
  // of this process must not leave a -wal that is not the backup's.
  std::error_code ec;
  for (auto it = fs::directory_iterator(staging, ec); !ec && it != fs::end(it); it.increment(ec)) {
    std::error_code ignored;
    if (is_transient_file(it->path().filename().string())) fs::remove(it->path(), ignored);
  }
  if (auto s = take_ownership(staging, like); !s) return s.take_error();
  return manifest;
}

}  // namespace

Result<OperationsArgs> parse_restore_command(std::span<const std::string_view> words) {
  return parse_operations_args(words, {"restore", /*takes_file=*/true, /*takes_json=*/false});
}

int run_restore_command(const OperationsArgs& command, const GatewayConfig& config,
                        std::ostream& out, std::ostream& err, std::string_view now_text) {
  const fs::path dir = normal_directory(config.data_dir);
  const std::string stamp = now_text.empty() ? utc_stamp() : std::string(now_text);
  struct stat like {};
  const bool exists = ::stat(dir.c_str(), &like) == 0;
  std::optional<DataDirLock> lock;
  if (exists) {
    struct stat parent {};
    if (::stat(dir.parent_path().c_str(), &parent) == 0 && parent.st_dev != like.st_dev) {
      err << "restore refused: " << dir.string()
          << " is a mount point, which cannot be swapped; restore into a directory below it "
             "(node.data_dir) or unpack the backup by hand\n";
      return 1;
    }
    auto taken = DataDirLock::acquire(dir, "restore");
    if (!taken) {
      err << "restore refused: " << taken.error().message
          << (taken.error().kind == ErrorKind::kConflict
                  ? "; stop the gateway first (systemctl stop clinic-gateway)"
                  : "")
          << "\n";
      return 1;
    }
    lock.emplace(std::move(*taken));
  } else {
    like.st_mode = S_IFDIR | 0700;
    like.st_uid = ::geteuid();
    like.st_gid = ::getegid();
  }
  Staging staging{sibling(dir, ".restore-" + stamp)};
  if (::mkdir(staging.path.c_str(), 0700) != 0) {
    staging.keep = errno == EEXIST;  // not ours to remove
    err << "restore failed: cannot create " << staging.path.string() << ": " << std::strerror(errno)
        << "\n";
    return 1;
  }
  auto manifest = unpack_and_check(command, staging.path, like);
  if (!manifest) {
    err << "restore refused: " << manifest.error().message << "\n"
        << "the data directory " << dir.string() << " is unchanged\n";
    return 1;
  }
  const fs::path keep = sibling(dir, ".before-restore-" + stamp);
  Status swapped = exists ? swap_in(staging.path, dir, keep)
                          : (::rename(staging.path.c_str(), dir.c_str()) == 0
                                 ? sync_directory(dir.parent_path())
                                 : Status(Error::unavailable(std::strerror(errno))));
  if (!swapped) {
    staging.keep = true;  // it may hold the old data now: nothing is removed
    err << "restore failed: " << swapped.error().message << "\n"
        << "check " << dir.string() << ", " << staging.path.string() << " and " << keep.string()
        << " by hand\n";
    return 1;
  }
  staging.keep = true;  // it is the data directory now (or the old one, renamed)
  out << "restored " << dir.string() << " from " << command.file.string() << " (taken "
      << manifest->created << " on " << (manifest->node_name.empty() ? "?" : manifest->node_name)
      << ", clinic-gateway " << manifest->gateway_version << ", " << manifest->files.size()
      << " files checked)\n";
  if (exists) {
    out << "the data directory as it was is now " << keep.string()
        << ": remove it once the gateway runs well on the restored data\n";
  }
  if (!manifest->node_name.empty() && manifest->node_name != config.node_name) {
    out << "note: the backup is of node '" << manifest->node_name << "', the config names '"
        << config.node_name << "'\n";
  }
  out << "the config file was not changed (the backup keeps a copy: tar -xOf "
      << command.file.string() << " config/gateway.toml)\n"
      << "start the gateway: systemctl start clinic-gateway (older schemas are migrated at "
         "start)\n";
  return 0;
}

}  // namespace cg::gateway
