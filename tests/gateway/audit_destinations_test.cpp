#include "gateway/audit_destinations.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include "protocols/atna/syslog_message.hpp"
#include "protocols/fhir/model/json.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using storage::StoredAudit;

namespace {

StoredAudit stored(std::int64_t id, std::string format) {
  StoredAudit a;
  a.id = id;
  a.record.received_ms = 1'767'607'200'250;  // 2026-01-05T10:00:00.250Z
  a.record.transport = "tls";
  a.record.format = std::move(format);
  a.record.raw = "<AuditMessage>\n  <EventIdentification/>\n</AuditMessage>";
  a.record.resource_json = R"({"resourceType":"AuditEvent","action":"R"})";
  return a;
}

http::FormAnswer answer(int status, std::string body = {}) {
  http::FormAnswer a;
  a.status = status;
  a.body = std::move(body);
  return a;
}

std::string entries(std::initializer_list<const char*> statuses) {
  std::string out = R"({"resourceType":"Bundle","type":"batch-response","entry":[)";
  bool first = true;
  for (const char* s : statuses) {
    out += std::string(first ? "" : ",") + R"({"response":{"status":")" + s + R"("}})";
    first = false;
  }
  return out + "]}";
}

}  // namespace

TEST_CASE("syslog: DICOM audit XML goes as received, MSGID IHE+RFC-3881, PRI 85") {
  auto message = forwarded_syslog_message(stored(7, "dicom"), "clinic-7");
  REQUIRE(message.ok());
  CHECK(*message ==
        "<85>1 2026-01-05T10:00:00.250Z clinic-7 clinic-gateway - IHE+RFC-3881 - "
        "<AuditMessage>\n  <EventIdentification/>\n</AuditMessage>");
  auto rfc3881 = forwarded_syslog_message(stored(8, "rfc3881"), "clinic-7");
  REQUIRE(rfc3881.ok());
  CHECK(rfc3881->find(" IHE+RFC-3881 - <AuditMessage>") != std::string::npos);
}

TEST_CASE("syslog: other records go as their AuditEvent JSON, without MSGID; reads back") {
  auto message = forwarded_syslog_message(stored(9, "fhir"), "Kisumu Clinic\x01");
  REQUIRE(message.ok());
  CHECK(*message ==
        "<85>1 2026-01-05T10:00:00.250Z Kisumu-Clinic- clinic-gateway - - - "
        R"({"resourceType":"AuditEvent","action":"R"})");
  auto parsed = atna::parse_syslog_message(*message);
  REQUIRE(parsed.ok());
  CHECK(parsed->facility == 10);
  CHECK(parsed->severity == 5);
  CHECK(parsed->timestamp_ms == 1'767'607'200'250);
  CHECK(parsed->msg == R"({"resourceType":"AuditEvent","action":"R"})");
}

TEST_CASE("the syslog destination sends one batch, all or nothing") {
  std::vector<std::string> sent;
  atna::SyslogClientConfig seen;
  bool fail = false;
  atna::SyslogClientConfig client;
  client.destination = *atna::parse_syslog_url("tls://arr.district.org");
  SyslogForwardDestination destination(
      client, "clinic-7",
      [&](const atna::SyslogClientConfig& config, std::span<const std::string> messages) {
        seen = config;
        sent.assign(messages.begin(), messages.end());
        return fail ? Status(Error::unavailable("connection refused")) : ok_status();
      });
  CHECK(destination.describe() == "syslog tls://arr.district.org:6514");
  CHECK(destination.cursor_name() == "forward.syslog");
  std::vector<StoredAudit> records = {stored(1, "dicom"), stored(2, "fhir")};
  std::stop_source stopping;
  Delivery ok = destination.deliver(records, stopping.get_token());
  CHECK(ok.taken == 2);
  CHECK_FALSE(ok.problem);
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].find("AuditEvent") != std::string::npos);
  stopping.request_stop();
  CHECK(seen.stop.stop_requested());  // the forwarder's stop reaches the connection
  fail = true;
  Delivery failed = destination.deliver(records, {});
  CHECK(failed.taken == 0);
  REQUIRE(failed.problem);
  CHECK(failed.problem->message == "connection refused");
}

TEST_CASE("FHIR: a batch Bundle of POST AuditEvent entries, the stored JSON inside") {
  std::vector<StoredAudit> records = {stored(1, "dicom"), stored(2, "fhir")};
  auto bundle = fhir::parse_json(audit_batch_bundle(records));
  REQUIRE(bundle.ok());
  const auto& b = bundle->as_object();
  CHECK(b.at("type").as_string() == "batch");
  REQUIRE(b.at("entry").as_array().size() == 2);
  const auto& entry = b.at("entry").as_array()[1].as_object();
  CHECK(entry.at("request").at("method").as_string() == "POST");
  CHECK(entry.at("request").at("url").as_string() == "AuditEvent");
  CHECK(entry.at("resource").at("action").as_string() == "R");
  CHECK(fhir::parse_json(audit_batch_bundle({})).ok());
}

TEST_CASE("FHIR: the answer is judged entry by entry") {
  std::vector<StoredAudit> records = {stored(1, "fhir"), stored(2, "fhir"), stored(3, "fhir")};
  SUBCASE("all stored") {
    Delivery d =
        judge_batch_answer(answer(200, entries({"201 Created", "201", "200 OK"})), records);
    CHECK(d.taken == 3);
    CHECK(d.refused.empty());
    CHECK_FALSE(d.problem);
  }
  SUBCASE("a 4xx entry is refused for good, the others stored") {
    Delivery d =
        judge_batch_answer(answer(200, entries({"201", "422 Unprocessable", "201"})), records);
    CHECK(d.taken == 3);
    CHECK(d.refused == std::vector<std::int64_t>{2});
  }
  SUBCASE("a 5xx or 429 entry stops there: the rest waits") {
    Delivery d = judge_batch_answer(answer(200, entries({"201", "503", "201"})), records);
    CHECK(d.taken == 1);
    REQUIRE(d.problem);
    CHECK(d.problem->message == "the upstream answered 503 for AuditEvent 2");
    CHECK(judge_batch_answer(answer(200, entries({"429"})), records).taken == 0);
  }
  SUBCASE("an answer without entries: the batch was accepted") {
    CHECK(judge_batch_answer(answer(200, "not json"), records).taken == 3);
    CHECK(judge_batch_answer(answer(204), records).taken == 3);
    CHECK(judge_batch_answer(answer(200, entries({"201"})), records).taken == 3);
  }
  SUBCASE("413 splits the batch; other statuses make it wait") {
    CHECK(judge_batch_answer(answer(413), records).split);
    for (int status : {400, 401, 403, 404, 500, 503, 302}) {
      Delivery d = judge_batch_answer(answer(status), records);
      CHECK(d.taken == 0);
      REQUIRE(d.problem);
      CHECK(d.problem->message == "the upstream answered HTTP " + std::to_string(status));
    }
  }
}

TEST_CASE("the FHIR destination posts to the base with the token file's bearer token") {
  storage::testing::TempDir dir;
  const auto token_file = dir.path() / "token";
  std::ofstream(token_file) << "s3cret-token \r\nsecond line\n";
  http::BodyPost base;
  base.url = *http::parse_http_url("https://district.example:8443/fhir");
  std::optional<http::BodyPost> posted;
  FhirForwardDestination destination(base, token_file, [&](const http::BodyPost& post) {
    posted = post;
    return Result<http::FormAnswer>(answer(200, entries({"201", "201"})));
  });
  CHECK(destination.describe() == "FHIR https://district.example:8443/fhir");
  CHECK(destination.cursor_name() == "forward.fhir");
  std::vector<StoredAudit> records = {stored(1, "fhir"), stored(2, "fhir")};
  CHECK(destination.deliver(records, {}).taken == 2);
  REQUIRE(posted);
  CHECK(posted->authorization == "Bearer s3cret-token");
  CHECK(posted->content_type == "application/fhir+json");
  CHECK(posted->url.target == "/fhir");
  CHECK(posted->body == audit_batch_bundle(records));

  // No token to send: nothing is posted, the batch waits.
  std::filesystem::remove(token_file);
  posted.reset();
  Delivery d = destination.deliver(records, {});
  CHECK_FALSE(posted);
  REQUIRE(d.problem);
  CHECK(d.problem->message.find("cannot read the token file") != std::string::npos);
}

TEST_CASE("the FHIR destination: a transport error makes the batch wait") {
  http::BodyPost base;
  base.url = *http::parse_http_url("https://district.example/fhir");
  FhirForwardDestination destination(base, std::nullopt, [](const http::BodyPost& post) {
    CHECK(post.authorization.empty());
    return Result<http::FormAnswer>(Error::unavailable("district.example:443: connecting failed"));
  });
  std::vector<StoredAudit> records = {stored(1, "fhir")};
  Delivery d = destination.deliver(records, {});
  CHECK(d.taken == 0);
  REQUIRE(d.problem);
  CHECK(d.problem->kind == ErrorKind::kUnavailable);
}
