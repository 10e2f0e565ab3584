#include "gateway/backup_archive.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "gateway/libarchive_runtime.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::size_t kChunk = 64 * 1024;

// libarchive's functions. Only called once BackupWriter::open or extract_backup has loaded
// the library (libarchive_runtime.hpp says why it is not linked).
const LibArchive& lib() {
  return **libarchive();
}
constexpr std::int64_t kMaxManifestBytes = 4 * 1024 * 1024;

// SHA-256 over a stream of chunks.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void add(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, digest.data(), &n);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string text;
    for (unsigned int i = 0; i < n; ++i) {
      text += kHex[digest[i] >> 4];
      text += kHex[digest[i] & 0xf];
    }
    return text;
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::string archive_problem(struct archive* a) {
  const char* text = lib().archive_error_string(a);
  return text ? text : "unknown archive error";
}

// A new entry header: a regular file, 0600, owned by nobody in particular.
Status write_header(struct archive* a, std::string_view name, std::int64_t size) {
  struct archive_entry* entry = lib().archive_entry_new();
  lib().archive_entry_set_pathname(entry, std::string(name).c_str());
  lib().archive_entry_set_size(entry, size);
  lib().archive_entry_set_filetype(entry, AE_IFREG);
  lib().archive_entry_set_perm(entry, 0600);
  lib().archive_entry_set_mtime(entry, std::time(nullptr), 0);
  const int rc = lib().archive_write_header(a, entry);
  lib().archive_entry_free(entry);
  if (rc != ARCHIVE_OK) return Error::unavailable("cannot write the backup: " + archive_problem(a));
  return ok_status();
}

Status write_data(struct archive* a, const char* data, std::size_t n) {
  if (lib().archive_write_data(a, data, n) != static_cast<la_ssize_t>(n)) {
    return Error::unavailable("cannot write the backup: " + archive_problem(a));
  }
  return ok_status();
}

// Names the archive may hold: the manifest, or a relative path under data/ or config/
// with no empty, "." or ".." component.
bool acceptable_name(std::string_view name) {
  if (name == kManifestName || name == "data" || name == "config") return true;
  if (!name.starts_with(kDataPrefix) && !name.starts_with(kConfigPrefix)) return false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == name.size()) return true;
    start = end + 1;
  }
}

// Creates the directories of `relative` under `target` (0700), each synced into its parent.
Status make_parents(const fs::path& target, const fs::path& relative) {
  fs::path dir = target;
  for (const auto& part : relative.parent_path()) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Error::unavailable("cannot create " + dir.string() + ": " + std::strerror(errno));
    }
    if (auto s = sync_directory(dir.parent_path()); !s) return s;
  }
  return ok_status();
}

// Reads the current entry's data into `fd` (or nowhere when fd < 0) and into `text` (when
// given), hashing it; the size read must be the header's.
Result<ManifestFile> read_entry(struct archive* a, std::string_view name, std::int64_t size, int fd,
                                std::string* text) {
  Sha256 sha;
  std::int64_t total = 0;
  std::array<char, kChunk> buffer{};
  for (;;) {
    const la_ssize_t n = lib().archive_read_data(a, buffer.data(), buffer.size());
    if (n < 0) return Error::invalid(std::string(name) + ": " + archive_problem(a));
    if (n == 0) break;
    sha.add(buffer.data(), static_cast<std::size_t>(n));
    total += n;
    if (text) text->append(buffer.data(), static_cast<std::size_t>(n));
    for (std::size_t done = 0; fd >= 0 && done < static_cast<std::size_t>(n);) {
      const ssize_t w = ::write(fd, buffer.data() + done, static_cast<std::size_t>(n) - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return Error::unavailable(std::string("cannot write: ") + std::strerror(errno));
      done += static_cast<std::size_t>(w);
    }
  }
  if (total != size) return Error::invalid(std::string(name) + ": truncated");
  ManifestFile file;
  file.path = std::string(name);
  file.size = total;
  file.sha256 = sha.hex();
  return file;
}

// One data/ entry into target/<name without data/>, synced.
Result<ManifestFile> extract_file(struct archive* a, std::string_view name, std::int64_t size,
                                  const fs::path& target) {
  const fs::path relative(name.substr(kDataPrefix.size()));
  if (auto s = make_parents(target, relative); !s) return s.take_error();
  const fs::path path = target / relative;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return Error::unavailable("cannot create " + path.string() + ": " + std::strerror(errno));
  auto read = read_entry(a, name, size, fd, nullptr);
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (read && !synced) return Error::unavailable("cannot sync " + path.string());
  return read;
}

struct ArchiveReader {
  struct archive* a = lib().archive_read_new();
  ~ArchiveReader() { lib().archive_read_free(a); }
};

}  // namespace

Status sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Error::unavailable("cannot open " + dir.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    return Error::unavailable("cannot sync " + dir.string() + ": " + std::strerror(errno));
  return ok_status();
}

std::string manifest_json(const Manifest& m) {
  json::array files;
  for (const auto& f : m.files) {
    json::object o{{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}};
    if (f.schema_version) o["schema_version"] = *f.schema_version;
    files.push_back(std::move(o));
  }
  json::object o{{"format", "clinic-gateway-backup"},
                 {"format_version", m.format_version},
                 {"gateway_version", m.gateway_version},
                 {"created", m.created},
                 {"node_name", m.node_name},
                 {"data_dir", m.data_dir},
                 {"files", std::move(files)}};
  return json::serialize(o) + "\n";
}

Result<Manifest> parse_manifest(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return Error::invalid("manifest.json is not a JSON object");
  const json::object& o = value.as_object();
  const auto* format = o.if_contains("format");
  const auto* version = o.if_contains("format_version");
  const auto* files = o.if_contains("files");
  if (!format || !format->is_string() || format->as_string() != "clinic-gateway-backup" ||
      !version || !version->is_int64() || !files || !files->is_array()) {
    return Error::invalid("manifest.json is not a clinic-gateway backup manifest");
  }
  Manifest m;
  m.format_version = static_cast<int>(version->as_int64());
  auto text_of = [&o](std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  m.gateway_version = text_of("gateway_version");
  m.created = text_of("created");
  m.node_name = text_of("node_name");
  m.data_dir = text_of("data_dir");
  for (const auto& item : files->as_array()) {
    const auto* f = item.if_object();
    const auto* path = f ? f->if_contains("path") : nullptr;
    const auto* size = f ? f->if_contains("size") : nullptr;
    const auto* sha = f ? f->if_contains("sha256") : nullptr;
    if (!path || !path->is_string() || !size || !size->is_int64() || !sha || !sha->is_string()) {
      return Error::invalid("manifest.json: a file entry lacks path, size or sha256");
    }
    ManifestFile file;
    file.path = std::string(path->as_string());
    file.size = size->as_int64();
    file.sha256 = std::string(sha->as_string());
    if (const auto* schema = f->if_contains("schema_version"); schema && schema->is_int64()) {
      file.schema_version = schema->as_int64();
    }
    m.files.push_back(std::move(file));
  }
  return m;
}

Result<std::unique_ptr<BackupWriter>> BackupWriter::open(int fd) {
  if (auto loaded = libarchive(); !loaded) return loaded.take_error();
  struct archive* a = lib().archive_write_new();
  if (a == nullptr) return Error::internal("libarchive: out of memory");
  if (lib().archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      lib().archive_write_open_fd(a, fd) != ARCHIVE_OK) {
    Error error = Error::internal("libarchive: " + archive_problem(a));
    lib().archive_write_free(a);
    return error;
  }
  return std::unique_ptr<BackupWriter>(new BackupWriter(a));
}

BackupWriter::~BackupWriter() {
  lib().archive_write_free(archive_);  // closes when finish() did not
}

Result<ManifestFile> BackupWriter::add_file(const fs::path& source, std::string_view name) {
  const int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Error::unavailable("cannot read " + source.string() + ": " + std::strerror(errno));
  struct stat st {};
  Result<ManifestFile> result = Error::unavailable("cannot read " + source.string());
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    result = [&]() -> Result<ManifestFile> {
      if (auto s = write_header(archive_, name, st.st_size); !s) return s.take_error();
      Sha256 sha;
      std::array<char, kChunk> buffer{};
      std::int64_t left = st.st_size;
      while (left > 0) {
        const ssize_t n = ::read(fd, buffer.data(),
                                 static_cast<std::size_t>(std::min<std::int64_t>(left, kChunk)));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Error::unavailable("cannot read " + source.string() + ": it shrank");
        sha.add(buffer.data(), static_cast<std::size_t>(n));
        if (auto s = write_data(archive_, buffer.data(), static_cast<std::size_t>(n)); !s) {
          return s.take_error();
        }
        left -= n;
      }
      ManifestFile file;
      file.path = std::string(name);
      file.size = st.st_size;
      file.sha256 = sha.hex();
      return file;
    }();
  }
  ::close(fd);
  return result;
}

Status BackupWriter::add_bytes(std::string_view name, std::string_view bytes) {
  if (auto s = write_header(archive_, name, static_cast<std::int64_t>(bytes.size())); !s) return s;
  return write_data(archive_, bytes.data(), bytes.size());
}

Status BackupWriter::finish() {
  if (lib().archive_write_close(archive_) != ARCHIVE_OK) {
    return Error::unavailable("cannot write the backup: " + archive_problem(archive_));
  }
  return ok_status();
}

Result<ExtractedBackup> extract_backup(const fs::path& file, const fs::path& target) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return Error::not_found("no backup file " + file.string());
  if (auto loaded = libarchive(); !loaded) return loaded.take_error();
  ArchiveReader reader;
  lib().archive_read_support_filter_all(reader.a);
  lib().archive_read_support_format_tar(reader.a);
  if (lib().archive_read_open_filename(reader.a, file.c_str(), kChunk) != ARCHIVE_OK) {
    return Error::invalid(file.string() + ": " + archive_problem(reader.a));
  }
  ExtractedBackup backup;
  bool has_manifest = false;
  std::set<std::string> seen;
  struct archive_entry* entry = nullptr;
  int rc = ARCHIVE_OK;
  while ((rc = lib().archive_read_next_header(reader.a, &entry)) == ARCHIVE_OK) {
    const char* raw_name = lib().archive_entry_pathname(entry);
    std::string name = raw_name ? raw_name : "";
    const auto type = lib().archive_entry_filetype(entry);
    if (type == AE_IFDIR && name.ends_with('/')) name.pop_back();
    if (!acceptable_name(name) || (type != AE_IFREG && type != AE_IFDIR) ||
        (type == AE_IFDIR && name == kManifestName)) {
      return Error::invalid(file.string() + ": unexpected entry '" + name +
                            "' (not a clinic-gateway backup, or tampered with)");
    }
    if (!seen.insert(name).second) {
      return Error::invalid(file.string() + ": entry '" + name + "' appears twice");
    }
    if (type == AE_IFDIR) continue;  // made as files need them
    const std::int64_t size = lib().archive_entry_size(entry);
    Result<ManifestFile> read = Error::internal("unread");
    if (name == kManifestName) {
      if (size > kMaxManifestBytes) return Error::invalid("manifest.json is too large");
      read = read_entry(reader.a, name, size, -1, &backup.manifest_text);
      has_manifest = true;
    } else if (name.starts_with(kDataPrefix)) {
      read = extract_file(reader.a, name, size, target);
    } else {
      read = read_entry(reader.a, name, size, -1, nullptr);
    }
    if (!read) return read.take_error();
    if (name != kManifestName) backup.files.push_back(std::move(*read));
  }
  if (rc != ARCHIVE_EOF) return Error::invalid(file.string() + ": " + archive_problem(reader.a));
  if (!has_manifest) return Error::invalid(file.string() + ": no manifest.json (incomplete?)");
  if (auto s = sync_directory(target); !s) return s.take_error();
  return backup;
}

Status verify_manifest(const Manifest& manifest, const std::vector<ManifestFile>& found) {
  if (manifest.format_version < 1 || manifest.format_version > kBackupFormatVersion) {
    return Error::invalid("backup format version " + std::to_string(manifest.format_version) +
                          " is newer than this build reads (" +
                          std::to_string(kBackupFormatVersion) + ")");
  }
  std::map<std::string, const ManifestFile*> read;
  for (const auto& f : found) read[f.path] = &f;
  for (const auto& expected : manifest.files) {
    auto it = read.find(expected.path);
    if (it == read.end())
      return Error::invalid(expected.path + ": in the manifest, not in the archive");
    if (it->second->size != expected.size) {
      return Error::invalid(expected.path + ": size differs from the manifest");
    }
    if (it->second->sha256 != expected.sha256) {
      return Error::invalid(expected.path + ": checksum differs from the manifest");
    }
    read.erase(it);
  }
  if (!read.empty())
    return Error::invalid(read.begin()->first + ": in the archive, not in the manifest");
  return ok_status();
}

}  // namespace cg::gateway
