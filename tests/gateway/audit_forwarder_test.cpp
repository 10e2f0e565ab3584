#include "gateway/audit_forwarder.hpp"

#include <doctest/doctest.h>

#include <set>

#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace std::chrono_literals;
using storage::AuditRecord;
using storage::AuditStore;
using storage::StoredAudit;
using Clock = AuditForwarder::Clock;

namespace {

AuditRecord readable(std::int64_t received_ms) {
  AuditRecord r;
  r.received_ms = received_ms;
  r.transport = "tls";
  r.peer = "10.0.0.7";
  r.format = "dicom";
  r.raw = "<AuditMessage/>";
  r.resource_json = R"({"resourceType":"AuditEvent"})";
  return r;
}

AuditRecord unreadable(std::int64_t received_ms) {
  AuditRecord r = readable(received_ms);
  r.format = "unknown";
  r.problem = "not an audit message";
  r.resource_json.clear();
  return r;
}

// A destination under the test's control: what it is to answer next, and what it took.
class FakeDestination : public AuditDestination {
 public:
  std::string describe() const override { return "fake upstream"; }
  std::string cursor_name() const override { return "forward.fake"; }
  Delivery deliver(std::span<const StoredAudit> records, std::stop_token) override {
    ++calls;
    batch_sizes.push_back(records.size());
    if (down) return Delivery::failed(Error::unavailable("connection refused"));
    if (take_only && *take_only < records.size()) {
      for (std::size_t i = 0; i < *take_only; ++i) received.push_back(records[i].id);
      Delivery d;
      d.taken = *take_only;
      d.problem = Error::unavailable("connection reset");
      take_only.reset();
      return d;
    }
    for (const auto& r : records) {
      if (poison.count(r.id)) {
        Delivery d;
        d.split = true;
        return d;
      }
    }
    for (const auto& r : records) received.push_back(r.id);
    return Delivery::all(records.size());
  }

  bool down = false;
  std::optional<std::size_t> take_only;  // next call: take this many, then fail
  std::set<std::int64_t> poison;         // a batch holding one of these is refused whole
  int calls = 0;
  std::vector<std::size_t> batch_sizes;
  std::vector<std::int64_t> received;
};

struct Fixture {
  storage::testing::TempDir dir;
  std::unique_ptr<AuditStore> store;
  FakeDestination destination;
  std::vector<std::string> logged;
  ForwarderOptions options;
  double jitter = 0.0;

  Fixture() {
    open();
    options.batch_size = 3;
  }
  void open() {
    auto opened = AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
    REQUIRE(opened.ok());
    store = std::move(*opened);
  }
  AuditForwarder forwarder() {
    return AuditForwarder(
        *store, destination, options, [this] { return jitter; },
        [this](int priority, std::string_view m) {
          if (priority < 7) logged.emplace_back(m);  // debug lines aside
        });
  }
  void append(int n) {
    std::vector<AuditRecord> records;
    for (int i = 0; i < n; ++i) records.push_back(readable(1000 + i));
    REQUIRE(store->append_and_wait(std::move(records)).ok());
  }
  std::vector<std::int64_t> ids(std::int64_t first, std::int64_t last) {
    std::vector<std::int64_t> out;
    for (auto i = first; i <= last; ++i) out.push_back(i);
    return out;
  }
};

const Clock::time_point t0 = Clock::time_point() + 1000h;

}  // namespace

TEST_CASE("records go in batches, oldest first, and the cursor in audit.db follows") {
  Fixture f;
  f.append(7);
  auto forwarder = f.forwarder();
  CHECK(forwarder.run_once(t0) == t0);  // a full batch: more may wait, go on at once
  CHECK(forwarder.run_once(t0) == t0);
  CHECK(forwarder.run_once(t0) == t0 + 5s);  // the last, short batch: then idle
  CHECK(forwarder.run_once(t0) == t0 + 5s);  // nothing waiting: look again later
  CHECK(f.destination.received == f.ids(1, 7));
  CHECK(f.destination.batch_sizes == std::vector<std::size_t>{3, 3, 1});
  CHECK(*f.store->cursor("forward.fake") == 7);
  CHECK(forwarder.stats().delivered == 7);
  CHECK(f.logged.empty());
}

TEST_CASE("unreadable records are passed over, and a batch of only those moves the cursor") {
  Fixture f;
  REQUIRE(f.store->append_and_wait({unreadable(1), unreadable(2), unreadable(3)}).ok());
  REQUIRE(f.store->append_and_wait({readable(4), unreadable(5)}).ok());
  auto forwarder = f.forwarder();
  forwarder.run_once(t0);
  CHECK(f.destination.calls == 0);
  CHECK(*f.store->cursor("forward.fake") == 3);
  forwarder.run_once(t0);
  CHECK(f.destination.received == std::vector<std::int64_t>{4});
  CHECK(*f.store->cursor("forward.fake") == 5);
  CHECK(forwarder.stats().unreadable == 4);
}

TEST_CASE("an outage: nothing is lost, backoff doubles, and only the changes are logged") {
  Fixture f;
  f.append(4);
  auto forwarder = f.forwarder();
  f.destination.down = true;
  CHECK(forwarder.run_once(t0) == t0 + 1s);
  CHECK(forwarder.run_once(t0) == t0 + 2s);
  CHECK(forwarder.run_once(t0) == t0 + 4s);
  CHECK(forwarder.stats().failures == 3);
  CHECK(*forwarder.stats().last_problem == "connection refused");
  CHECK(*f.store->cursor("forward.fake") == 0);
  REQUIRE(f.logged.size() == 1);  // once, at the first failure
  CHECK(f.logged[0].find("fake upstream failed: connection refused") != std::string::npos);

  f.destination.down = false;
  forwarder.run_once(t0);
  forwarder.run_once(t0);
  CHECK(f.destination.received == f.ids(1, 4));  // each exactly once
  CHECK(forwarder.stats().failures == 0);
  REQUIRE(f.logged.size() == 2);
  CHECK(f.logged[1].find("works again after 3 failed attempts") != std::string::npos);
}

TEST_CASE("backoff: 1 s doubling to 5 min, shortened by up to a quarter at random") {
  Fixture f;
  auto forwarder = f.forwarder();
  CHECK(forwarder.backoff(1, 0.0) == 1s);
  CHECK(forwarder.backoff(2, 0.0) == 2s);
  CHECK(forwarder.backoff(9, 0.0) == 256s);
  CHECK(forwarder.backoff(10, 0.0) == 300s);
  CHECK(forwarder.backoff(1000, 0.0) == 300s);
  CHECK(forwarder.backoff(10, 0.5) == 262'500ms);
  CHECK(forwarder.backoff(1, 0.999) >= 750ms);
  // The forwarder draws its jitter per failure.
  f.jitter = 0.5;
  f.append(1);
  f.destination.down = true;
  CHECK(forwarder.run_once(t0) == t0 + 875ms);
}

TEST_CASE("a restart resumes at the stored cursor: nothing sent twice, nothing skipped") {
  Fixture f;
  f.append(5);
  {
    auto forwarder = f.forwarder();
    forwarder.run_once(t0);  // records 1-3
  }
  f.store.reset();  // the daemon stops ...
  f.open();         // ... and starts again
  f.append(2);
  auto forwarder = f.forwarder();
  forwarder.run_once(t0);
  forwarder.run_once(t0);
  CHECK(forwarder.stats().cursor == 7);
  CHECK(f.destination.received == f.ids(1, 7));
}

TEST_CASE("a partial delivery moves the cursor past what was taken; the rest goes later") {
  Fixture f;
  f.append(3);
  auto forwarder = f.forwarder();
  f.destination.take_only = 2;
  CHECK(forwarder.run_once(t0) == t0 + 1s);
  CHECK(*f.store->cursor("forward.fake") == 2);
  forwarder.run_once(t0);
  CHECK(f.destination.received == f.ids(1, 3));
}

TEST_CASE("a batch refused whole is halved until the one bad record is refused alone") {
  Fixture f;
  f.options.batch_size = 8;
  f.append(10);
  f.destination.poison = {3};
  auto forwarder = f.forwarder();
  for (int i = 0; i < 10 && forwarder.stats().cursor < 10; ++i) forwarder.run_once(t0);
  CHECK(forwarder.stats().cursor == 10);
  CHECK(f.destination.received == std::vector<std::int64_t>{1, 2, 4, 5, 6, 7, 8, 9, 10});
  CHECK(forwarder.stats().refused == 1);
  CHECK(forwarder.stats().failures == 0);
  REQUIRE(f.logged.size() == 1);
  CHECK(f.logged[0].find("refused 1 record(s) for good") != std::string::npos);
  CHECK(f.logged[0].find("ids 3)") != std::string::npos);
}
