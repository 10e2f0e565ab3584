#include "storage/resource_store.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;

TEST_CASE("format_instant writes UTC with exactly three fraction digits") {
  CHECK(format_instant(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_instant(1'700'000'000'123) == "2023-11-14T22:13:20.123Z");
  CHECK(format_instant(1'709'208'000'007) == "2024-02-29T12:00:00.007Z");
  CHECK(format_instant(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("a reopened store has every version, change and token it had") {
  TempDir dir;
  std::int64_t seq = 0;
  {
    auto store = open_store(dir.path());
    put(*store, "Patient", "p1", patient("A"), {{"identifier", "urn:mrn", "1"}});
    put(*store, "Patient", "p1", patient("B"), {{"identifier", "urn:mrn", "1"}});
    put(*store, "Patient", "p2", patient("C"));
    REQUIRE(remove(*store, "Patient", "p2").ok());
    seq = *store->latest_seq();
    store->close();
  }
  auto store = open_store(dir.path());
  CHECK(*store->latest_seq() == seq);
  CHECK((*store->version("Patient", "p1", 1))->json.find("\"A\"") != std::string::npos);
  CHECK((*store->head("Patient", "p1"))->version == 2);
  CHECK((*store->head("Patient", "p2"))->deleted);
  SearchQuery query;
  query.type = "Patient";
  query.tokens = {{"identifier", std::string("urn:mrn"), "1"}};
  CHECK(store->search(query)->items.size() == 1);
  CHECK(put(*store, "Patient", "p1", patient("D")).version == 3);
  CHECK(put(*store, "Patient", "p3", patient("E")).seq == seq + 2);
}

TEST_CASE("close checkpoints the WAL and is idempotent; reads afterwards are unavailable") {
  TempDir dir;
  auto store = open_store(dir.path());
  put(*store, "Patient", "p1", patient());
  CHECK(std::filesystem::file_size(dir.path() / "clinical.db-wal") > 0);
  store->close();
  store->close();
  const auto wal = dir.path() / "clinical.db-wal";
  CHECK((!std::filesystem::exists(wal) || std::filesystem::file_size(wal) == 0));
  auto head = store->head("Patient", "p1");
  REQUIRE_FALSE(head.ok());
  CHECK(head.error().kind == ErrorKind::kUnavailable);
  CHECK(store->integrity_check().ok());  // a fresh connection of its own
}

TEST_CASE("the store leaves clinical.db in WAL mode") {
  TempDir dir;
  auto store = open_store(dir.path());
  put(*store, "Patient", "p1", patient());
  auto conn = Connection::open(dir.path() / "clinical.db", Connection::Mode::kExisting);
  REQUIRE(conn.ok());
  auto mode = conn->statement("PRAGMA journal_mode");
  REQUIRE(mode.ok());
  REQUIRE(*(*mode)->step());
  CHECK((*mode)->column_text(0) == "wal");
}

TEST_CASE("a storage directory that is a regular file gives kUnavailable") {
  TempDir dir;
  std::ofstream(dir.path() / "data") << "not a directory";
  StoreConfig config;
  config.directory = dir.path() / "data";
  auto store = ResourceStore::open(config);
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().kind == ErrorKind::kUnavailable);
  CHECK(store.error().message.find("data") != std::string::npos);
}

TEST_CASE("a read-only storage directory gives kUnavailable") {
  if (::geteuid() == 0) {
    MESSAGE(
        "skipped: root ignores directory permissions; the mapping of SQLITE_READONLY "
        "and SQLITE_CANTOPEN is covered in sqlite_test");
    return;
  }
  TempDir dir;
  { auto store = open_store(dir.path()); }
  ::chmod((dir.path() / "clinical.db").c_str(), 0444);
  ::chmod(dir.path().c_str(), 0555);
  StoreConfig config;
  config.directory = dir.path();
  auto store = ResourceStore::open(config);
  ::chmod(dir.path().c_str(), 0755);
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("integrity_check reports a damaged file") {
  TempDir dir;
  {
    auto store = open_store(dir.path());
    for (int i = 0; i < 200; ++i) {
      put(*store, "Patient", "p" + std::to_string(i), patient(std::string(300, 'x')),
          {{"identifier", "urn:mrn", std::to_string(i)}});
    }
  }
  auto store = open_store(dir.path());
  CHECK(store->integrity_check().ok());
  store->close();
  {
    // Scribble over the middle of the file: b-tree pages, not the header.
    std::fstream file(dir.path() / "clinical.db", std::ios::in | std::ios::out | std::ios::binary);
    const auto size = std::filesystem::file_size(dir.path() / "clinical.db");
    file.seekp(static_cast<std::streamoff>(size / 2));
    const std::string junk(8192, '\x5a');
    file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto status = store->integrity_check();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("integrity") != std::string::npos);
}

TEST_CASE("the store logs through the configured sink and never logs resource content") {
  TempDir dir;
  std::vector<std::string> lines;
  std::mutex mutex;
  StoreConfig config;
  config.log = [&](int, std::string_view message) {
    std::lock_guard lock(mutex);
    lines.emplace_back(message);
  };
  config.max_db_bytes = 256 * 1024;  // room for the schema, not for the 300 KB name
  auto store = open_store(dir.path(), config);
  const std::string secret = "SECRET-FAMILY-NAME-" + std::string(300'000, 'q');
  CHECK_FALSE(store
                  ->write([&](WriteContext& ctx) -> cg::Status {
                    auto v = ctx.put("Patient", "p1", patient(secret), {});
                    return v ? cg::ok_status() : cg::Status(v.error());
                  })
                  .ok());
  store->close();
  std::lock_guard lock(mutex);
  CHECK_FALSE(lines.empty());
  for (const auto& line : lines) CHECK(line.find("SECRET") == std::string::npos);
}

TEST_CASE("write() and close() from a done callback fail instead of waiting for themselves") {
  TempDir dir;
  auto store = open_store(dir.path());
  DoneLog log;
  std::optional<cg::Status> nested;
  store->submit([](WriteContext&) -> cg::Status { return cg::ok_status(); },
                [&, cb = log.callback()](cg::Status status) {
                  nested = store->write([](WriteContext&) { return cg::ok_status(); });
                  store->close();  // ignored on the writer thread
                  cb(std::move(status));
                });
  REQUIRE(log.wait_for(1));
  REQUIRE(nested.has_value());
  CHECK(nested->error().kind == ErrorKind::kInternal);
  CHECK(store->write([](WriteContext&) { return cg::ok_status(); }).ok());  // still open
}

TEST_CASE("opening a schema 4 database migrates it and says a reindex is due") {
  TempDir dir;
  {
    auto conn = Connection::open(dir.path() / "clinical.db", Connection::Mode::kCreate);
    REQUIRE(conn.ok());
    REQUIRE(conn->exec("PRAGMA journal_mode=WAL").ok());
    REQUIRE(apply_migrations(*conn, clinical_migrations().first(4)).ok());
  }
  std::vector<std::string> lines;
  std::mutex mutex;
  StoreConfig config;
  config.log = [&](int, std::string_view message) {
    std::lock_guard lock(mutex);
    lines.emplace_back(message);
  };
  auto store = open_store(dir.path(), config);
  store->close();
  std::lock_guard lock(mutex);
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("clinic-gateway reindex") != std::string::npos;
  }));
}
