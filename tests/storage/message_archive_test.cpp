#include "storage/message_archive.hpp"

#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "storage/database_file.hpp"
#include "storage/migrations.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::Status;

namespace {

// The archive in a clinical store in `dir` (which imports dir/messages.db when present).
struct OpenArchive {
  std::unique_ptr<ResourceStore> store;
  std::unique_ptr<MessageArchive> archive;  // after the store: closed and destroyed first

  MessageArchive* operator->() const { return archive.get(); }
  void close() {
    archive->close();
    store->close();
  }
};

OpenArchive open_archive(const std::filesystem::path& dir) {
  OpenArchive out;
  out.store = open_store(dir);
  ArchiveConfig config;
  config.file = dir / "clinical.db";
  config.import_from = dir / "messages.db";
  auto archive = MessageArchive::open(*out.store, config);
  REQUIRE_MESSAGE(archive.ok(), (archive.ok() ? "" : archive.error().message));
  out.archive = std::move(archive).value();
  return out;
}

ArchivedMessage message(std::string control_id, std::string ack_code = "AA") {
  ArchivedMessage m;
  m.received_at_ms = 1'767'225'600'000;
  m.key = {"EMR", "CLINIC", std::move(control_id)};
  m.message_type = "ADT^A01^ADT_A01";
  m.peer = "127.0.0.1:5000";
  m.raw = "MSH|^~\\&|EMR|CLINIC|GW|GW|20260101||ADT^A01|" + m.key.control_id + "|P|2.5\r";
  m.ack = "MSH|^~\\&|GW|GW|EMR|CLINIC|20260101||ACK^A01|A" + m.key.control_id + "|P|2.5\rMSA|" +
          ack_code + "|" + m.key.control_id + "\r";
  m.ack_code = std::move(ack_code);
  m.outcome = R"({"created":["Patient/1"]})";
  return m;
}

ArchiveQuery query(std::size_t limit, std::int64_t before_id = 0) {
  ArchiveQuery q;
  q.limit = limit;
  q.before_id = before_id;
  return q;
}

ArchiveQuery answered(std::string ack_code) {
  ArchiveQuery q;
  q.ack_code = std::move(ack_code);
  return q;
}

ArchiveQuery since(std::int64_t ms) {
  ArchiveQuery q;
  q.since_ms = ms;
  return q;
}

}  // namespace

TEST_CASE("a recorded message is found by its key, by id and in the list") {
  TempDir dir;
  auto archive = open_archive(dir.path());
  CHECK_FALSE(archive->find({"EMR", "CLINIC", "1"}).value());
  auto stored = archive->record(message("1"));
  REQUIRE(stored.ok());
  CHECK(stored->id > 0);
  auto found = archive->find({"EMR", "CLINIC", "1"});
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->ack == message("1").ack);
  CHECK((*found)->outcome == R"({"created":["Patient/1"]})");
  CHECK(archive->get(stored->id).value()->raw == message("1").raw);
  // Another facility's control id 1 is another message.
  CHECK_FALSE(archive->find({"EMR", "OTHER", "1"}).value());
  REQUIRE(archive->record(message("2")).ok());
  auto listed = archive->list({});
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK(listed->front().key.control_id == "2");
  CHECK(archive->list(query(10, listed->front().id)).value().size() == 1);
}

TEST_CASE("a second record of the same key keeps the first answer") {
  TempDir dir;
  auto archive = open_archive(dir.path());
  auto first = archive->record(message("7", "AA"));
  REQUIRE(first.ok());
  auto again = archive->record(message("7", "AE"));
  REQUIRE(again.ok());
  CHECK(again->id == first->id);
  CHECK(again->ack_code == "AA");
  CHECK(archive->list({}).value().size() == 1);
}

TEST_CASE("bytes are kept exactly: 8859/1 text and segment separators") {
  TempDir dir;
  auto archive = open_archive(dir.path());
  ArchivedMessage m = message("8");
  static constexpr char kRaw[] =
      "MSH|^~\\&|EMR|CLINIC\rPID|||1||M\xFC"
      "ller\r";
  m.raw = std::string(kRaw, sizeof kRaw - 1);
  static constexpr char kAck[] = "\x0bMSA|AA|8\r\x1c\r";
  m.ack = std::string(kAck, sizeof kAck - 1);
  REQUIRE(archive->record(m).ok());
  auto found = archive->find(m.key).value();
  REQUIRE(found);
  CHECK(found->raw == m.raw);
  CHECK(found->ack == m.ack);
}

TEST_CASE("concurrent records from many threads all land once, and survive a reopen") {
  TempDir dir;
  {
    auto archive = open_archive(dir.path());
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          // Every second message is sent by two threads, as by a sender retrying on a new
          // connection.
          const std::string id = std::to_string((t / 2) * 100 + i);
          auto r = archive->record(message(id));
          CHECK(r.ok());
        }
      });
    }
    for (auto& t : threads) t.join();
    archive->close();
  }
  auto archive = open_archive(dir.path());
  auto all = archive->list(query(1000));
  REQUIRE(all.ok());
  std::set<std::string> ids;
  for (const auto& m : *all) ids.insert(m.key.control_id);
  CHECK(all->size() == 100);
  CHECK(ids.size() == 100);
}

TEST_CASE("a reprocessing is appended to its message, whose first answer stays") {
  TempDir dir;
  auto archive = open_archive(dir.path());
  auto stored = archive->record(message("R1", "AE"));
  REQUIRE(stored.ok());
  CHECK(stored->reprocessings.empty());
  CHECK(current_answer(*stored).ack_code == "AE");
  auto run = archive->record_reprocessing(
      {0, stored->id, 1'767'300'000'000, "MSA|AA|R1\r", "AA", R"({"written":["Patient/1"]})"});
  REQUIRE_MESSAGE(run.ok(), (run.ok() ? "" : run.error().message));
  CHECK(run->id > 0);
  REQUIRE(
      archive->record_reprocessing({0, stored->id, 1'767'400'000'000, "MSA|AE|R1\r", "AE", "{}"})
          .ok());
  auto found = archive->get(stored->id).value();
  REQUIRE(found);
  CHECK(found->ack_code == "AE");  // the message row is never rewritten
  CHECK(found->ack == message("R1", "AE").ack);
  REQUIRE(found->reprocessings.size() == 2);
  CHECK(found->reprocessings[0].ack_code == "AA");
  CHECK(found->reprocessings[0].at_ms == 1'767'300'000'000);
  CHECK(found->reprocessings[0].outcome == R"({"written":["Patient/1"]})");
  CHECK(found->reprocessings[1].message_id == stored->id);
  // The latest run is what the message stands with, also for a lookup by key.
  auto by_key = archive->find(stored->key).value();
  REQUIRE(by_key);
  CHECK(current_answer(*by_key).ack == "MSA|AE|R1\r");
  CHECK(current_answer(*by_key).outcome == "{}");
}

TEST_CASE("a reprocessing of a message that is not archived is kNotFound and stores nothing") {
  TempDir dir;
  auto archive = open_archive(dir.path());
  auto run = archive->record_reprocessing({0, 99, 1, "MSA|AA|X\r", "AA", "{}"});
  REQUIRE_FALSE(run.ok());
  CHECK(run.error().kind == cg::ErrorKind::kNotFound);
  auto stored = archive->record(message("N1"));
  REQUIRE(stored.ok());
  CHECK(archive->get(stored->id).value()->reprocessings.empty());
}

TEST_CASE("the list filters by receipt time and by the current answer's code") {
  TempDir dir;
  auto archive = open_archive(dir.path());
  for (int i = 0; i < 4; ++i) {
    ArchivedMessage m = message("L" + std::to_string(i), i % 2 ? "AE" : "AA");
    m.received_at_ms = 1'000'000 + i * 1000;
    REQUIRE(archive->record(m).ok());
  }
  auto errors = archive->list(answered("AE")).value();
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].key.control_id == "L3");
  CHECK(errors[1].key.control_id == "L1");
  // L1 fixed by a rerun: it no longer lists as AE, and now lists as AA.
  REQUIRE(
      archive->record_reprocessing({0, errors[1].id, 2'000'000, "MSA|AA|L1\r", "AA", "{}"}).ok());
  auto still = archive->list(answered("AE")).value();
  REQUIRE(still.size() == 1);
  CHECK(still[0].key.control_id == "L3");
  auto fine = archive->list(answered("AA")).value();
  CHECK(fine.size() == 3);
  CHECK(fine[1].reprocessings.size() == 1);  // L1, with its history
  // Received at or after 1'002'000: L2 and L3.
  CHECK(archive->list(since(1'002'000)).value().size() == 2);
  CHECK(archive->list(query(1)).value().front().key.control_id == "L3");
  CHECK(archive->list(query(10, errors[0].id)).value().size() == 3);
}

TEST_CASE("a messages.db of schema 1 is imported once: its messages stay and can be reprocessed") {
  TempDir dir;
  const auto file = dir.path() / "messages.db";
  {
    auto conn = open_writer(file, 0);
    REQUIRE(conn.ok());
    REQUIRE(apply_migrations(*conn, archive_migrations().first(1)).ok());
    REQUIRE(conn->exec("INSERT INTO messages (received_at, sending_application, sending_facility,"
                       " control_id, message_type, peer, raw, ack, ack_code, outcome) VALUES"
                       " (1, 'EMR', 'CLINIC', 'OLD', 'ADT^A28', 'p', 'MSH', 'MSA', 'AE', '{}')")
                .ok());
  }
  auto archive = open_archive(dir.path());
  auto old = archive->find({"EMR", "CLINIC", "OLD"}).value();
  REQUIRE(old);
  CHECK(old->ack_code == "AE");
  CHECK(archive->record_reprocessing({0, old->id, 2, "MSA|AA|OLD\r", "AA", "{}"}).ok());
  CHECK(archive->list(answered("AA")).value().size() == 1);
  CHECK_FALSE(std::filesystem::exists(file));
  CHECK(std::filesystem::exists(dir.path() / "messages.db.imported"));
  archive.close();
  // Opened again: nothing to import, nothing doubled.
  auto again = open_archive(dir.path());
  CHECK(again->list(query(10)).value().size() == 1);
}

TEST_CASE("a message recorded inside a store job commits with the job, or not at all") {
  TempDir dir;
  auto archive = open_archive(dir.path());
  CHECK(archive->records_in_jobs());
  // The job fails after recording: the row goes with it.
  Status failed = archive.store->write([&](WriteContext& ctx) -> Status {
    REQUIRE(archive->record_in(ctx, message("ROLLED-BACK")).ok());
    return cg::Error::invalid("the message's own write failed");
  });
  CHECK_FALSE(failed.ok());
  CHECK_FALSE(archive->find({"EMR", "CLINIC", "ROLLED-BACK"}).value());
  // The job succeeds: the row is there, with its id.
  std::int64_t id = 0;
  REQUIRE(archive.store
              ->write([&](WriteContext& ctx) -> Status {
                auto stored = archive->record_in(ctx, message("KEPT"));
                if (!stored) return stored.take_error();
                id = stored->id;
                return cg::ok_status();
              })
              .ok());
  auto kept = archive->find({"EMR", "CLINIC", "KEPT"}).value();
  REQUIRE(kept);
  CHECK(kept->id == id);
  // The same key again, in a job: kConflict, so the job fails and the first answer stands.
  Status twin = archive.store->write([&](WriteContext& ctx) -> Status {
    auto stored = archive->record_in(ctx, message("KEPT", "AE"));
    CHECK(stored.error().kind == cg::ErrorKind::kConflict);
    return stored.ok() ? cg::ok_status() : Status(stored.error());
  });
  CHECK_FALSE(twin.ok());
  CHECK(archive->find({"EMR", "CLINIC", "KEPT"}).value()->ack_code == "AA");
}
