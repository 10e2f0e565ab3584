#include "protocols/hl7v2/receiver.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <boost/json/parse.hpp>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/parser.hpp"
#include "protocols/hl7v2/query_response.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::hl7v2;

namespace {

struct Fixture {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::MessageArchive> archive;
  std::unique_ptr<MessageReceiver> receiver;
  std::atomic<int> calls{0};

  std::unique_ptr<storage::ResourceStore> store = storage::testing::open_store(dir.path());

  Fixture() {
    storage::ArchiveConfig config;
    config.file = dir.path() / "clinical.db";
    auto opened = storage::MessageArchive::open(*store, config);
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

std::string qbp(std::string_view control_id, std::string_view type = "QBP^Q22^QBP_Q21") {
  return "MSH|^~\\&|PDQ|CLINIC|GW|GW|20261121||" + std::string(type) + "|" +
         std::string(control_id) + "|P|2.5\rQPD|IHE PDQ Query|QT-" + std::string(control_id) +
         "|@PID.5.1.1^Doe\rRCP|I\r";
}

// A PDQ answer without matches, as a query handler builds it.
Message no_matches(const Message& query, const AckOptions& options) {
  return query_response(query, "K22", "RSP_K21", AckCode::kAccept, QueryStatus::kNoData, {},
                        {0, 0, 0}, options);
}

}  // namespace

TEST_CASE("an accepted message is answered AA once, and a resend gets the same bytes") {
  Fixture f;
  f.receiver->handle("ADT^A01", [&](const Message& m, const CommitHook&) -> Result<HandlerOutcome> {
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
  f.receiver->handle("ADT^A01", [&](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
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
  f.receiver->handle("ADT^A01", [&](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
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
  f.receiver->handle("ADT^A01", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return HandlerOutcome{};
  });
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

TEST_CASE("a resend after AR is processed again, recorded as a reprocessing; after AA it is not") {
  Fixture f;
  f.receiver->handle("ADT^A01", [&](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    ++f.calls;
    return HandlerOutcome{};
  });
  // Sent as v2.2 first: AR 203. The sender fixes its version and resends, same MSH-10.
  CHECK(f.answer_to(adt("R1", "ADT^A01", "2.2")).get("MSA-1") == "AR");
  Message fixed = f.answer_to(adt("R1", "ADT^A01", "2.5.1"));
  CHECK(fixed.get("MSA-1") == "AA");
  CHECK(f.calls == 1);
  auto archived = f.archive->find({"EMR", "CLINIC", "R1"}).value();
  REQUIRE(archived);
  CHECK(archived->ack_code == "AR");  // the first answer stays as it was
  REQUIRE(archived->reprocessings.size() == 1);
  CHECK(archived->reprocessings[0].ack_code == "AA");
  // Now it stands with AA: a further resend is a duplicate and changes nothing.
  CHECK(f.receiver->receive(adt("R1"), "127.0.0.1") == archived->reprocessings[0].ack);
  CHECK(f.calls == 1);
  CHECK(f.receiver->counts().duplicates == 1);
}

TEST_CASE("a sender the policy does not admit gets AR 207; nothing is processed or archived") {
  Fixture f;
  f.receiver.reset();
  auto network = parse_network("10.0.0.0/24");
  REQUIRE(network.ok());
  ReceiverConfig rc;
  rc.senders = SenderPolicy({SenderRule{"EMR", "CLINIC", {*network}, {}}});
  MessageReceiver guarded(*f.archive, rc);
  guarded.handle("ADT^A01", [&](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    ++f.calls;
    return HandlerOutcome{};
  });
  auto refused = parse(guarded.receive(adt("S1"), "192.0.2.10"));
  REQUIRE(refused.ok());
  CHECK(refused->get("MSA-1") == "AR");
  CHECK(refused->get("MSA-2") == "S1");
  CHECK(refused->find("ERR")->get(3) == "207");
  CHECK(f.calls == 0);
  CHECK_FALSE(f.archive->find({"EMR", "CLINIC", "S1"}).value());
  // From an admitted address the same message is processed.
  auto accepted = parse(guarded.receive(adt("S1"), "10.0.0.4"));
  REQUIRE(accepted.ok());
  CHECK(accepted->get("MSA-1") == "AA");
  CHECK(f.calls == 1);
}

TEST_CASE("answers get unique control ids and a UTC timestamp") {
  Fixture f;
  f.receiver->handle("ADT^A01", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return HandlerOutcome{};
  });
  Message a = f.answer_to(adt("C1"));
  Message b = f.answer_to(adt("C2"));
  CHECK(a.get("MSH-10") != b.get("MSH-10"));
  CHECK(a.get("MSH-10").size() <= 20);
  CHECK(a.get("MSH-7").ends_with("+0000"));
}

TEST_CASE("reprocess reruns the handler past the duplicate check and records the run") {
  Fixture f;
  bool fixed = false;
  f.receiver->handle("ADT^A01", [&](const Message& m, const CommitHook&) -> Result<HandlerOutcome> {
    ++f.calls;
    CHECK(m.get("MSH-10") == "P1");
    if (!fixed) return make_error(ErrorCode::kDuplicateKeyIdentifier, "two patients match");
    return HandlerOutcome{{"Patient/p1"}};
  });
  CHECK(f.answer_to(adt("P1")).get("MSA-1") == "AE");
  const auto original = f.archive->find({"EMR", "CLINIC", "P1"}).value();
  REQUIRE(original);
  CHECK(f.receiver->reprocess(original->id).value().ack_code == "AE");  // nothing fixed yet
  fixed = true;
  auto run = f.receiver->reprocess(original->id);
  REQUIRE_MESSAGE(run.ok(), (run.ok() ? "" : run.error().message));
  CHECK(f.calls == 3);
  CHECK(run->message_id == original->id);
  CHECK(run->ack_code == "AA");
  CHECK(run->at_ms == 1'795'000'000'000);
  CHECK(boost::json::parse(run->outcome).at("written").as_array().at(0) == "Patient/p1");
  Message ack = parse(run->ack).value();
  CHECK(ack.get("MSA-2") == "P1");
  CHECK(ack.get("MSH-10") != parse(original->ack).value().get("MSH-10"));
  auto archived = f.archive->get(original->id).value();
  REQUIRE(archived);
  CHECK(archived->ack == original->ack);  // the first answer is kept as it was
  REQUIRE(archived->reprocessings.size() == 2);
  CHECK(archived->reprocessings[1].ack == run->ack);
  // A resend now learns the message is stored: it gets the rerun's answer, and is not applied.
  CHECK(f.receiver->receive(adt("P1"), "127.0.0.1") == run->ack);
  CHECK(f.calls == 3);
  CHECK(f.archive->list({}).value().size() == 1);  // reruns are no new messages
}

TEST_CASE("reprocess of a message rejected for its type applies it once a handler exists") {
  Fixture f;
  CHECK(f.answer_to(adt("T9", "ORM^O01")).get("MSA-1") == "AR");
  const auto rejected = f.archive->find({"EMR", "CLINIC", "T9"}).value();
  REQUIRE(rejected);
  // As after an upgrade that maps ORM: the receiver of the new build has its handler.
  MessageReceiver upgraded(*f.archive, ReceiverConfig{});
  upgraded.handle("ORM^O01", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return HandlerOutcome{{"ServiceRequest/s1"}};
  });
  auto run = upgraded.reprocess(rejected->id);
  REQUIRE(run.ok());
  CHECK(run->ack_code == "AA");
  CHECK(storage::current_answer(*f.archive->get(rejected->id).value()).ack_code == "AA");
}

TEST_CASE("reprocess of an unknown id, or while the store cannot write, records nothing") {
  Fixture f;
  auto unknown = f.receiver->reprocess(404);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kNotFound);
  bool down = false;
  f.receiver->handle("ADT^A01", [&](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    if (down) return Error::unavailable("disk full");
    return HandlerOutcome{};
  });
  CHECK(f.answer_to(adt("D1")).get("MSA-1") == "AA");
  const auto stored = f.archive->find({"EMR", "CLINIC", "D1"}).value();
  REQUIRE(stored);
  down = true;
  auto run = f.receiver->reprocess(stored->id);
  REQUIRE_FALSE(run.ok());
  CHECK(run.error().kind == ErrorKind::kUnavailable);
  CHECK(f.archive->get(stored->id).value()->reprocessings.empty());
}

TEST_CASE("reprocess under tighter parse limits than the message had says so, recording nothing") {
  Fixture f;
  f.receiver->handle("ADT^A01", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return HandlerOutcome{};
  });
  CHECK(f.answer_to(adt("B1")).get("MSA-1") == "AA");
  const auto stored = f.archive->find({"EMR", "CLINIC", "B1"}).value();
  REQUIRE(stored);
  ReceiverConfig tight;
  tight.parse.max_message_bytes = 16;
  MessageReceiver strict(*f.archive, tight);
  auto run = strict.reprocess(stored->id);
  REQUIRE_FALSE(run.ok());
  CHECK(run.error().kind == ErrorKind::kInvalid);
  CHECK(f.archive->get(stored->id).value()->reprocessings.empty());
}

TEST_CASE("reprocess of a query asks its answerer again") {
  Fixture f;
  f.receiver->answer_with("QBP^Q22",
                          [&](const Message& query, const AckOptions& options) -> Result<Message> {
                            ++f.calls;
                            return build_ack(query, AckCode::kAccept, {}, options);
                          });
  CHECK(f.answer_to(adt("Q1", "QBP^Q22")).get("MSA-1") == "AA");
  const auto asked = f.archive->find({"EMR", "CLINIC", "Q1"}).value();
  REQUIRE(asked);
  auto run = f.receiver->reprocess(asked->id);
  REQUIRE(run.ok());
  CHECK(run->ack_code == "AA");
  CHECK(f.calls == 2);
}
TEST_CASE("a query's handler builds the answer; it is archived and repeated on resend") {
  Fixture f;
  std::string control_id_given;
  f.receiver->answer_with("QBP^Q22", [&](const Message& query, const AckOptions& options) {
    ++f.calls;
    control_id_given = options.control_id;
    CHECK(query.get("QPD-3.2") == "Doe");
    return Result<Message>(no_matches(query, options));
  });
  const std::string first = f.receiver->receive(qbp("Q1"), "127.0.0.1");
  Message answer = parse(first).value();
  CHECK(answer.get("MSH-9") == "RSP");
  CHECK(answer.raw("MSH-9") == "RSP^K22^RSP_K21");
  CHECK(answer.get("MSH-10") == control_id_given);
  CHECK(answer.get("MSA-1") == "AA");
  CHECK(answer.get("MSA-2") == "Q1");
  CHECK(answer.get("QAK-1") == "QT-Q1");
  CHECK(answer.get("QAK-2") == "NF");
  CHECK(answer.find("QPD") != nullptr);
  // The resend gets the archived bytes; the handler does not run again.
  CHECK(f.receiver->receive(qbp("Q1"), "10.0.0.9") == first);
  CHECK(f.calls == 1);
  CHECK(f.receiver->counts().duplicates == 1);
  CHECK(f.receiver->counts().accepted == 1);
  auto archived = f.archive->find({"PDQ", "CLINIC", "Q1"}).value();
  REQUIRE(archived);
  CHECK(archived->raw == qbp("Q1"));
  CHECK(archived->ack == first);
  CHECK(archived->ack_code == "AA");
  CHECK(archived->message_type == "QBP^Q22^QBP_Q21");
  CHECK(boost::json::parse(archived->outcome).at("ack") == "AA");
  // Another control id is another query.
  CHECK(f.answer_to(qbp("Q2")).get("MSA-2") == "Q2");
  CHECK(f.calls == 2);
}

TEST_CASE("a query answered with an error of its own (AE in the RSP) is archived as AE") {
  Fixture f;
  f.receiver->answer_with("QBP^Q22", [&](const Message& query, const AckOptions& options) {
    ++f.calls;
    const Error errors[] = {
        make_error(ErrorCode::kTableValueNotFound, "not searchable", {"QPD", 1, 3, 1, 1, 0})};
    return Result<Message>(query_response(query, "K22", "RSP_K21", AckCode::kError,
                                          QueryStatus::kError, errors, {}, options));
  });
  Message answer = f.answer_to(qbp("QE"));
  CHECK(answer.raw("MSH-9") == "RSP^K22^RSP_K21");
  CHECK(answer.get("MSA-1") == "AE");
  CHECK(answer.get("ERR-3") == "103");
  CHECK(f.answer_to(qbp("QE")).get("MSA-1") == "AE");
  CHECK(f.calls == 1);
  CHECK(f.receiver->counts().errors == 1);
  CHECK(f.archive->find({"PDQ", "CLINIC", "QE"}).value()->ack_code == "AE");
}

TEST_CASE("a query handler that cannot answer now gives AR 207 and archives nothing") {
  Fixture f;
  bool down = true;
  f.receiver->answer_with("QBP^Q22",
                          [&](const Message& query, const AckOptions& options) -> Result<Message> {
                            ++f.calls;
                            if (down) return Error::unavailable("database locked");
                            return no_matches(query, options);
                          });
  Message answer = f.answer_to(qbp("T1"));
  CHECK(answer.raw("MSH-9") == "ACK^Q22^ACK");
  CHECK(answer.get("MSA-1") == "AR");
  CHECK(answer.get("MSA-2") == "T1");
  CHECK(answer.find("ERR")->get(3) == "207");
  CHECK(answer.find("ERR")->get(8).find("database") == std::string::npos);  // not the cause
  CHECK_FALSE(f.archive->find({"PDQ", "CLINIC", "T1"}).value());
  CHECK(f.receiver->counts().rejected == 1);
  // The retry runs the handler again.
  down = false;
  CHECK(f.answer_to(qbp("T1")).raw("MSH-9") == "RSP^K22^RSP_K21");
  CHECK(f.calls == 2);
}

TEST_CASE("any other failure of a query handler is an ACK AE with the error, archived") {
  Fixture f;
  f.receiver->answer_with("QBP^Q23", [&](const Message&, const AckOptions&) -> Result<Message> {
    ++f.calls;
    return make_error(ErrorCode::kUnknownKeyIdentifier, "unknown domain", {"QPD", 1, 4, 2, 0, 0});
  });
  Message answer = f.answer_to(qbp("A1", "QBP^Q23^QBP_Q21"));
  CHECK(answer.raw("MSH-9") == "ACK^Q23^ACK");
  CHECK(answer.get("MSA-1") == "AE");
  CHECK(answer.find("ERR")->raw(2) == "QPD^1^4^2");
  CHECK(answer.find("ERR")->get(3) == "204");
  CHECK(f.answer_to(qbp("A1", "QBP^Q23^QBP_Q21")).get("MSA-1") == "AE");
  CHECK(f.calls == 1);
  auto archived = f.archive->find({"PDQ", "CLINIC", "A1"}).value();
  REQUIRE(archived);
  auto outcome = boost::json::parse(archived->outcome).as_object();
  CHECK(outcome.at("ack") == "AE");
  CHECK(outcome.at("errors").as_array().at(0).at("code") == 204);
}

TEST_CASE("query codes are known codes: an unknown trigger of QBP is AR 201") {
  Fixture f;
  CHECK_FALSE(f.receiver->knows_code("QBP"));
  f.receiver->answer_with("QBP^Q22", [](const Message& query, const AckOptions& options) {
    return Result<Message>(no_matches(query, options));
  });
  // A message handler and a query handler share the code table.
  f.receiver->handle("ADT^A01", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return HandlerOutcome{};
  });
  CHECK(f.receiver->knows_code("QBP"));
  CHECK(f.receiver->knows_code("ADT"));
  CHECK_FALSE(f.receiver->knows_code("QCN"));
  CHECK_FALSE(f.receiver->knows_code("QBP^Q22"));
  Message unknown_trigger = f.answer_to(qbp("U1", "QBP^Q99^QBP_Q21"));
  CHECK(unknown_trigger.get("MSA-1") == "AR");
  CHECK(unknown_trigger.find("ERR")->get(3) == "201");
  Message unknown_code = f.answer_to(qbp("U2", "QCN^J01^QCN_J01"));
  CHECK(unknown_code.get("MSA-1") == "AR");
  CHECK(unknown_code.find("ERR")->get(3) == "200");
  // The query handler does not answer another code's trigger.
  CHECK(f.answer_to(qbp("U3", "ADT^Q22")).find("ERR")->get(3) == "201");
}

namespace {

// What the audit hooks were told, in order.
struct AuditLog {
  std::vector<std::string> entries;  // "<when> <disposition> <ack> <control id> [written…]"

  MessageAuditHooks hooks(std::function<Status()> in_job_result = {}) {
    MessageAuditHooks h;
    h.in_job = [this, in_job_result](storage::WriteContext&, const AuditedMessage& m) -> Status {
      if (in_job_result) {
        if (auto s = in_job_result(); !s) return s;
      }
      entries.push_back("job " + line(m));
      return ok_status();
    };
    h.after = [this](const AuditedMessage& m) { entries.push_back("after " + line(m)); };
    return h;
  }

  static std::string line(const AuditedMessage& m) {
    static constexpr const char* kNames[] = {"stored", "failed", "answered", "refused"};
    std::string out = std::string(kNames[static_cast<int>(m.disposition)]) + " " +
                      std::string(m.ack_code) + " " + m.message.get("MSH-10");
    for (const auto& w : m.written) out += " " + w;
    if (m.answer != nullptr) out += " answer:" + m.answer->get("MSH-9");
    if (m.repeated) out += " repeated";
    if (m.reprocessing) out += " rerun";
    if (!m.peer.address.empty()) out += " from " + std::string(m.peer.address);
    return out;
  }
};

// A handler that stores through the clinical store, calling the commit hook in its job.
MessageHandlerFn storing_handler(storage::ResourceStore& store) {
  return [&store](const Message&, const CommitHook& commit) -> Result<HandlerOutcome> {
    HandlerOutcome outcome{{"Patient/p1"}};
    Status s = store.write([&](storage::WriteContext& ctx) -> Status {
      return commit ? commit(ctx, outcome) : ok_status();
    });
    if (!s) return s.take_error();
    return outcome;
  };
}

}  // namespace

TEST_CASE("audit hooks: a stored message in its job, a failure after its AE, duplicates not") {
  Fixture f;
  AuditLog log;
  ReceiverConfig rc;
  rc.audit = log.hooks();
  MessageReceiver r(*f.archive, rc);
  r.handle("ADT^A01", storing_handler(*f.store));
  r.handle("ADT^A08", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return make_error(ErrorCode::kRequiredFieldMissing, "PV1 missing");
  });
  CHECK(parse(r.receive(adt("H1"), "10.0.0.7")).value().get("MSA-1") == "AA");
  CHECK(parse(r.receive(adt("H2", "ADT^A08"), "10.0.0.7")).value().get("MSA-1") == "AE");
  (void)r.receive(adt("H1"), "10.0.0.7");  // a duplicate: nothing ran
  (void)r.receive("not HL7 at all", "10.0.0.7");
  (void)r.receive(adt("H3", "ADT^A99"), "10.0.0.7");  // unknown event: AR 201, nothing ran
  CHECK(log.entries == std::vector<std::string>{"job stored AA H1 Patient/p1 from 10.0.0.7",
                                                "after failed AE H2 from 10.0.0.7"});
}

TEST_CASE("audit hooks: a failing in-job record fails the message, which stores nothing") {
  Fixture f;
  AuditLog log;
  ReceiverConfig rc;
  rc.audit = log.hooks([] { return Status(Error::invalid("cannot stage the audit record")); });
  MessageReceiver r(*f.archive, rc);
  r.handle("ADT^A01", storing_handler(*f.store));
  auto answer = parse(r.receive(adt("H1"), "10.0.0.7")).value();
  CHECK(answer.get("MSA-1") == "AE");
  CHECK(log.entries == std::vector<std::string>{"after failed AE H1 from 10.0.0.7"});
  auto archived = f.archive->find({"EMR", "CLINIC", "H1"}).value();
  REQUIRE(archived);
  CHECK(archived->ack_code == "AE");
}

TEST_CASE("audit hooks: queries after their answer, duplicates too; refused senders; reruns") {
  Fixture f;
  AuditLog log;
  auto network = parse_network("10.0.0.0/24");
  REQUIRE(network.ok());
  ReceiverConfig rc;
  rc.audit = log.hooks();
  rc.senders = SenderPolicy({SenderRule{"", "", {*network}, {}}});
  MessageReceiver r(*f.archive, rc);
  r.answer_with("QBP^Q22", no_matches);
  r.handle("ADT^A01", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return make_error(ErrorCode::kRequiredFieldMissing, "PV1 missing");
  });
  (void)r.receive(qbp("Q1"), "10.0.0.7");
  (void)r.receive(qbp("Q1"), "10.0.0.8");
  (void)r.receive(adt("H1"), "192.0.2.1");
  (void)r.receive(adt("H2"), "10.0.0.7");
  auto id = f.archive->find({"EMR", "CLINIC", "H2"}).value()->id;
  REQUIRE(r.reprocess(id).ok());
  CHECK(log.entries == std::vector<std::string>{
                           "after answered AA Q1 answer:RSP from 10.0.0.7",
                           "after answered AA Q1 answer:RSP repeated from 10.0.0.8",
                           "after refused AR H1 from 192.0.2.1",
                           "after failed AE H2 from 10.0.0.7",
                           "after failed AE H2 rerun",
                       });
}

TEST_CASE("a store that refuses writes for its disk: AR 207 whose ERR-8 names the disk") {
  Fixture f;
  std::optional<std::string> reason = "the gateway's disk is full";
  ReceiverConfig rc;
  rc.write_refusal_reason = [&reason] { return reason; };
  MessageReceiver receiver(*f.archive, rc);
  receiver.handle("ADT^A01", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return Error::unavailable("the gateway's disk is full; nothing was stored");
  });
  auto ack = parse(receiver.receive(adt("D1"), "127.0.0.1"));
  REQUIRE(ack.ok());
  CHECK(ack->get("MSA-1") == "AR");
  CHECK(ack->find("ERR")->get(3) == "207");
  CHECK(ack->find("ERR")->get(8) ==
        "the gateway cannot store messages now: the gateway's disk is full; nothing was stored; "
        "send again later");
  CHECK_FALSE(f.archive->find({"EMR", "CLINIC", "D1"}).value());
}

TEST_CASE("message_types lists every handler's and answerer's type, sorted") {
  Fixture f;
  CHECK(f.receiver->message_types().empty());
  f.receiver->handle("VXU^V04", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return HandlerOutcome{};
  });
  f.receiver->handle("ADT^A01", [](const Message&, const CommitHook&) -> Result<HandlerOutcome> {
    return HandlerOutcome{};
  });
  f.receiver->answer_with("QBP^Q22", no_matches);
  CHECK(f.receiver->message_types() == std::vector<std::string>{"ADT^A01", "QBP^Q22", "VXU^V04"});
}
