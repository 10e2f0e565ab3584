#include "storage/version_writer.hpp"

#include <doctest/doctest.h>

#include "storage/index_query.hpp"
#include "storage/sqlite.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;
using cg::Status;

namespace {

struct ChangeRow {
  std::int64_t seq;
  std::string id;
  std::int64_t version;
  std::string op;
  bool operator==(const ChangeRow&) const = default;
};

// The change log as the sync code will read it, straight from the file.
std::vector<ChangeRow> changes(const std::filesystem::path& dir) {
  auto conn = Connection::open(dir / "clinical.db", Connection::Mode::kExisting);
  REQUIRE(conn.ok());
  auto stmt = conn->statement("SELECT seq, id, version, op FROM changes ORDER BY seq");
  REQUIRE(stmt.ok());
  std::vector<ChangeRow> rows;
  while (*(*stmt)->step()) {
    rows.push_back({(*stmt)->column_int64(0), (*stmt)->column_text(1), (*stmt)->column_int64(2),
                    (*stmt)->column_text(3)});
  }
  return rows;
}

// A conditional-style match on Patient.identifier: count 2, as write_ops asks.
IndexQuery identifier_query(std::optional<std::string> system, std::string code) {
  IndexQuery q;
  q.types = {"Patient"};
  q.where.all_of.push_back(OrGroup{
      {Condition{TokenCond{"identifier", std::move(system), std::move(code), {}, {}, {}, false}}}});
  q.count = 2;
  return q;
}

// A settable clock for deterministic timestamps.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> now =
      std::make_shared<std::atomic<std::int64_t>>(1'700'000'000'000);
  std::function<std::int64_t()> function() const {
    return [now = now] { return now->load(); };
  }
};

}  // namespace

TEST_CASE("put stamps id, versionId and lastUpdated and keeps the client's meta") {
  TempDir dir;
  FakeClock clock;
  StoreConfig config;
  config.clock_ms = clock.function();
  auto store = open_store(dir.path(), config);
  auto resource = parse_object(
      R"({"resourceType":"Patient","id":"wrong","meta":{"versionId":"7","profile":["p"],)"
      R"("tag":[{"code":"t"}],"source":"s"}})");
  auto v = put(*store, "Patient", "p1", resource);
  CHECK(v.version == 1);
  CHECK(v.last_updated_ms == 1'700'000'000'000);
  CHECK(v.last_updated == "2023-11-14T22:13:20.000Z");
  auto stored = parse_object(v.json);
  CHECK(stored.at("id") == "p1");
  const auto& meta = stored.at("meta").as_object();
  CHECK(meta.at("versionId") == "1");
  CHECK(meta.at("lastUpdated") == "2023-11-14T22:13:20.000Z");
  CHECK(meta.at("profile").as_array().size() == 1);
  CHECK(meta.at("tag").as_array().size() == 1);
  CHECK(meta.at("source") == "s");
  auto head = store->head("Patient", "p1");
  REQUIRE(head.ok());
  REQUIRE(head->has_value());
  CHECK((*head)->json == v.json);
  CHECK((*head)->seq == v.seq);
}

TEST_CASE("create, update, delete and re-create number versions and log each change") {
  TempDir dir;
  auto store = open_store(dir.path());
  CHECK(put(*store, "Patient", "p1", patient("A")).version == 1);
  CHECK(put(*store, "Patient", "p1", patient("B")).version == 2);
  REQUIRE(remove(*store, "Patient", "p1").ok());
  CHECK(put(*store, "Patient", "p1", patient("C")).version == 4);
  auto head = store->head("Patient", "p1");
  REQUIRE(head.ok());
  CHECK((*head)->version == 4);
  CHECK_FALSE((*head)->deleted);
  const std::vector<ChangeRow> expected = {{1, "p1", 1, "create"},
                                           {2, "p1", 2, "update"},
                                           {3, "p1", 3, "delete"},
                                           {4, "p1", 4, "create"}};
  store->close();
  CHECK(changes(dir.path()) == expected);
}

TEST_CASE("every version is kept with its own json, the deletion one empty") {
  TempDir dir;
  auto store = open_store(dir.path());
  put(*store, "Patient", "p1", patient("A"));
  put(*store, "Patient", "p1", patient("B"));
  REQUIRE(remove(*store, "Patient", "p1").ok());
  auto v1 = store->version("Patient", "p1", 1);
  auto v2 = store->version("Patient", "p1", 2);
  auto v3 = store->version("Patient", "p1", 3);
  REQUIRE((v1.ok() && v2.ok() && v3.ok()));
  CHECK((*v1)->json.find("\"A\"") != std::string::npos);
  CHECK((*v2)->json.find("\"B\"") != std::string::npos);
  CHECK((*v3)->deleted);
  CHECK((*v3)->json.empty());
  CHECK((*v1)->seq < (*v2)->seq);
  CHECK((*v2)->seq < (*v3)->seq);
  CHECK_FALSE(store->version("Patient", "p1", 4)->has_value());
  auto head = store->head("Patient", "p1");
  CHECK((*head)->deleted);
}

TEST_CASE("removing a missing resource is kNotFound; removing twice returns the deletion") {
  TempDir dir;
  auto store = open_store(dir.path());
  auto missing = remove(*store, "Patient", "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kNotFound);
  put(*store, "Patient", "p1", patient());
  REQUIRE(remove(*store, "Patient", "p1").ok());
  std::int64_t again_version = 0;
  REQUIRE(store
              ->write([&](WriteContext& ctx) -> Status {
                auto v = ctx.remove("Patient", "p1");
                if (!v) return v.take_error();
                again_version = v->version;
                CHECK(v->deleted);
                return cg::ok_status();
              })
              .ok());
  CHECK(again_version == 2);
  CHECK(*store->latest_seq() == 2);  // no new change for the repeated delete
}

TEST_CASE("timestamps never go backwards when the wall clock does") {
  TempDir dir;
  FakeClock clock;
  StoreConfig config;
  config.clock_ms = clock.function();
  auto store = open_store(dir.path(), config);
  auto first = put(*store, "Patient", "p1", patient());
  clock.now->store(first.last_updated_ms - 60'000);  // NTP stepped the clock back a minute
  auto second = put(*store, "Patient", "p2", patient());
  CHECK(second.last_updated_ms == first.last_updated_ms);
  store->close();
  // The floor survives a restart too.
  store = open_store(dir.path(), config);
  CHECK(put(*store, "Patient", "p3", patient()).last_updated_ms == first.last_updated_ms);
  clock.now->store(first.last_updated_ms + 5);
  CHECK(put(*store, "Patient", "p4", patient()).last_updated_ms == first.last_updated_ms + 5);
}

TEST_CASE("decimal precision survives storage and reading back") {
  TempDir dir;
  auto store = open_store(dir.path());
  auto obs = parse_object(
      R"({"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"mg"},)"
      R"("component":[{"valueQuantity":{"value":0.000100}},{"valueQuantity":{"value":1e-3}}]})");
  put(*store, "Observation", "o1", obs);
  auto head = store->head("Observation", "o1");
  REQUIRE(head.ok());
  const std::string& json = (*head)->json;
  CHECK(json.find(R"("value":1.50,)") != std::string::npos);
  CHECK(json.find(R"("value":0.000100})") != std::string::npos);
  CHECK(json.find(R"("value":1e-3})") != std::string::npos);
}

TEST_CASE("token rows follow the current version and vanish on delete") {
  TempDir dir;
  auto store = open_store(dir.path());
  put(*store, "Patient", "p1", patient(), {{"identifier", "urn:mrn", "111"}});
  auto find = [&](const std::string& code) {
    std::vector<std::string> ids;
    REQUIRE(store
                ->write([&](WriteContext& ctx) -> Status {
                  auto found = ctx.find_ids(identifier_query("urn:mrn", code));
                  if (!found) return found.take_error();
                  ids = *found;
                  return cg::ok_status();
                })
                .ok());
    return ids;
  };
  CHECK(find("111") == std::vector<std::string>{"p1"});
  put(*store, "Patient", "p1", patient(), {{"identifier", "urn:mrn", "222"}});
  CHECK(find("111").empty());
  CHECK(find("222") == std::vector<std::string>{"p1"});
  REQUIRE(remove(*store, "Patient", "p1").ok());
  CHECK(find("222").empty());
}

TEST_CASE("find_ids gives at most query.count ids, in id order") {
  TempDir dir;
  auto store = open_store(dir.path());
  for (const char* id : {"p3", "p1", "p2"}) {
    put(*store, "Patient", id, patient(), {{"identifier", "urn:mrn", "7"}});
  }
  std::vector<std::string> ids;
  REQUIRE(store
              ->write([&](WriteContext& ctx) -> Status {
                auto found = ctx.find_ids(identifier_query("urn:mrn", "7"));
                if (!found) return found.take_error();
                ids = *found;
                return cg::ok_status();
              })
              .ok());
  CHECK(ids == std::vector<std::string>{"p1", "p2"});
}

TEST_CASE("find_ids without criteria, or not on exactly one type, is refused") {
  TempDir dir;
  auto store = open_store(dir.path());
  auto refused = [&](IndexQuery query) {
    Status status = store->write([&](WriteContext& ctx) -> Status {
      auto found = ctx.find_ids(query);
      if (!found) return found.take_error();
      return cg::ok_status();
    });
    return !status.ok() && status.error().kind == ErrorKind::kInvalid;
  };
  IndexQuery whole_type;
  whole_type.types = {"Patient"};
  CHECK(refused(whole_type));  // would match every Patient
  IndexQuery two_types = identifier_query("", "1");
  two_types.types.push_back("Practitioner");
  CHECK(refused(two_types));
}

TEST_CASE("a match over its budget fails alone: the job may still write, and it commits") {
  TempDir dir;
  auto store = open_store(dir.path());
  REQUIRE(store
              ->write([](WriteContext& ctx) -> Status {
                for (int i = 0; i < 2000; ++i) {
                  IndexEntries e;
                  e.strings.push_back({"name", "name number " + std::to_string(i), "x"});
                  auto v = ctx.put("Patient", "p" + std::to_string(i), patient(), e);
                  if (!v) return v.take_error();
                }
                return cg::ok_status();
              })
              .ok());
  IndexQuery costly;
  costly.types = {"Patient"};
  OrGroup many;
  for (int i = 0; i < 32; ++i) {
    many.any_of.push_back(
        {StringCond{"name", StringCond::Mode::kContains, "zz" + std::to_string(i), {}}});
  }
  costly.where.all_of.push_back(std::move(many));
  costly.count = 2;
  costly.budget = {60'000, 20'000};
  std::optional<cg::Error> match_error;
  Status status = store->write([&](WriteContext& ctx) -> Status {
    auto found = ctx.find_ids(costly);
    if (!found) match_error = found.error();
    auto v = ctx.put("Patient", "after", patient(), {});
    return v ? cg::ok_status() : Status(v.error());
  });
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
  REQUIRE(match_error.has_value());
  CHECK(match_error->kind == ErrorKind::kInvalid);
  CHECK(match_error->message == "the search is too costly; narrow it");
  auto head = store->head("Patient", "after");
  REQUIRE(head.ok());
  CHECK(head->has_value());
}

TEST_CASE("a job sees its own writes and the earlier jobs of its batch") {
  TempDir dir;
  auto store = open_store(dir.path());
  WriterGate gate;
  DoneLog log;
  store->submit(gate.job(), log.callback());
  REQUIRE(gate.wait_entered());
  store->submit(
      [](WriteContext& ctx) -> Status {
        auto v = ctx.put("Patient", "p1", patient(), tokens_only({{"identifier", "", "9"}}));
        return v ? cg::ok_status() : Status(v.error());
      },
      log.callback());
  bool seen = false;
  store->submit(
      [&](WriteContext& ctx) -> Status {
        auto head = ctx.head("Patient", "p1");
        auto v1 = ctx.version("Patient", "p1", 1);
        auto ids = ctx.find_ids(identifier_query("", "9"));
        seen = head.ok() && head->has_value() && v1.ok() && v1->has_value() && ids.ok() &&
               ids->size() == 1;
        return cg::ok_status();
      },
      log.callback());
  gate.open();
  REQUIRE(log.wait_for(3));
  CHECK(seen);
  CHECK(store->stats().commits == 2);  // the gate's batch, then both jobs together
}

TEST_CASE("a resource needs a type and an id") {
  TempDir dir;
  auto store = open_store(dir.path());
  Status status = store->write([](WriteContext& ctx) -> Status {
    auto v = ctx.put("Patient", "", patient(), {});
    return v ? cg::ok_status() : Status(v.error());
  });
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::kInvalid);
}

TEST_CASE("referring_resources lists current referrers once each, in order, up to a bound") {
  TempDir dir;
  auto store = open_store(dir.path());
  auto refers_to = [](std::string target) {
    IndexEntries index;
    index.references.push_back({"subject", "Patient", target, "", "", "", ""});
    index.references.push_back({"performer", "Patient", target, "", "", "", ""});
    return index;
  };
  auto write = [&](const std::string& type, const std::string& id, const IndexEntries& index) {
    REQUIRE(store
                ->write([&](WriteContext& ctx) -> Status {
                  auto v = ctx.put(type, id, patient(), index);
                  return v ? cg::ok_status() : Status(v.error());
                })
                .ok());
  };
  write("Observation", "o2", refers_to("p1"));
  write("Observation", "o1", refers_to("p1"));
  write("Encounter", "e1", refers_to("p1"));
  write("Observation", "o3", refers_to("p2"));
  write("Observation", "o4", refers_to("p1"));
  REQUIRE(remove(*store, "Observation", "o4").ok());  // deleted: no longer refers
  auto referrers = [&](std::size_t at_most) {
    std::vector<std::pair<std::string, std::string>> out;
    REQUIRE(store
                ->write([&](WriteContext& ctx) -> Status {
                  auto found = ctx.referring_resources("Patient", "p1", at_most);
                  if (!found) return found.take_error();
                  out = *found;
                  return cg::ok_status();
                })
                .ok());
    return out;
  };
  using Ids = std::vector<std::pair<std::string, std::string>>;
  CHECK(referrers(10) == Ids{{"Encounter", "e1"}, {"Observation", "o1"}, {"Observation", "o2"}});
  CHECK(referrers(2) == Ids{{"Encounter", "e1"}, {"Observation", "o1"}});
}
