#include "storage/group_commit.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <thread>

#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;
using cg::Status;

namespace {

WriteJob put_job(std::string id, std::string family = "Doe") {
  return [id = std::move(id), family = std::move(family)](WriteContext& ctx) -> Status {
    auto v = ctx.put("Patient", id, patient(family), {});
    return v ? cg::ok_status() : Status(v.error());
  };
}

bool exists(ResourceStore& store, const std::string& id) {
  auto head = store.head("Patient", id);
  REQUIRE(head.ok());
  return head->has_value();
}

// Submits `per_thread` jobs from each of `threads` threads at once.
void submit_from_threads(ResourceStore& store, int threads, int per_thread, DoneLog& log) {
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&store, &log, t, per_thread] {
      for (int i = 0; i < per_thread; ++i) {
        store.submit(put_job("t" + std::to_string(t) + "-" + std::to_string(i)), log.callback());
      }
    });
  }
  for (auto& s : submitters) s.join();
}

}  // namespace

TEST_CASE("jobs queued behind a running batch share one commit") {
  TempDir dir;
  auto store = open_store(dir.path());
  WriterGate gate;
  DoneLog gate_done;
  store->submit(gate.job(), gate_done.callback());
  REQUIRE(gate.wait_entered());
  DoneLog log;
  submit_from_threads(*store, 4, 50, log);
  CHECK(store->stats().queued == 200);  // the writer is held, so none has run yet
  gate.open();
  REQUIRE(log.wait_for(200));
  for (auto& status : log.statuses()) CHECK(status.ok());
  const auto stats = store->stats();
  CHECK(stats.commits == 2);  // the gate's own batch, then all 200 together
  CHECK(stats.jobs_committed == 201);
  SearchQuery query;
  query.type = "Patient";
  query.with_total = true;
  query.count = 0;
  CHECK(store->search(query)->total == 200);
}

TEST_CASE("concurrent submitters get fewer commits than jobs without any help") {
  TempDir dir;
  auto store = open_store(dir.path());
  DoneLog log;
  submit_from_threads(*store, 8, 100, log);
  REQUIRE(log.wait_for(800));
  for (auto& status : log.statuses()) CHECK(status.ok());
  const auto stats = store->stats();
  CHECK(stats.jobs_committed == 800);
  CHECK(stats.commits < 800);
  MESSAGE("800 concurrent jobs in " << stats.commits << " commits ("
                                    << 800.0 / static_cast<double>(stats.commits)
                                    << " jobs/commit)");
}

TEST_CASE("writers that each wait for their acknowledgement still share commits") {
  TempDir dir;
  auto store = open_store(dir.path());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (store->write(put_job("c" + std::to_string(t) + "-" + std::to_string(i))).ok()) ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();
  CHECK(ok == kThreads * kPerThread);
  const auto commits = store->stats().commits;
  // How much they share depends on fsync latency, so this is measured, not asserted.
  CHECK(commits <= static_cast<std::uint64_t>(kThreads * kPerThread));
  MESSAGE(kThreads << " waiting writers: " << kThreads * kPerThread << " jobs in " << commits
                   << " commits (" << kThreads * kPerThread / static_cast<double>(commits)
                   << " jobs/commit)");
}

TEST_CASE("done is called only after the batch is committed and visible to readers") {
  TempDir dir;
  auto store = open_store(dir.path());
  std::atomic<int> visible{0};
  DoneLog log;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "p" + std::to_string(i);
    store->submit(put_job(id), [&, id, cb = log.callback()](Status status) {
      // A reader connection sees only committed data.
      if (status.ok() && exists(*store, id)) ++visible;
      cb(std::move(status));
    });
  }
  REQUIRE(log.wait_for(20));
  CHECK(visible == 20);
}

TEST_CASE("a failing job rolls back alone and the rest of the batch commits") {
  TempDir dir;
  auto store = open_store(dir.path());
  WriterGate gate;
  DoneLog log;
  store->submit(gate.job(), log.callback());
  REQUIRE(gate.wait_entered());
  store->submit(put_job("a"), log.callback());
  store->submit(
      [](WriteContext& ctx) -> Status {
        REQUIRE(ctx.put("Patient", "b", patient(), {}).ok());  // written, then rolled back
        return cg::Error::version_conflict("stale version");
      },
      log.callback());
  store->submit([](WriteContext&) -> Status { throw std::runtime_error("boom"); }, log.callback());
  store->submit(put_job("c"), log.callback());
  gate.open();
  REQUIRE(log.wait_for(5));
  auto statuses = log.statuses();
  CHECK(statuses[1].ok());
  REQUIRE_FALSE(statuses[2].ok());
  CHECK(statuses[2].error().kind == ErrorKind::kVersionConflict);
  REQUIRE_FALSE(statuses[3].ok());
  CHECK(statuses[3].error().kind == ErrorKind::kInternal);
  CHECK(statuses[4].ok());
  CHECK(exists(*store, "a"));
  CHECK_FALSE(exists(*store, "b"));
  CHECK(exists(*store, "c"));
  CHECK(store->stats().commits == 2);
  CHECK(*store->latest_seq() == 2);  // b's change row went with it
}

TEST_CASE("submit beyond max_queued_jobs fails at once with kUnavailable") {
  TempDir dir;
  StoreConfig config;
  config.max_queued_jobs = 2;
  auto store = open_store(dir.path(), config);
  WriterGate gate;
  DoneLog log;
  store->submit(gate.job(), log.callback());
  REQUIRE(gate.wait_entered());  // taken off the queue: the queue is empty again
  store->submit(put_job("a"), log.callback());
  store->submit(put_job("b"), log.callback());
  std::optional<Status> rejected;
  store->submit(put_job("c"), [&](Status status) { rejected = std::move(status); });
  REQUIRE(rejected.has_value());  // called synchronously, on this thread
  REQUIRE_FALSE(rejected->ok());
  CHECK(rejected->error().kind == ErrorKind::kUnavailable);
  gate.open();
  REQUIRE(log.wait_for(3));
  CHECK(exists(*store, "b"));
  CHECK_FALSE(exists(*store, "c"));
  CHECK(store->stats().jobs_rejected == 1);
}

TEST_CASE("max_batch_jobs bounds the jobs in one commit") {
  TempDir dir;
  StoreConfig config;
  config.max_batch_jobs = 3;
  auto store = open_store(dir.path(), config);
  WriterGate gate;
  DoneLog log;
  store->submit(gate.job(), log.callback());
  REQUIRE(gate.wait_entered());
  for (int i = 0; i < 10; ++i) store->submit(put_job("p" + std::to_string(i)), log.callback());
  gate.open();
  REQUIRE(log.wait_for(11));
  CHECK(store->stats().commits == 1 + 4);  // 3 + 3 + 3 + 1
}

TEST_CASE("close runs every queued job, then later submits are unavailable") {
  TempDir dir;
  auto store = open_store(dir.path());
  DoneLog log;
  for (int i = 0; i < 50; ++i) store->submit(put_job("p" + std::to_string(i)), log.callback());
  store->close();
  auto statuses = log.statuses();  // no wait: close() returned after the last done
  REQUIRE(statuses.size() == 50);
  for (auto& status : statuses) CHECK(status.ok());
  std::optional<Status> late;
  store->submit(put_job("late"), [&](Status status) { late = std::move(status); });
  REQUIRE(late.has_value());
  CHECK(late->error().kind == ErrorKind::kUnavailable);
  CHECK(store->write(put_job("late")).error().kind == ErrorKind::kUnavailable);
  store->close();  // idempotent
  store = open_store(dir.path());
  SearchQuery query;
  query.type = "Patient";
  query.with_total = true;
  CHECK(store->search(query)->total == 50);
}

TEST_CASE("a full database fails the batch with kUnavailable and reads go on") {
  TempDir dir;
  StoreConfig config;
  config.max_db_bytes = 512 * 1024;  // the schema plus a few rows
  auto store = open_store(dir.path(), config);
  put(*store, "Patient", "kept", patient());
  const std::string big(20'000, 'x');
  Status status = cg::ok_status();
  int written = 0;
  for (; written < 200 && status.ok(); ++written) {
    status = store->write(put_job("big" + std::to_string(written), big));
  }
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::kUnavailable);
  CHECK(status.error().message.find("full") != std::string::npos);
  CHECK(exists(*store, "kept"));
  CHECK_FALSE(exists(*store, "big" + std::to_string(written - 1)));
  // The writer survives a full disk: the next batch runs and commits.
  CHECK(store
            ->write([](WriteContext& ctx) -> Status {
              auto head = ctx.head("Patient", "kept");
              return head ? cg::ok_status() : Status(head.error());
            })
            .ok());
  CHECK(store->integrity_check().ok());
}
