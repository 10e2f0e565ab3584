#include "protocols/hl7v2/receiver.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <boost/json/parse.hpp>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/parser.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::hl7v2;

namespace {

struct Fixture {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::MessageArchive> archive;
  std::unique_ptr<MessageReceiver> receiver;
  std::atomic<int> calls{0};

  Fixture() {
    storage::ArchiveConfig config;
    config.file = dir.path() / "messages.db";
    auto opened = storage::MessageArchive::open(config);
    REQUIRE(opened.ok());
    archive = std::move(*opened);
    ReceiverConfig rc;
    rc.clock_ms = [] { return std::int64_t{1'795'000'000'000}; };
    receiver = std::make_unique<MessageReceiver>(*archive, rc);
  }

  Message answer_to(std::string_view bytes) {
    auto m = parse(receiver->receive(bytes, "127.0.0.1"));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
    return std::move(m).value();
  }
};

std::string adt(std::string_view control_id, std::string_view type = "ADT^A01",
                std::string_view version = "2.5.1") {
  return "MSH|^~\\&|EMR|CLINIC|GW|GW|20261121||" + std::string(type) + "|" +
         std::string(control_id) + "|P|" + std::string(version) + "\rPID|1||42^^^CLINIC^MR\r";
}

}  // namespace

TEST_CASE("an accepted message is answered AA once, and a resend gets the same bytes") {
  Fixture f;
  f.receiver->handle("ADT^A01", [&](const Message& m) -> Result<HandlerOutcome> {
    ++f.calls;
    CHECK(m.get("PID-3") == "42");
    return HandlerOutcome{{"Patient/p1"}};
  });
  const std::string first = f.receiver->receive(adt("M1"), "127.0.0.1");
  Message ack = parse(first).value();
  CHECK(ack.get("MSA-1") == "AA");
  CHECK(ack.get("MSA-2") == "M1");
  const std::string again = f.receiver->receive(adt("M1"), "10.0.0.9");
  CHECK(again == first);
  CHECK(f.calls == 1);
  CHECK(f.receiver->counts().duplicates == 1);
  auto archived = f.archive->find({"EMR", "CLINIC", "M1"}).value();
  REQUIRE(archived);
  CHECK(archived->raw == adt("M1"));
  auto outcome = boost::json::parse(archived->outcome).as_object();
  CHECK(outcome.at("ack") == "AA");
  CHECK(outcome.at("written").as_array().at(0) == "Patient/p1");
  // Another control id is another message.
  CHECK(f.answer_to(adt("M2")).get("MSA-1") == "AA");
  CHECK(f.calls == 2);
}

TEST_CASE("a message error is AE with the handler's ERR, archived, and repeated on resend") {
  Fixture f;
  f.receiver->handle("ADT^A01", [&](const Message&) -> Result<HandlerOutcome> {
    ++f.calls;
    return make_error(ErrorCode::kRequiredFieldMissing, "PID-5 is required",
                      {"PID", 1, 5, 0, 0, 0});
  });
  Message ack = f.answer_to(adt("E1"));
  CHECK(ack.get("MSA-1") == "AE");
  CHECK(ack.find("ERR")->raw(2) == "PID^1^5");
  CHECK(ack.find("ERR")->get(3) == "101");
  CHECK(f.answer_to(adt("E1")).get("MSA-1") == "AE");
  CHECK(f.calls == 1);
}

TEST_CASE("a store that cannot write answers AR 207 and archives nothing: the retry is applied") {
  Fixture f;
  bool down = true;
  f.receiver->handle("ADT^A01", [&](const Message&) -> Result<HandlerOutcome> {
    ++f.calls;
    if (down) return Error::unavailable("disk full");
    return HandlerOutcome{};
  });
  Message ack = f.answer_to(adt("T1"));
  CHECK(ack.get("MSA-1") == "AR");
  CHECK(ack.find("ERR")->get(3) == "207");
  CHECK_FALSE(f.archive->find({"EMR", "CLINIC", "T1"}).value());
  down = false;
  CHECK(f.answer_to(adt("T1")).get("MSA-1") == "AA");
  CHECK(f.calls == 2);
}

TEST_CASE("unknown types and events, bad headers and old versions are rejected, never silent") {
  Fixture f;
  f.receiver->handle("ADT^A01",
                     [](const Message&) -> Result<HandlerOutcome> { return HandlerOutcome{}; });
  Message unknown_type = f.answer_to(adt("U1", "ORM^O01"));
  CHECK(unknown_type.get("MSA-1") == "AR");
  CHECK(unknown_type.find("ERR")->get(3) == "200");
  CHECK(unknown_type.find("ERR")->raw(2) == "MSH^1^9^^1");
  Message unknown_event = f.answer_to(adt("U2", "ADT^A99"));
  CHECK(unknown_event.find("ERR")->get(3) == "201");
  // A v2.2 sender gets the older ERR-1 form.
  CHECK(f.answer_to(adt("U3", "ADT^A01", "2.2")).find("ERR")->get(1, 1, 4) == "203");
  Message no_control_id = f.answer_to(adt("", "ADT^A01"));
  CHECK(no_control_id.get("MSA-1") == "AR");
  CHECK(no_control_id.find("ERR")->get(3) == "101");
  Message garbage = f.answer_to("this is not HL7");
  CHECK(garbage.get("MSA-1") == "AR");
  CHECK(garbage.find("ERR")->get(3) == "100");
  CHECK(f.receiver->counts().received == 5);
  CHECK(f.receiver->counts().accepted == 0);
}

TEST_CASE("answers get unique control ids and a UTC timestamp") {
  Fixture f;
  f.receiver->handle("ADT^A01",
                     [](const Message&) -> Result<HandlerOutcome> { return HandlerOutcome{}; });
  Message a = f.answer_to(adt("C1"));
  Message b = f.answer_to(adt("C2"));
  CHECK(a.get("MSH-10") != b.get("MSH-10"));
  CHECK(a.get("MSH-10").size() <= 20);
  CHECK(a.get("MSH-7").ends_with("+0000"));
}
