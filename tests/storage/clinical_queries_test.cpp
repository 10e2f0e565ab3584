#include "storage/clinical_queries.hpp"

#include <doctest/doctest.h>

#include <thread>

#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;

namespace {

std::vector<std::string> ids_of(const std::vector<StoredVersion>& items) {
  std::vector<std::string> ids;
  for (const auto& item : items) ids.push_back(item.id);
  return ids;
}

SearchPage search(ResourceStore& store, const SearchQuery& query) {
  auto page = store.search(query);
  REQUIRE_MESSAGE(page.ok(), (page.ok() ? "" : page.error().message));
  return std::move(page).value();
}

HistoryPage history(ResourceStore& store, const HistoryQuery& query) {
  auto page = store.history(query);
  REQUIRE_MESSAGE(page.ok(), (page.ok() ? "" : page.error().message));
  return std::move(page).value();
}

// Ten patients p0..p9 one ms apart, starting at 1000 ms; p9 deleted afterwards.
std::unique_ptr<ResourceStore> ten_patients(const std::filesystem::path& dir,
                                            std::shared_ptr<std::atomic<std::int64_t>> now) {
  StoreConfig config;
  config.clock_ms = [now] { return now->load(); };
  auto store = open_store(dir, config);
  for (int i = 0; i < 10; ++i) {
    now->store(1000 + i);
    const std::string id = "p" + std::to_string(i);
    put(*store, "Patient", id, patient(),
        {{"identifier", "urn:mrn", std::to_string(i % 3)},
         {"gender", "", i % 2 == 0 ? "female" : "male"}});
  }
  put(*store, "Observation", "o1", parse_object(R"({"resourceType":"Observation"})"));
  REQUIRE(remove(*store, "Patient", "p9").ok());
  return store;
}

}  // namespace

TEST_CASE("search lists current resources of one type ordered by id, deleted ones left out") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  SearchQuery query;
  query.type = "Patient";
  query.with_total = true;
  auto page = search(*store, query);
  CHECK(ids_of(page.items) ==
        std::vector<std::string>{"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"});
  CHECK(page.total == 9);
  CHECK_FALSE(page.next_after_id);
  CHECK(page.items[0].json.find("\"id\":\"p0\"") != std::string::npos);
}

TEST_CASE("search by ids is an OR list") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  SearchQuery query;
  query.type = "Patient";
  query.ids = {"p3", "p1", "p9", "nope", "o1"};
  CHECK(ids_of(search(*store, query).items) == std::vector<std::string>{"p1", "p3"});
}

TEST_CASE("search by last-updated range is inclusive below and exclusive above") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  SearchQuery query;
  query.type = "Patient";
  query.updated_from_ms = 1002;
  query.updated_before_ms = 1005;
  CHECK(ids_of(search(*store, query).items) == std::vector<std::string>{"p2", "p3", "p4"});
}

TEST_CASE("search tokens are ANDed and system nullopt, empty and given mean any, none, that") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  SearchQuery query;
  query.type = "Patient";
  query.tokens = {{"identifier", std::nullopt, "1"}};
  CHECK(ids_of(search(*store, query).items) == std::vector<std::string>{"p1", "p4", "p7"});
  query.tokens = {{"identifier", std::string("urn:mrn"), "1"}, {"gender", std::nullopt, "male"}};
  CHECK(ids_of(search(*store, query).items) == std::vector<std::string>{"p1", "p7"});
  query.tokens = {{"identifier", std::string(""), "1"}};
  CHECK(search(*store, query).items.empty());  // those identifiers do have a system
  query.tokens = {{"gender", std::string(""), "female"}};
  CHECK(ids_of(search(*store, query).items) ==
        std::vector<std::string>{"p0", "p2", "p4", "p6", "p8"});
  query.tokens = {{"identifier", std::string("urn:other"), "1"}};
  CHECK(search(*store, query).items.empty());
}

TEST_CASE("search pages continue after the last id and report a total on each page") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  SearchQuery query;
  query.type = "Patient";
  query.count = 4;
  query.with_total = true;
  std::vector<std::string> seen;
  int pages = 0;
  for (;;) {
    auto page = search(*store, query);
    CHECK(page.total == 9);
    ++pages;
    for (auto& id : ids_of(page.items)) seen.push_back(id);
    if (!page.next_after_id) break;
    query.after_id = *page.next_after_id;
  }
  CHECK(pages == 3);
  CHECK(seen.size() == 9);
  CHECK(seen.back() == "p8");
}

TEST_CASE("count zero gives only the total and the page size is capped") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  SearchQuery query;
  query.type = "Patient";
  query.count = 0;
  query.with_total = true;
  auto page = search(*store, query);
  CHECK(page.items.empty());
  CHECK(page.total == 9);
  CHECK_FALSE(page.next_after_id);
  query.count = 1'000'000;
  CHECK(search(*store, query).items.size() == 9);  // clamped to kMaxPageSize, not failed
}

TEST_CASE("instance, type and system history list versions newest first") {
  TempDir dir;
  auto store = open_store(dir.path());
  put(*store, "Patient", "a", patient("1"));
  put(*store, "Observation", "x", parse_object(R"({"resourceType":"Observation"})"));
  put(*store, "Patient", "b", patient("1"));
  put(*store, "Patient", "a", patient("2"));
  REQUIRE(remove(*store, "Patient", "a").ok());

  HistoryQuery instance;
  instance.type = "Patient";
  instance.id = "a";
  auto page = history(*store, instance);
  REQUIRE(page.items.size() == 3);
  CHECK(page.items[0].deleted);
  CHECK(page.items[0].version == 3);
  CHECK(page.items[2].version == 1);
  CHECK(page.snapshot_seq == 5);

  HistoryQuery type;
  type.type = "Patient";
  CHECK(ids_of(history(*store, type).items) == std::vector<std::string>{"a", "a", "b", "a"});

  auto system = history(*store, HistoryQuery{});
  REQUIRE(system.items.size() == 5);
  CHECK(system.items[3].type == "Observation");
  for (std::size_t i = 1; i < system.items.size(); ++i) {
    CHECK(system.items[i - 1].seq > system.items[i].seq);
  }
}

TEST_CASE("history since a time leaves older versions out") {
  TempDir dir;
  auto now = std::make_shared<std::atomic<std::int64_t>>(0);
  auto store = ten_patients(dir.path(), now);
  HistoryQuery query;
  query.type = "Patient";
  query.since_ms = 1008;  // p8, p9 and p9's deletion (stamped 1009 too)
  CHECK(ids_of(history(*store, query).items) == std::vector<std::string>{"p9", "p9", "p8"});
}

TEST_CASE("history without type but with an id is invalid") {
  TempDir dir;
  auto store = open_store(dir.path());
  HistoryQuery query;
  query.id = "a";
  auto page = store->history(query);
  REQUIRE_FALSE(page.ok());
  CHECK(page.error().kind == ErrorKind::kInvalid);
}

TEST_CASE("history pages stay stable while new writes arrive") {
  TempDir dir;
  auto store = open_store(dir.path());
  for (int i = 0; i < 30; ++i) put(*store, "Patient", "p" + std::to_string(i % 7), patient());

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 2000; ++i) {
      (void)store->write([i](WriteContext& ctx) -> cg::Status {
        auto v = ctx.put("Patient", "n" + std::to_string(i % 5), patient(), {});
        return v ? cg::ok_status() : cg::Status(v.error());
      });
    }
  });
  HistoryQuery query;
  query.type = "Patient";
  query.count = 4;
  auto first = history(*store, query);
  const std::int64_t snapshot = first.snapshot_seq;
  CHECK(snapshot >= 30);
  std::vector<std::int64_t> seqs;
  for (auto& item : first.items) seqs.push_back(item.seq);
  auto next = first.next_at_most_seq;
  while (next) {
    query.at_most_seq = *next;
    auto page = history(*store, query);
    CHECK(page.snapshot_seq == *next);
    for (auto& item : page.items) seqs.push_back(item.seq);
    next = page.next_at_most_seq;
  }
  stop = true;
  writer.join();
  // Exactly the changes 1..snapshot, each once, newest first, whatever was written since.
  REQUIRE(seqs.size() == static_cast<std::size_t>(snapshot));
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    CHECK(seqs[i] == snapshot - static_cast<std::int64_t>(i));
  }
}

TEST_CASE("latest_seq follows the change log") {
  TempDir dir;
  auto store = open_store(dir.path());
  CHECK(*store->latest_seq() == 0);
  put(*store, "Patient", "a", patient());
  put(*store, "Patient", "a", patient());
  CHECK(*store->latest_seq() == 2);
}

TEST_CASE("scan_current walks every current resource by type and id, deleted ones left out") {
  TempDir dir;
  auto now = std::make_shared<std::atomic<std::int64_t>>(0);
  auto store = ten_patients(dir.path(), now);
  std::vector<std::string> seen;
  auto seq = store->scan_current({}, [&](const StoredVersion& v) -> cg::Status {
    CHECK_FALSE(v.json.empty());
    seen.push_back(v.type + "/" + v.id);
    return cg::ok_status();
  });
  REQUIRE(seq.ok());
  CHECK(*seq == *store->latest_seq());
  CHECK(seen == std::vector<std::string>{"Observation/o1", "Patient/p0", "Patient/p1", "Patient/p2",
                                         "Patient/p3", "Patient/p4", "Patient/p5", "Patient/p6",
                                         "Patient/p7", "Patient/p8"});
}

TEST_CASE("scan_current selects types, skips types and filters by lastUpdated") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  const auto walk = [&](const ScanQuery& query) {
    std::vector<std::string> ids;
    auto seq = store->scan_current(query, [&](const StoredVersion& v) -> cg::Status {
      ids.push_back(v.id);
      return cg::ok_status();
    });
    REQUIRE(seq.ok());
    return ids;
  };
  ScanQuery observations;
  observations.types = {"Observation"};
  CHECK(walk(observations) == std::vector<std::string>{"o1"});
  ScanQuery not_patients;
  not_patients.skip_types = {"Patient"};
  CHECK(walk(not_patients) == std::vector<std::string>{"o1"});
  ScanQuery recent;
  recent.types = {"Patient"};
  recent.updated_from_ms = 1007;
  CHECK(walk(recent) == std::vector<std::string>{"p7", "p8"});
}

TEST_CASE("scan_current reads one snapshot: writes during the walk are not seen") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  std::size_t seen = 0;
  auto seq = store->scan_current({}, [&](const StoredVersion& v) -> cg::Status {
    if (seen++ == 0) {
      put(*store, "Patient", "p99", patient());  // committed while the walk is under way
      REQUIRE(remove(*store, "Patient", "p8").ok());
    }
    CHECK(v.id != "p99");
    return cg::ok_status();
  });
  REQUIRE(seq.ok());
  CHECK(seen == 10);
  CHECK(*seq < *store->latest_seq());
}

TEST_CASE("an error from the visitor stops scan_current and is returned") {
  TempDir dir;
  auto store = ten_patients(dir.path(), std::make_shared<std::atomic<std::int64_t>>(0));
  std::size_t seen = 0;
  auto seq = store->scan_current({}, [&](const StoredVersion&) -> cg::Status {
    ++seen;
    return cg::Error::unavailable("disk full");
  });
  REQUIRE_FALSE(seq.ok());
  CHECK(seq.error().kind == ErrorKind::kUnavailable);
  CHECK(seen == 1);
}
