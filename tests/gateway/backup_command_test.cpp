#include "gateway/backup_command.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "gateway/backup_archive.hpp"
#include "gateway/data_dir.hpp"
#include "gateway/runtime_status.hpp"
#include "tests/gateway/operations_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using cg::gateway::testing::TestGateway;
namespace fs = std::filesystem;

namespace {

int backup(TestGateway& gw, const fs::path& file) {
  gw.out.str("");
  gw.err.str("");
  std::vector<std::string_view> words{file.c_str(), "--config", gw.config_file};
  auto command = parse_backup_command(words);
  REQUIRE(command.ok());
  return run_backup_command(*command, gw.config, gw.out, gw.err);
}

Manifest manifest_of(const fs::path& file, const fs::path& scratch) {
  fs::create_directories(scratch);
  auto extracted = extract_backup(file, scratch);
  REQUIRE_MESSAGE(extracted.ok(), (extracted.ok() ? "" : extracted.error().message));
  auto manifest = parse_manifest(extracted->manifest_text);
  REQUIRE(manifest.ok());
  REQUIRE(verify_manifest(*manifest, extracted->files).ok());
  return *manifest;
}

std::vector<std::string> paths_of(const Manifest& m) {
  std::vector<std::string> paths;
  for (const auto& f : m.files) paths.push_back(f.path);
  return paths;
}

}  // namespace

TEST_CASE("a backup holds every database, the signing key, the config and a manifest") {
  TestGateway gw;
  // Not state: these stay out.
  REQUIRE(write_runtime_status(gw.config.data_dir, RuntimeStatus{1, "v", "n", 1, 1, {}, {}}).ok());
  const fs::path file = gw.dir.path() / "backups" / "gw.tar";
  fs::create_directories(file.parent_path());
  REQUIRE_MESSAGE(backup(gw, file) == 0, gw.err.str());
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(fs::exists(file.string() + ".tmp"));
  for (const auto& entry : fs::directory_iterator(file.parent_path())) {
    CHECK_MESSAGE(entry.path() == file, entry.path().string());  // no copies left behind
  }
  const Manifest m = manifest_of(file, gw.dir.path() / "scratch");
  CHECK(paths_of(m) == std::vector<std::string>{"data/keys/token-signing-key.pem",
                                                "data/security.db", "data/clinical.db",
                                                "data/audit.db", "config/gateway.toml"});
  CHECK(m.node_name == "kisumu-clinic");
  CHECK(m.gateway_version == CG_VERSION);
  CHECK(m.created.size() == 24);
  for (const auto& f : m.files) {
    CHECK_MESSAGE(f.schema_version.has_value() == f.path.ends_with(".db"), f.path);
  }
  CHECK(m.files[2].schema_version == known_database("clinical.db")->schema_version);
  CHECK(gw.out.str().find("mode 0600") != std::string::npos);
}

TEST_CASE("a backup while writes go on is consistent and has what was there before it began") {
  TestGateway gw;
  auto store = storage::testing::open_store(gw.config.data_dir, store_config(gw.config));
  for (int i = 0; i < 50; ++i) {
    storage::testing::put(*store, "Patient", "before-" + std::to_string(i),
                          storage::testing::patient());
  }
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      storage::testing::put(*store, "Patient", "during-" + std::to_string(i),
                            storage::testing::patient());
    }
  });
  const fs::path file = gw.dir.path() / "gw.tar";
  const int code = backup(gw, file);
  stop = true;
  writer.join();
  store->close();
  REQUIRE_MESSAGE(code == 0, gw.err.str());
  const fs::path scratch = gw.dir.path() / "scratch";
  manifest_of(file, scratch);
  auto copy = storage::testing::open_store(scratch);
  for (int i = 0; i < 50; ++i) {
    auto head = copy->head("Patient", "before-" + std::to_string(i));
    REQUIRE(head.ok());
    CHECK(head->has_value());
  }
  CHECK(copy->integrity_check().ok());
  copy->close();
}

TEST_CASE("without clinical.db there is nothing to back up, and FILE is not touched") {
  TestGateway gw;
  gw.config.data_dir = gw.dir.path() / "elsewhere";
  const fs::path file = gw.dir.path() / "gw.tar";
  CHECK(backup(gw, file) == 1);
  CHECK(gw.err.str().find("no clinical.db") != std::string::npos);
  CHECK_FALSE(fs::exists(file));
}

TEST_CASE("a backup into a directory that does not exist fails and leaves nothing") {
  TestGateway gw;
  const fs::path file = gw.dir.path() / "no-such-dir" / "gw.tar";
  CHECK(backup(gw, file) == 1);
  CHECK(gw.err.str().find("backup failed") != std::string::npos);
}

TEST_CASE("a backup into the data directory is refused: it would be in the next one") {
  TestGateway gw;
  CHECK(backup(gw, gw.config.data_dir / "gw.tar") == 1);
  CHECK(gw.err.str().find("inside the data directory") != std::string::npos);
  CHECK(backup(gw, gw.config.data_dir / "keys" / "gw.tar") == 1);
  CHECK_FALSE(fs::exists(gw.config.data_dir / "gw.tar"));
}
