#include "gateway/backup_archive.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// An archive of `entries` (name → bytes), the manifest naming what it was given.
fs::path write_archive(const fs::path& file,
                       const std::vector<std::pair<std::string, std::string>>& entries,
                       const Manifest& manifest) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  {
    auto writer = BackupWriter::open(fd);
    REQUIRE(writer.ok());
    for (const auto& [name, bytes] : entries) REQUIRE((*writer)->add_bytes(name, bytes).ok());
    REQUIRE((*writer)->add_bytes(kManifestName, manifest_json(manifest)).ok());
    REQUIRE((*writer)->finish().ok());
  }
  ::close(fd);
  return file;
}

}  // namespace

TEST_CASE("the manifest reads back as written") {
  Manifest m;
  m.gateway_version = "1.2.3";
  m.created = "2026-11-21T19:40:00.000Z";
  m.node_name = "kisumu";
  m.data_dir = "/var/lib/clinic-gateway";
  m.files.push_back({"data/clinical.db", 4096, "ab", 7});
  m.files.push_back({"data/keys/token-signing-key.pem", 241, "cd", std::nullopt});
  auto read = parse_manifest(manifest_json(m));
  REQUIRE(read.ok());
  CHECK(read->format_version == kBackupFormatVersion);
  CHECK(read->gateway_version == "1.2.3");
  CHECK(read->node_name == "kisumu");
  CHECK(read->files == m.files);
  CHECK(parse_manifest("{}").error().kind == ErrorKind::kInvalid);
  CHECK(parse_manifest("[").error().kind == ErrorKind::kInvalid);
}

TEST_CASE("files written into the archive come out with their sizes and checksums") {
  storage::testing::TempDir dir;
  const fs::path source = dir.path() / "key.pem";
  std::ofstream(source) << "-----BEGIN PRIVATE KEY-----\n";
  const fs::path file = dir.path() / "backup.tar";
  Manifest manifest;
  {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    auto writer = BackupWriter::open(fd);
    REQUIRE(writer.ok());
    auto key = (*writer)->add_file(source, "data/keys/token-signing-key.pem");
    REQUIRE(key.ok());
    CHECK(key->size == 28);
    CHECK(key->sha256.size() == 64);
    manifest.files.push_back(*key);
    REQUIRE((*writer)->add_bytes("config/gateway.toml", "[node]\n").ok());
    REQUIRE((*writer)->add_bytes(kManifestName, manifest_json(manifest)).ok());
    REQUIRE((*writer)->finish().ok());
    ::close(fd);
  }
  const fs::path target = dir.path() / "restored";
  fs::create_directory(target);
  auto extracted = extract_backup(file, target);
  REQUIRE_MESSAGE(extracted.ok(), (extracted.ok() ? "" : extracted.error().message));
  CHECK(read_file(target / "keys" / "token-signing-key.pem") == read_file(source));
  CHECK_FALSE(fs::exists(target / "config"));  // read, not unpacked
  struct stat st {};
  REQUIRE(::stat((target / "keys").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(extracted->files.size() == 2);
  auto read_manifest = parse_manifest(extracted->manifest_text);
  REQUIRE(read_manifest.ok());
  // The config entry is not in this manifest: the check names it.
  auto verified = verify_manifest(*read_manifest, extracted->files);
  REQUIRE_FALSE(verified.ok());
  CHECK(verified.error().message == "config/gateway.toml: in the archive, not in the manifest");
  read_manifest->files.push_back(extracted->files[1]);
  CHECK(verify_manifest(*read_manifest, extracted->files).ok());
}

TEST_CASE("a changed byte, a missing file or a newer format fails the check") {
  Manifest m;
  m.files.push_back({"data/clinical.db", 3, "aaa", 7});
  std::vector<ManifestFile> found{{"data/clinical.db", 3, "aab", std::nullopt}};
  CHECK(verify_manifest(m, found).error().message ==
        "data/clinical.db: checksum differs from the manifest");
  found[0].size = 4;
  CHECK(verify_manifest(m, found).error().message ==
        "data/clinical.db: size differs from the manifest");
  CHECK(verify_manifest(m, {}).error().message ==
        "data/clinical.db: in the manifest, not in the archive");
  m.format_version = kBackupFormatVersion + 1;
  CHECK(verify_manifest(m, {}).error().message.find("newer than this build reads") !=
        std::string::npos);
}

TEST_CASE("entries outside data/ and config/, climbing out, or twice are refused") {
  storage::testing::TempDir dir;
  for (const char* name : {"../evil", "data/../../evil", "/etc/passwd", "data//x", "other/x"}) {
    const fs::path target = dir.path() / "t";
    fs::remove_all(target);
    fs::create_directory(target);
    write_archive(dir.path() / "bad.tar", {{name, "x"}}, Manifest{});
    auto extracted = extract_backup(dir.path() / "bad.tar", target);
    REQUIRE_FALSE_MESSAGE(extracted.ok(), name);
    CHECK_MESSAGE(extracted.error().message.find("unexpected entry") != std::string::npos, name);
    CHECK_FALSE(fs::exists(dir.path() / "evil"));
  }
  const fs::path target = dir.path() / "t2";
  fs::create_directory(target);
  write_archive(dir.path() / "twice.tar", {{"data/a", "1"}, {"data/a", "2"}}, Manifest{});
  CHECK(extract_backup(dir.path() / "twice.tar", target).error().message.find("appears twice") !=
        std::string::npos);
}

TEST_CASE("a file that is no archive, or one cut short, is not a backup") {
  storage::testing::TempDir dir;
  std::ofstream(dir.path() / "notes.txt") << "not a tar file at all, just some words";
  fs::create_directory(dir.path() / "t");
  auto notes = extract_backup(dir.path() / "notes.txt", dir.path() / "t");
  REQUIRE_FALSE(notes.ok());
  CHECK(notes.error().kind == ErrorKind::kInvalid);
  CHECK(extract_backup(dir.path() / "missing.tar", dir.path() / "t").error().kind ==
        ErrorKind::kNotFound);
  write_archive(dir.path() / "full.tar", {{"data/clinical.db", std::string(20000, 'x')}},
                Manifest{});
  const std::string whole = read_file(dir.path() / "full.tar");
  std::ofstream(dir.path() / "cut.tar", std::ios::binary) << whole.substr(0, 6000);
  fs::create_directory(dir.path() / "t3");
  auto cut = extract_backup(dir.path() / "cut.tar", dir.path() / "t3");
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().kind == ErrorKind::kInvalid);
}
