#include "gateway/security/security_db.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/gateway/security_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;

namespace {

unsigned mode_of(const std::filesystem::path& file) {
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// Sets the process umask for one scope: the file's mode must not depend on it.
class UmaskScope {
 public:
  explicit UmaskScope(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskScope() { ::umask(old_); }

 private:
  mode_t old_;
};

}  // namespace

TEST_CASE("security.db and its WAL are created readable by the owner only, even under umask 0") {
  TempDir dir;
  UmaskScope permissive(0);
  auto db = open_security_db(dir.path() / "data");
  Status wrote = db->with([](storage::Connection& conn) {
    return conn.exec("INSERT INTO peers VALUES ('n', 'f', '', 0, 0)");
  });
  REQUIRE(wrote.ok());
  CHECK(db->file() == dir.path() / "data" / "security.db");
  CHECK(mode_of(db->file()) == 0600);
  CHECK(mode_of(dir.path() / "data" / "security.db-wal") == 0600);
  CHECK(mode_of(dir.path() / "data" / "security.db-shm") == 0600);
}

TEST_CASE("an existing world-readable security.db is made private when opened") {
  TempDir dir;
  { auto db = open_security_db(dir.path()); }
  const auto file = dir.path() / "security.db";
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  REQUIRE(mode_of(file) == 0644);
  auto db = open_security_db(dir.path());
  CHECK(mode_of(file) == 0600);
}

TEST_CASE("a symlink in place of security.db is refused, not followed") {
  TempDir dir;
  const auto elsewhere = dir.path() / "elsewhere.db";
  std::ofstream(elsewhere) << "";
  std::filesystem::create_symlink(elsewhere, dir.path() / "security.db");
  auto db = SecurityDatabase::open(dir.path());
  REQUIRE_FALSE(db.ok());
  CHECK(db.error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("opening brings the schema to this build's version, and reopening keeps it") {
  TempDir dir;
  auto version = [&] {
    auto db = open_security_db(dir.path());
    return db->with(
        [](storage::Connection& conn) { return conn.query_int64("PRAGMA user_version"); });
  };
  CHECK(version().value() == static_cast<std::int64_t>(security_migrations().size()));
  CHECK(version().value() == static_cast<std::int64_t>(security_migrations().size()));
}

TEST_CASE("roles and scopes are stored as validated, space-separated tokens") {
  auto joined = join_tokens({"admin", "system/Patient.rs", "admin", "user/*.cruds"}, "scope");
  REQUIRE(joined.ok());
  CHECK(*joined == "admin system/Patient.rs user/*.cruds");
  CHECK(split_tokens(*joined) ==
        std::vector<std::string>{"admin", "system/Patient.rs", "user/*.cruds"});
  CHECK(split_tokens("").empty());
  CHECK(join_tokens({}, "role").value().empty());
  for (std::string bad : {"", "two words", "quote\"", "back\\slash", "tab\t", "caf\xc3\xa9"}) {
    CAPTURE(bad);
    auto refused = join_tokens({bad}, "role");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::kInvalid);
  }
}

TEST_CASE("stored times keep millisecond precision") {
  const TimePoint t = from_ms(1'700'000'000'123);
  CHECK(to_ms(t) == 1'700'000'000'123);
}
