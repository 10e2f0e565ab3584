#include "gateway/restore_command.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "gateway/backup_command.hpp"
#include "gateway/data_dir.hpp"
#include "storage/sqlite.hpp"
#include "tests/gateway/operations_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using cg::gateway::testing::TestGateway;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kStamp = "20261121T194000Z";

OperationsArgs args(TestGateway& gw, const fs::path& file) {
  OperationsArgs a;
  a.config_file = gw.config_file;
  a.file = file;
  return a;
}

fs::path take_backup(TestGateway& gw) {
  const fs::path file = gw.dir.path() / "gw.tar";
  std::ostringstream out, err;
  REQUIRE_MESSAGE(run_backup_command(args(gw, file), gw.config, out, err) == 0, err.str());
  return file;
}

int restore(TestGateway& gw, const fs::path& file) {
  gw.out.str("");
  gw.err.str("");
  return run_restore_command(args(gw, file), gw.config, gw.out, gw.err, kStamp);
}

fs::path kept_dir(TestGateway& gw) {
  return gw.config.data_dir.parent_path() / ("data.before-restore-" + std::string(kStamp));
}

// Only the data directory, the backup, the config (and a kept directory) beside each other:
// no staging directory left.
void check_no_staging(TestGateway& gw) {
  for (const auto& entry : fs::directory_iterator(gw.dir.path())) {
    CHECK_MESSAGE(entry.path().filename().string().find(".restore-") == std::string::npos,
                  entry.path().string());
  }
}

void flip_byte_in_the_middle(const fs::path& file) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  const auto size = fs::file_size(file);
  f.seekg(static_cast<std::streamoff>(size / 2));
  char c = 0;
  f.read(&c, 1);
  f.seekp(static_cast<std::streamoff>(size / 2));
  c = static_cast<char>(c ^ 0x5a);
  f.write(&c, 1);
}

}  // namespace

TEST_CASE("restore brings back the backup's data and keeps the directory it replaces") {
  TestGateway gw;
  const fs::path file = take_backup(gw);
  gw.put_patient("p1", "Changed");
  gw.put_patient("p2", "Later");
  REQUIRE(gw.family_of("p1") == "Changed");

  REQUIRE_MESSAGE(restore(gw, file) == 0, gw.err.str());
  CHECK(gw.family_of("p1") == "Otieno");
  CHECK(gw.family_of("p2") == "");
  CHECK(fs::exists(gw.config.data_dir / "keys" / "token-signing-key.pem"));
  CHECK(fs::exists(gw.config.data_dir / "audit.db"));
  const fs::path kept = kept_dir(gw);
  CHECK(gw.out.str().find(kept.string()) != std::string::npos);
  REQUIRE(fs::exists(kept / "clinical.db"));
  struct stat st {};
  REQUIRE(::stat(gw.config.data_dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(st.st_uid == ::geteuid());
  REQUIRE(::stat((gw.config.data_dir / "clinical.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  check_no_staging(gw);
  // The restored directory is a gateway's: the store opens and checks.
  auto store = storage::testing::open_store(gw.config.data_dir);
  CHECK(store->integrity_check().ok());
  store->close();
}

TEST_CASE("restore is refused while the gateway holds the data directory") {
  TestGateway gw;
  const fs::path file = take_backup(gw);
  gw.put_patient("p1", "Changed");
  auto serving = DataDirLock::acquire(gw.config.data_dir, "serve");
  REQUIRE(serving.ok());
  CHECK(restore(gw, file) == 1);
  CHECK(gw.err.str().find("(serve)") != std::string::npos);
  CHECK(gw.err.str().find("stop the gateway first") != std::string::npos);
  CHECK(gw.family_of("p1") == "Changed");
  check_no_staging(gw);
}

TEST_CASE("a damaged backup is refused by its checksums and changes nothing") {
  TestGateway gw;
  const fs::path file = take_backup(gw);
  gw.put_patient("p1", "Changed");
  flip_byte_in_the_middle(file);
  CHECK(restore(gw, file) == 1);
  CHECK(gw.err.str().find("restore refused") != std::string::npos);
  CHECK(gw.err.str().find("unchanged") != std::string::npos);
  CHECK(gw.family_of("p1") == "Changed");
  CHECK_FALSE(fs::exists(kept_dir(gw)));
  check_no_staging(gw);
}

TEST_CASE("a backup with a schema newer than this build knows is refused") {
  TestGateway gw;
  {
    auto conn = storage::Connection::open(gw.config.data_dir / "audit.db",
                                          storage::Connection::Mode::kExisting);
    REQUIRE(conn.ok());
    REQUIRE(conn->exec("PRAGMA user_version = 999").ok());
  }
  const fs::path file = take_backup(gw);
  CHECK(restore(gw, file) == 1);
  CHECK(gw.err.str().find("audit.db has schema 999, newer than this build knows") !=
        std::string::npos);
  check_no_staging(gw);
}

TEST_CASE("restore onto a machine without a data directory creates it") {
  TestGateway gw;
  const fs::path file = take_backup(gw);
  fs::remove_all(gw.config.data_dir);
  REQUIRE_MESSAGE(restore(gw, file) == 0, gw.err.str());
  CHECK(gw.family_of("p1") == "Otieno");
  CHECK_FALSE(fs::exists(kept_dir(gw)));
  CHECK(gw.out.str().find("before-restore") == std::string::npos);
}

TEST_CASE("a file that is not a backup is refused") {
  TestGateway gw;
  std::ofstream(gw.dir.path() / "notes.txt") << "hello";
  CHECK(restore(gw, gw.dir.path() / "notes.txt") == 1);
  CHECK(restore(gw, gw.dir.path() / "missing.tar") == 1);
  CHECK(gw.err.str().find("no backup file") != std::string::npos);
  check_no_staging(gw);
}

TEST_CASE("run as root, restore gives the files the data directory's owner and group") {
  if (::geteuid() != 0) return;  // only root can hand files to another user
  TestGateway gw;
  const fs::path file = take_backup(gw);
  constexpr uid_t kService = 65534;  // nobody: any user that is not root
  REQUIRE(::chown(gw.config.data_dir.c_str(), kService, kService) == 0);
  REQUIRE_MESSAGE(restore(gw, file) == 0, gw.err.str());
  for (const fs::path& path :
       {gw.config.data_dir, gw.config.data_dir / "clinical.db", gw.config.data_dir / "keys",
        gw.config.data_dir / "keys" / "token-signing-key.pem"}) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK_MESSAGE(st.st_uid == kService, path.string());
    CHECK_MESSAGE(st.st_gid == kService, path.string());
  }
}
