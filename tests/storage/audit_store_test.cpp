#include "storage/audit_store.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <thread>

#include "storage/sqlite.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::storage;
using testing::TempDir;

namespace {

constexpr const char* kDcm = "http://dicom.nema.org/resources/ontology/DCM";

AuditRecord record(std::int64_t received, std::int64_t recorded, std::string type,
                   std::string patient, std::string outcome = "0") {
  AuditRecord r;
  r.received_ms = received;
  r.recorded_ms = recorded;
  r.transport = "tls";
  r.peer = "10.0.0.7";
  r.format = "dicom";
  r.raw = "<AuditMessage>" + type + "</AuditMessage>";
  r.resource_json = R"({"resourceType":"AuditEvent"})";
  r.keys = {{"type", kDcm, type},
            {"outcome", "http://hl7.org/fhir/audit-event-outcome", outcome},
            {"patient-identifier", "urn:oid:1.2.3", patient},
            {"address", "", "10.0.0.7"}};
  return r;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<AuditStore> store;
  Fixture() {
    auto opened = AuditStore::open({dir.path(), 2, 64, 1000, nullptr});
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    store = std::move(*opened);
  }
  std::vector<std::int64_t> ids(const AuditQuery& q) {
    auto found = store->search(q);
    REQUIRE_MESSAGE(found.ok(), (found.ok() ? "" : found.error().message));
    std::vector<std::int64_t> out;
    for (const auto& a : *found) out.push_back(a.id);
    return out;
  }
};

AuditCriterion where(std::string param, std::vector<AuditKey> any_of) {
  return {std::move(param), std::move(any_of)};
}

}  // namespace

TEST_CASE("appended audit records are read back whole, raw bytes included") {
  Fixture f;
  AuditRecord r = record(1000, 900, "110110", "7627199");
  r.raw += std::string("\0\xff", 2);  // bytes, not text
  auto ids = f.store->append_and_wait({r});
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 1);
  auto back = f.store->read(ids->front());
  REQUIRE(back.ok());
  CHECK(back->record.raw == r.raw);
  CHECK(back->record.resource_json == r.resource_json);
  CHECK(back->record.recorded_ms == 900);
  CHECK(back->record.transport == "tls");
  CHECK(back->record.problem.empty());
  CHECK(f.store->read(999).error().kind == ErrorKind::kNotFound);
  struct stat st {};
  CHECK(::stat((f.dir.path() / "audit.db").c_str(), &st) == 0);
}

TEST_CASE("search: AND across parameters, OR within one, system optional, newest first") {
  Fixture f;
  REQUIRE(f.store
              ->append_and_wait({record(1, 100, "110110", "A"), record(2, 200, "110112", "A"),
                                 record(3, 300, "110110", "B", "4"), record(4, 400, "110110", "A")})
              .ok());
  AuditQuery q;
  q.all_of = {where("type", {{"", kDcm, "110110"}})};
  CHECK(f.ids(q) == std::vector<std::int64_t>{4, 3, 1});
  q.all_of.push_back(where("patient-identifier", {{"", "", "A"}}));  // any system
  CHECK(f.ids(q) == std::vector<std::int64_t>{4, 1});
  q.all_of = {where("type", {{"", "", "110112"}, {"", "", "110110"}}),
              where("outcome", {{"", "", "4"}})};
  CHECK(f.ids(q) == std::vector<std::int64_t>{3});
  q.all_of = {where("patient-identifier", {{"", "urn:oid:9.9", "A"}})};  // wrong system
  CHECK(f.ids(q).empty());
  q.all_of = {where("type", {{"", kDcm, ""}})};  // any code in the system
  CHECK(f.ids(q).size() == 4);
  // Dates are half-open on AuditEvent.recorded; paging goes to older ids.
  q.all_of.clear();
  q.recorded_from_ms = 200;
  q.recorded_to_ms = 400;
  CHECK(f.ids(q) == std::vector<std::int64_t>{3, 2});
  q = {};
  q.count = 2;
  CHECK(f.ids(q) == std::vector<std::int64_t>{4, 3});
  q.before_id = 3;
  CHECK(f.ids(q) == std::vector<std::int64_t>{2, 1});
}

TEST_CASE("an unreadable payload is stored raw and flagged, and left out of searches") {
  Fixture f;
  AuditRecord bad;
  bad.received_ms = 5;
  bad.transport = "udp";
  bad.peer = "10.0.0.9";
  bad.format = "unknown";
  bad.problem = "not an audit message: no <AuditMessage> element";
  bad.raw = "<<garbage";
  auto ids = f.store->append_and_wait({bad, record(6, 6, "110110", "A")});
  REQUIRE(ids.ok());
  auto back = f.store->read(ids->front());
  REQUIRE(back.ok());
  CHECK(back->record.problem == bad.problem);
  CHECK(back->record.resource_json.empty());
  CHECK(back->record.raw == "<<garbage");
  AuditQuery q;
  CHECK(f.ids(q) == std::vector<std::int64_t>{ids->back()});
  q.include_unreadable = true;
  CHECK(f.ids(q).size() == 2);
}

TEST_CASE("since() walks records oldest first; prune() removes old records and their keys") {
  Fixture f;
  for (int i = 1; i <= 5; ++i) {
    REQUIRE(f.store->append_and_wait({record(i * 1000, i, "110110", "A")}).ok());
  }
  auto first = f.store->since(0, 2);
  REQUIRE(first.ok());
  REQUIRE(first->size() == 2);
  CHECK(first->front().id == 1);
  auto rest = f.store->since(first->back().id, 10);
  REQUIRE(rest.ok());
  CHECK(rest->size() == 3);
  auto pruned = f.store->prune(3000);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 2);
  AuditQuery q;
  q.all_of = {where("type", {{"", "", "110110"}})};
  CHECK(f.ids(q) == std::vector<std::int64_t>{5, 4, 3});
  CHECK(f.store->read(1).error().kind == ErrorKind::kNotFound);
}

TEST_CASE("appends from many threads share commits and all land") {
  Fixture f;
  std::vector<std::thread> senders;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (!f.store->append_and_wait({record(t * 100 + i, i, "110110", std::to_string(t))})) {
          ++failures;
        }
      }
    });
  }
  for (auto& s : senders) s.join();
  CHECK(failures == 0);
  AuditQuery q;
  q.count = 1000;
  CHECK(f.ids(q).size() == 400);
  q.all_of = {where("patient-identifier", {{"", "", "3"}})};
  CHECK(f.ids(q).size() == 50);
}

TEST_CASE("the store reopens with its records (audit.db survives a restart)") {
  TempDir dir;
  {
    auto store = AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
    REQUIRE(store.ok());
    REQUIRE((*store)->append_and_wait({record(1, 1, "110110", "A")}).ok());
  }
  auto again = AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
  REQUIRE(again.ok());
  CHECK((*again)->read(1).ok());
}

TEST_CASE("prune() keeps records above the id bound (not yet forwarded) and works in slices") {
  Fixture f;
  std::vector<AuditRecord> many;
  const std::int64_t n = AuditStore::kPruneBatch * 2 + 10;  // three slices
  for (std::int64_t i = 1; i <= n; ++i) many.push_back(record(i, i, "110110", "A"));
  REQUIRE(f.store->append_and_wait(std::move(many)).ok());
  // Everything is old enough, but a destination has only had the records up to n - 5.
  auto pruned = f.store->prune(n + 1, n - 5);
  REQUIRE(pruned.ok());
  CHECK(*pruned == n - 5);
  auto left = f.store->since(0, 100);
  REQUIRE(left.ok());
  REQUIRE(left->size() == 5);
  CHECK(left->front().id == n - 4);
  // Their keys went with them: a search finds only the five kept records.
  AuditQuery q;
  q.all_of = {where("patient-identifier", {{"", "", "A"}})};
  q.count = 100;
  CHECK(f.ids(q).size() == 5);
  // Once forwarded, they go too; an empty prune deletes nothing.
  CHECK(*f.store->prune(n + 1) == 5);
  CHECK(*f.store->prune(n + 1) == 0);
  // No posting and no term outlives its records: a pruned patient's identifier is gone.
  auto conn = Connection::open(f.dir.path() / "audit.db", Connection::Mode::kExisting);
  REQUIRE(conn.ok());
  CHECK(*conn->query_int64("SELECT count(*) FROM audit_postings") == 0);
  CHECK(*conn->query_int64("SELECT count(*) FROM audit_terms") == 0);
  // And terms the writer had cached before the prune are inserted again, not dangling.
  REQUIRE(f.store->append_and_wait({record(n + 2, n + 2, "110110", "A")}).ok());
  CHECK(f.ids(q).size() == 1);
  CHECK(*conn->query_int64("SELECT count(*) FROM audit_terms") == 4);
}

TEST_CASE("records are kept compressed, each distinct key once, a job's keys in blocks") {
  Fixture f;
  std::vector<AuditRecord> batch;
  for (int i = 0; i < 20; ++i) {
    AuditRecord r = record(i, i, "110110", "7627199");
    r.raw = R"(<AuditMessage><EventIdentification EventActionCode="E" EventOutcomeIndicator="0">)"
            R"(<EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>)"
            R"(</EventIdentification><ActiveParticipant UserID="lab" UserIsRequestor="true"/>)"
            R"(</AuditMessage>)";
    batch.push_back(std::move(r));
  }
  const std::string raw = batch.front().raw;
  REQUIRE(f.store->append_and_wait(std::move(batch)).ok());
  auto conn = Connection::open(f.dir.path() / "audit.db", Connection::Mode::kExisting);
  REQUIRE(conn.ok());
  auto stored = conn->query_int64("SELECT max(length(raw)) FROM audit_records");
  REQUIRE(stored.ok());
  CHECK(*stored < static_cast<std::int64_t>(raw.size()) / 2);
  CHECK(*conn->query_int64("SELECT count(*) FROM audit_terms") == 4);
  // One block per term for the whole job, not one row per record and key.
  CHECK(*conn->query_int64("SELECT count(*) FROM audit_postings") == 4);
  auto back = f.store->read(20);
  REQUIRE(back.ok());
  CHECK(back->record.raw == raw);
}

TEST_CASE("an audit.db of schema 2 is migrated: its records and keys are found as before") {
  TempDir dir;
  {
    auto conn = Connection::open(dir.path() / "audit.db", Connection::Mode::kCreate);
    REQUIRE(conn.ok());
    REQUIRE(conn->exec(R"sql(
      CREATE TABLE audit_records (id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL,
        recorded_ms INTEGER, transport TEXT NOT NULL, peer TEXT NOT NULL, format TEXT NOT NULL,
        problem TEXT, raw BLOB NOT NULL, resource TEXT);
      CREATE INDEX audit_records_recorded ON audit_records (recorded_ms);
      CREATE INDEX audit_records_received ON audit_records (received_ms);
      CREATE TABLE audit_keys (param TEXT NOT NULL, code TEXT NOT NULL, system TEXT NOT NULL,
        record INTEGER NOT NULL, PRIMARY KEY (param, code, system, record)) WITHOUT ROWID;
      CREATE INDEX audit_keys_record ON audit_keys (record);
      CREATE TABLE audit_cursors (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL);
      INSERT INTO audit_records VALUES (1, 10, 10, 'udp', '10.0.0.7', 'dicom', NULL,
        '<AuditMessage/>', '{"resourceType":"AuditEvent"}');
      INSERT INTO audit_records VALUES (2, 20, 20, 'udp', '10.0.0.7', 'dicom', NULL,
        '<AuditMessage/>', '{"resourceType":"AuditEvent"}');
      INSERT INTO audit_keys VALUES ('patient-identifier', 'A', 'urn:oid:1.2.3', 1);
      INSERT INTO audit_keys VALUES ('patient-identifier', 'B', 'urn:oid:1.2.3', 2);
      INSERT INTO audit_keys VALUES ('type', '110110', 'DCM', 1);
      INSERT INTO audit_keys VALUES ('type', '110110', 'DCM', 2);
      PRAGMA user_version = 2;
    )sql"));
  }
  auto opened = AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
  AuditStore& store = **opened;
  AuditQuery q;
  q.all_of = {where("type", {{"", "", "110110"}}),
              where("patient-identifier", {{"", "urn:oid:1.2.3", "B"}})};
  auto found = store.search(q);
  REQUIRE(found.ok());
  REQUIRE(found->size() == 1);
  CHECK(found->front().id == 2);
  CHECK(found->front().record.raw == "<AuditMessage/>");  // stored plain, read plain
  // New records go beside them, compressed; the old ones prune with their keys.
  REQUIRE(store.append_and_wait({record(30, 30, "110110", "B")}).ok());
  q.count = 10;
  CHECK(store.search(q)->size() == 2);
  CHECK(*store.prune(25) == 2);
  CHECK(store.search(q)->size() == 1);
}

TEST_CASE("cursors start at 0, move both ways, and survive a restart") {
  TempDir dir;
  {
    auto store = AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
    REQUIRE(store.ok());
    CHECK(*(*store)->cursor("forward.syslog") == 0);
    REQUIRE((*store)->set_cursor("forward.syslog", 42, 1000).ok());
    REQUIRE((*store)->set_cursor("forward.fhir", 7, 1001).ok());
    REQUIRE((*store)->set_cursor("forward.syslog", 40, 1002).ok());  // a rewind is allowed
  }
  auto again = AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
  REQUIRE(again.ok());
  CHECK(*(*again)->cursor("forward.syslog") == 40);
  auto all = (*again)->cursors();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK(all->front().name == "forward.fhir");
  CHECK(all->front().last_id == 7);
  CHECK(all->back().updated_ms == 1002);
}

TEST_CASE("stats, queue lengths and the ids received in a time range") {
  Fixture f;
  auto empty = f.store->stats();
  REQUIRE(empty.ok());
  CHECK(empty->records == 0);
  CHECK_FALSE(empty->first_id.has_value());
  CHECK_FALSE(f.store->ids_received(0, 10'000)->has_value());

  AuditRecord bad = record(2500, 1, "110110", "A");
  bad.problem = "unreadable";
  bad.resource_json.clear();
  REQUIRE(f.store
              ->append_and_wait({record(1000, 1, "110110", "A"), record(2000, 1, "110110", "A"),
                                 bad, record(4000, 1, "110110", "A")})
              .ok());
  auto stats = f.store->stats();
  REQUIRE(stats.ok());
  CHECK(stats->records == 4);
  CHECK(stats->unreadable == 1);
  CHECK(stats->first_id == 1);
  CHECK(stats->last_id == 4);
  CHECK(stats->oldest_received_ms == 1000);
  CHECK(stats->newest_received_ms == 4000);
  CHECK(*f.store->count_after(0) == 4);
  CHECK(*f.store->count_after(3) == 1);
  auto span = f.store->ids_received(2000, 4000);  // half-open: 4000 is left out
  REQUIRE(span.ok());
  REQUIRE(span->has_value());
  CHECK((*span)->first == 2);
  CHECK((*span)->last == 3);
}

TEST_CASE("search and count agree with a brute-force reading of the same records") {
  Fixture f;
  // 600 records in 40 jobs of different sizes; types, patients and outcomes mixed so that
  // every term has many blocks and criteria cross them.
  std::vector<AuditRecord> all;
  std::uint32_t seed = 7;
  auto next = [&seed] { return seed = seed * 1'103'515'245u + 12'345u, (seed >> 16) & 0x7fff; };
  for (int job = 0; job < 40; ++job) {
    std::vector<AuditRecord> batch;
    const int size = 1 + static_cast<int>(next() % 30);
    for (int i = 0; i < size; ++i) {
      const auto n = static_cast<std::int64_t>(all.size()) + 1;
      AuditRecord r = record(n, n * 10, next() % 3 == 0 ? "110112" : "110110",
                             "P" + std::to_string(next() % 9), next() % 4 == 0 ? "4" : "0");
      all.push_back(r);
      batch.push_back(std::move(r));
    }
    REQUIRE(f.store->append_and_wait(std::move(batch)).ok());
  }
  auto has = [](const AuditRecord& r, const std::string& param, const std::string& code) {
    for (const auto& k : r.keys) {
      if (k.param == param && k.code == code) return true;
    }
    return false;
  };
  for (int round = 0; round < 60; ++round) {
    const std::string type = next() % 2 ? "110110" : "110112";
    const std::string p1 = "P" + std::to_string(next() % 9), p2 = "P" + std::to_string(next() % 9);
    const bool by_outcome = next() % 2;
    AuditQuery q;
    q.all_of = {where("type", {{"", "", type}}),
                where("patient-identifier", {{"", "", p1}, {"", "urn:oid:1.2.3", p2}})};
    if (by_outcome) q.all_of.push_back(where("outcome", {{"", "", "4"}}));
    q.recorded_from_ms = static_cast<std::int64_t>(next() % 3000);
    q.count = 1 + next() % 15;
    std::vector<std::int64_t> expected;
    for (std::size_t i = all.size(); i-- > 0;) {
      const AuditRecord& r = all[i];
      if (has(r, "type", type) &&
          (has(r, "patient-identifier", p1) || has(r, "patient-identifier", p2)) &&
          (!by_outcome || has(r, "outcome", "4")) && *r.recorded_ms >= *q.recorded_from_ms) {
        expected.push_back(static_cast<std::int64_t>(i) + 1);
      }
    }
    CHECK(*f.store->count(q) == static_cast<std::int64_t>(expected.size()));
    // Page through: every match once, newest first.
    std::vector<std::int64_t> paged;
    for (;;) {
      auto page = f.ids(q);
      paged.insert(paged.end(), page.begin(), page.end());
      if (page.size() < q.count) break;
      q.before_id = page.back();
    }
    CHECK(paged == expected);
  }
}
