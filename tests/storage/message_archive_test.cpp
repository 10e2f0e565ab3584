#include "storage/message_archive.hpp"

#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;

namespace {

std::unique_ptr<MessageArchive> open_archive(const std::filesystem::path& dir) {
  ArchiveConfig config;
  config.file = dir / "messages.db";
  auto archive = MessageArchive::open(config);
  REQUIRE_MESSAGE(archive.ok(), (archive.ok() ? "" : archive.error().message));
  return std::move(archive).value();
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

}  // namespace

TEST_CASE("a recorded message is found by its key, by id and in the recent list") {
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
  auto recent = archive->recent(10);
  REQUIRE(recent.ok());
  REQUIRE(recent->size() == 2);
  CHECK(recent->front().key.control_id == "2");
  CHECK(archive->recent(10, recent->front().id).value().size() == 1);
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
  CHECK(archive->recent(10).value().size() == 1);
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
  auto all = archive->recent(1000);
  REQUIRE(all.ok());
  std::set<std::string> ids;
  for (const auto& m : *all) ids.insert(m.key.control_id);
  CHECK(all->size() == 100);
  CHECK(ids.size() == 100);
}
