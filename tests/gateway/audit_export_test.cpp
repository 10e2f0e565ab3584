#include "gateway/audit_export.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "protocols/fhir/model/base64.hpp"
#include "protocols/fhir/model/json.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using storage::AuditRecord;
using storage::StoredAudit;

namespace {

AuditRecord event(std::int64_t received_ms, std::string json) {
  AuditRecord r;
  r.received_ms = received_ms;
  r.transport = "tls";
  r.peer = "10.0.0.7";
  r.format = "fhir";
  r.raw = json;
  r.resource_json = std::move(json);
  return r;
}

AuditRecord flagged(std::int64_t received_ms, std::string raw) {
  AuditRecord r;
  r.received_ms = received_ms;
  r.transport = "udp";
  r.peer = "10.0.0.9";
  r.format = "unknown";
  r.problem = "not an audit message";
  r.raw = std::move(raw);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Fixture {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::AuditStore> store;
  Fixture() {
    auto opened = storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
    REQUIRE(opened.ok());
    store = std::move(*opened);
  }
  std::string run(const ExportRange& range, ExportCount* count = nullptr) {
    std::ostringstream out;
    auto done = export_audit(*store, range, out);
    REQUIRE_MESSAGE(done.ok(), (done.ok() ? "" : done.error().message));
    if (count) *count = *done;
    return out.str();
  }
};

}  // namespace

TEST_CASE("an exported AuditEvent gets its id and meta.lastUpdated, in FHIR's member order") {
  StoredAudit stored;
  stored.id = 42;
  stored.record = event(1'767'607'200'250, R"({"action":"R","resourceType":"AuditEvent",)"
                                           R"("meta":{"security":[{"code":"HTEST"}]},)"
                                           R"("id":"old","extension":[{"valueDecimal":1.50}]})");
  auto line = audit_event_with_id(stored);
  REQUIRE(line.ok());
  CHECK(*line == R"({"resourceType":"AuditEvent","id":"42","meta":{"security":[{"code":"HTEST"}],)"
                 R"("lastUpdated":"2026-01-05T10:00:00.250Z"},"action":"R",)"
                 R"("extension":[{"valueDecimal":1.50}]})");
  stored.record.resource_json = "{broken";
  CHECK(audit_event_with_id(stored).error().message.find("audit record 42") != std::string::npos);
}

TEST_CASE("an unreadable record's line is no FHIR resource and keeps every byte") {
  StoredAudit stored;
  stored.id = 17;
  stored.record = flagged(1'767'607'200'250, std::string("<<gar\0bage\xff", 11));
  auto line = unreadable_record_line(stored);
  auto parsed = fhir::parse_json(line);
  REQUIRE(parsed.ok());
  const auto& top = parsed->as_object();
  CHECK(top.size() == 1);
  CHECK_FALSE(top.contains("resourceType"));
  const auto& u = top.at("unreadable").as_object();
  CHECK(u.at("id").as_string() == "17");
  CHECK(u.at("received").as_string() == "2026-01-05T10:00:00.250Z");
  CHECK(u.at("transport").as_string() == "udp");
  CHECK(u.at("peer").as_string() == "10.0.0.9");
  CHECK(u.at("format").as_string() == "unknown");
  CHECK(u.at("problem").as_string() == "not an audit message");
  CHECK(base64_decode(std::string(u.at("payload").as_string())) == stored.record.raw);
}

TEST_CASE("as received: a readable record's line carries its payload, not its AuditEvent") {
  StoredAudit stored;
  stored.id = 9;
  stored.record = event(1'767'607'200'250, R"({"resourceType":"AuditEvent","action":"R"})");
  stored.record.raw = "<AuditMessage>\xc3\xa9</AuditMessage>";
  auto parsed = fhir::parse_json(received_record_line(stored));
  REQUIRE(parsed.ok());
  const auto& top = parsed->as_object();
  CHECK(top.size() == 1);
  const auto& r = top.at("received").as_object();
  CHECK(r.at("id").as_string() == "9");
  CHECK(r.at("format").as_string() == "fhir");
  CHECK_FALSE(r.contains("problem"));
  CHECK(base64_decode(std::string(r.at("payload").as_string())) == stored.record.raw);
}

TEST_CASE("export pages through every record, oldest first, one line each") {
  Fixture f;
  std::vector<AuditRecord> many;
  const int n = static_cast<int>(kExportPageSize) * 2 + 7;
  for (int i = 0; i < n; ++i) many.push_back(event(i, R"({"resourceType":"AuditEvent"})"));
  REQUIRE(f.store->append_and_wait(std::move(many)).ok());
  ExportCount count;
  auto lines = lines_of(f.run({}, &count));
  REQUIRE(lines.size() == static_cast<std::size_t>(n));
  CHECK(lines.front().find(R"("id":"1")") != std::string::npos);
  CHECK(lines.back().find(R"("id":")" + std::to_string(n) + "\"") != std::string::npos);
  CHECK(count.events == n);
  CHECK(count.first_id == 1);
  CHECK(count.last_id == n);
}

TEST_CASE("export ranges: ids (after, through), receive times, unreadable records on demand") {
  Fixture f;
  REQUIRE(
      f.store
          ->append_and_wait({event(1000, R"({"resourceType":"AuditEvent"})"), flagged(2000, "junk"),
                             event(3000, R"({"resourceType":"AuditEvent"})"),
                             event(2500, R"({"resourceType":"AuditEvent"})")})
          .ok());
  ExportRange range;
  range.after_id = 1;
  range.through_id = 3;
  ExportCount count;
  auto lines = lines_of(f.run(range, &count));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(R"("id":"3")") != std::string::npos);
  CHECK(count.unreadable_skipped == 1);

  range.include_unreadable = true;
  lines = lines_of(f.run(range, &count));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].starts_with(R"({"unreadable":{"id":"2")"));
  CHECK(count.unreadable_written == 1);

  // By receive time: record 4 arrived out of order (a clock step) and is still found.
  ExportRange by_time;
  by_time.received_from_ms = 2500;
  by_time.received_to_ms = 3000;
  lines = lines_of(f.run(by_time));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(R"("id":"4")") != std::string::npos);
}
