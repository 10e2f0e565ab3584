#pragma once
// The backup file of `clinic-gateway backup` and `restore`: one tar archive (POSIX ustar;
// pax headers only where ustar cannot say something, such as a file over 8 GiB) written and
// read with libarchive, so `tar tvf` lists it and `tar xf` unpacks it by hand:
//
//   data/<file>           the data directory's state (data_dir.hpp): each database as one
//                         consistent copy, the token signing key under data/keys/
//   config/gateway.toml   the configuration it ran with, for reference (restore leaves
//                         /etc alone)
//   manifest.json         written last: format and gateway version, creation time, node
//                         name, and each file's path, size, SHA-256 and (databases) schema
//
// Reading accepts the archive also compressed (gzip, xz, zstd: `zstd backup.tar`).
// Thread-safety: a BackupWriter is used by one thread; the functions are pure or own
// their files.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

struct archive;

namespace cg::gateway {

inline constexpr int kBackupFormatVersion = 1;
inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr std::string_view kDataPrefix = "data/";
inline constexpr std::string_view kConfigPrefix = "config/";

struct ManifestFile {
  std::string path;  // in the archive: "data/clinical.db"
  std::int64_t size = 0;
  std::string sha256;                          // lower-case hex
  std::optional<std::int64_t> schema_version;  // databases: PRAGMA user_version
  bool operator==(const ManifestFile&) const = default;
};

struct Manifest {
  int format_version = kBackupFormatVersion;
  std::string gateway_version;
  std::string created;  // UTC, "2026-11-21T19:40:00Z"
  std::string node_name;
  std::string data_dir;  // where it was taken from
  std::vector<ManifestFile> files;
};

std::string manifest_json(const Manifest& manifest);
// Errors: kInvalid naming what is missing or malformed.
Result<Manifest> parse_manifest(std::string_view text);

// Writes a backup archive to a file descriptor the caller opened (and syncs and closes).
class BackupWriter {
 public:
  // Errors: kInternal when libarchive cannot start.
  static Result<std::unique_ptr<BackupWriter>> open(int fd);
  ~BackupWriter();

  // Appends the regular file `source` as `name` (mode 0600), streaming it through SHA-256.
  // Errors: kUnavailable (reading or writing failed).
  Result<ManifestFile> add_file(const std::filesystem::path& source, std::string_view name);
  Status add_bytes(std::string_view name, std::string_view bytes);
  // Writes the end of the archive; nothing may be added after it.
  Status finish();

 private:
  explicit BackupWriter(struct archive* a) : archive_(a) {}
  struct archive* archive_;
};

// What extract_backup found: the manifest's text and each other entry as read.
struct ExtractedBackup {
  std::string manifest_text;
  std::vector<ManifestFile> files;  // size and sha256 as read; no schema_version
};

// Unpacks the data/ entries of the archive `file` into `target` (an existing, empty
// directory; files 0600, directories 0700, each synced), and reads the others without
// writing them. Only regular files and directories under data/ or config/ and the manifest
// are accepted: an absolute name, "..", a link or a device is an error, as is a second
// entry of the same name. Errors: kNotFound (no file), kInvalid (not a backup archive,
// damaged, an entry refused), kUnavailable (writing failed).
Result<ExtractedBackup> extract_backup(const std::filesystem::path& file,
                                       const std::filesystem::path& target);

// Checks that `found` is exactly the manifest's files with the same sizes and checksums and
// that the format version is one this build reads. Errors: kInvalid naming the first
// difference ("data/clinical.db: checksum differs from the manifest").
Status verify_manifest(const Manifest& manifest, const std::vector<ManifestFile>& found);

// fsync(2) on a directory, so the names created or renamed in it are durable.
// kUnavailable when it cannot.
Status sync_directory(const std::filesystem::path& dir);

}  // namespace cg::gateway
