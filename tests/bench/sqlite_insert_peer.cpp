// sqlite_insert_peer: the "same durability without our server" baseline for the create
// benchmark. Inserts the same Patient JSON the load tool POSTs into one SQLite table with
// journal_mode=WAL and synchronous=FULL (the gateway's durability), and reports inserts/s,
// p50/p99 latency and peak RSS.
//
// Modes:
//   --mode per-insert (default): each of --threads threads opens its own connection
//       (busy_timeout) and runs one transaction (BEGIN IMMEDIATE; INSERT; COMMIT) per resource,
//       i.e. one WAL fsync per resource. --threads 1 is the plain single-thread loop.
//   --mode group: --threads client threads hand their insert to ONE writer thread with one
//       connection, which takes everything queued, runs it in one transaction and one fsync
//       (group commit), then releases the waiting clients — the design the gateway uses,
//       without HTTP, JSON parsing, validation, versioning or indexing.
// Latency is measured per resource from "client wants to insert" to "commit returned".

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "latency_histogram.hpp"

namespace {

using cg::bench::Histogram;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string db;
  std::string body;
  std::string mode = "per-insert";
  int threads = 32;
  double duration = 10.0;
  std::uint64_t requests = 0;
  int max_batch = 1000;
  std::string label = "sqlite";
};

[[noreturn]] void usage(const char* msg = nullptr) {
  if (msg) std::fprintf(stderr, "sqlite_insert_peer: %s\n", msg);
  std::fprintf(stderr,
               "usage: sqlite_insert_peer --db FILE --body-file FILE [options]\n"
               "  --mode per-insert|group   (default per-insert)\n"
               "  --threads N               client threads (default 32)\n"
               "  -d, --duration SEC        (default 10; 0 = until -n)\n"
               "  -n, --requests N          stop after N inserts\n"
               "  --max-batch N             group mode: max inserts per transaction (1000)\n"
               "  --label NAME\n");
  std::exit(2);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) usage(("cannot read " + path).c_str());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Options parse(int argc, char** argv) {
  Options o;
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) usage((std::string("missing value for ") + argv[i]).c_str());
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--db")
      o.db = need(i);
    else if (a == "--body-file" || a == "-b")
      o.body = read_file(need(i));
    else if (a == "--mode")
      o.mode = need(i);
    else if (a == "--threads" || a == "-t")
      o.threads = std::atoi(need(i).c_str());
    else if (a == "--duration" || a == "-d")
      o.duration = std::atof(need(i).c_str());
    else if (a == "--requests" || a == "-n")
      o.requests = std::strtoull(need(i).c_str(), nullptr, 10);
    else if (a == "--max-batch")
      o.max_batch = std::atoi(need(i).c_str());
    else if (a == "--label")
      o.label = need(i);
    else if (a == "-h" || a == "--help")
      usage();
    else
      usage(("unknown option " + a).c_str());
  }
  if (o.db.empty() || o.body.empty()) usage("--db and --body-file are required");
  if (o.mode != "per-insert" && o.mode != "group") usage("bad --mode");
  if (o.duration <= 0 && o.requests == 0) usage("give --duration or --requests");
  o.threads = std::max(1, o.threads);
  o.max_batch = std::max(1, o.max_batch);
  return o;
}

std::uint64_t ns_since(Clock::time_point t) {
  return std::uint64_t(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t).count());
}

long status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, n, key) == 0) return std::atol(line.c_str() + n + 1);
  return -1;
}

sqlite3* open_db(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), sqlite3_errmsg(db));
    std::exit(1);
  }
  sqlite3_busy_timeout(db, 30000);
  char* err = nullptr;
  if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr,
                   &err) != SQLITE_OK) {
    std::fprintf(stderr, "pragma failed: %s\n", err ? err : "?");
    std::exit(1);
  }
  return db;
}

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

// Builds the body for one insert: every {{UNIQUE}} replaced (same as fhir_load).
class BodyMaker {
 public:
  explicit BodyMaker(const std::string& body) {
    constexpr std::string_view marker = "{{UNIQUE}}";
    std::string_view b = body;
    std::size_t pos = 0;
    while (true) {
      auto m = b.find(marker, pos);
      parts_.emplace_back(b.substr(pos, m == std::string_view::npos ? b.npos : m - pos));
      if (m == std::string_view::npos) break;
      pos = m + marker.size();
    }
  }
  std::string make(const std::string& uniq) const {
    std::string out;
    for (std::size_t k = 0; k < parts_.size(); ++k) {
      if (k) out += uniq;
      out += parts_[k];
    }
    return out;
  }

 private:
  std::vector<std::string> parts_;
};

struct Shared {
  const Options* opt = nullptr;
  BodyMaker* bodies = nullptr;
  Clock::time_point deadline;
  std::atomic<std::uint64_t> issued{0};
  std::atomic<std::uint64_t> unique{0};
  std::string run_id;

  bool next() {
    if (Clock::now() >= deadline) return false;
    if (opt->requests > 0 && issued.fetch_add(1) >= opt->requests) return false;
    return true;
  }
  std::string uniq() { return run_id + "-" + std::to_string(unique.fetch_add(1)); }
};

struct Result {
  Histogram hist;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::uint64_t commits = 0;
  std::string first_error;
};

const char* kInsert = "INSERT INTO resource(id, version, last_updated, json) VALUES(?1, 1, ?2, ?3)";

bool insert_one(sqlite3_stmt* st, const std::string& id, const std::string& json) {
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, id.data(), int(id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, "2026-01-01T00:00:00Z", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, json.data(), int(json.size()), SQLITE_TRANSIENT);
  return sqlite3_step(st) == SQLITE_DONE;
}

// --- per-insert: each thread its own connection, one transaction per resource ----------------
void per_insert_thread(Shared& sh, Result& r) {
  sqlite3* db = open_db(sh.opt->db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, kInsert, -1, &st, nullptr);
  while (sh.next()) {
    const std::string u = sh.uniq();
    const auto t0 = Clock::now();
    const std::string json = sh.bodies->make(u);
    bool ok = exec(db, "BEGIN IMMEDIATE") && insert_one(st, u, json) && exec(db, "COMMIT");
    if (ok) {
      r.hist.record(ns_since(t0));
      ++r.ok;
      ++r.commits;
    } else {
      ++r.errors;
      if (r.first_error.empty()) r.first_error = sqlite3_errmsg(db);
      if (!sqlite3_get_autocommit(db)) exec(db, "ROLLBACK");
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// --- group: one writer, many clients --------------------------------------------------------
struct Job {
  std::string id;
  std::string json;
  bool done = false;
  bool ok = false;
};

struct GroupWriter {
  std::mutex m;
  std::condition_variable wake, done_cv;
  std::deque<Job*> queue;
  bool closing = false;
  Result* result = nullptr;
  int max_batch = 1000;

  void run(const std::string& path) {
    sqlite3* db = open_db(path);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, kInsert, -1, &st, nullptr);
    std::vector<Job*> batch;
    while (true) {
      {
        std::unique_lock lock(m);
        wake.wait(lock, [&] { return closing || !queue.empty(); });
        if (queue.empty()) break;
        while (!queue.empty() && int(batch.size()) < max_batch) {
          batch.push_back(queue.front());
          queue.pop_front();
        }
      }
      bool ok = exec(db, "BEGIN IMMEDIATE");
      for (Job* j : batch) ok = ok && insert_one(st, j->id, j->json);
      ok = ok && exec(db, "COMMIT");
      if (!ok) {
        if (result->first_error.empty()) result->first_error = sqlite3_errmsg(db);
        if (!sqlite3_get_autocommit(db)) exec(db, "ROLLBACK");
      }
      {
        std::lock_guard lock(m);
        ++result->commits;
        for (Job* j : batch) {
          j->done = true;
          j->ok = ok;
        }
      }
      done_cv.notify_all();
      batch.clear();
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
};

void group_client(Shared& sh, GroupWriter& w, Result& r) {
  while (sh.next()) {
    Job job;
    job.id = sh.uniq();
    const auto t0 = Clock::now();
    job.json = sh.bodies->make(job.id);
    {
      std::unique_lock lock(w.m);
      w.queue.push_back(&job);
      w.wake.notify_one();
      w.done_cv.wait(lock, [&] { return job.done; });
    }
    if (job.ok) {
      r.hist.record(ns_since(t0));
      ++r.ok;
    } else {
      ++r.errors;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  BodyMaker bodies(opt.body);
  {
    sqlite3* db = open_db(opt.db);
    if (!exec(db,
              "CREATE TABLE IF NOT EXISTS resource(id TEXT PRIMARY KEY, version INTEGER NOT NULL, "
              "last_updated TEXT NOT NULL, json TEXT NOT NULL)")) {
      std::fprintf(stderr, "create table failed: %s\n", sqlite3_errmsg(db));
      return 1;
    }
    sqlite3_close(db);
  }

  Shared sh;
  sh.opt = &opt;
  sh.bodies = &bodies;
  sh.run_id = "peer" + std::to_string(::getpid());
  const auto start = Clock::now();
  sh.deadline = opt.duration > 0 ? start + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(opt.duration))
                                 : Clock::time_point::max() - std::chrono::hours(24 * 365);

  std::vector<Result> results(std::size_t(opt.threads));
  Result writer_result;
  std::vector<std::thread> threads;
  GroupWriter writer;
  std::thread writer_thread;
  if (opt.mode == "group") {
    writer.result = &writer_result;
    writer.max_batch = opt.max_batch;
    writer_thread = std::thread([&] { writer.run(opt.db); });
  }
  for (int t = 0; t < opt.threads; ++t) {
    threads.emplace_back([&, t] {
      if (opt.mode == "group")
        group_client(sh, writer, results[std::size_t(t)]);
      else
        per_insert_thread(sh, results[std::size_t(t)]);
    });
  }
  for (auto& th : threads) th.join();
  if (writer_thread.joinable()) {
    {
      std::lock_guard lock(writer.m);
      writer.closing = true;
    }
    writer.wake.notify_one();
    writer_thread.join();
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();

  Result total;
  for (auto& r : results) {
    total.hist.merge(r.hist);
    total.ok += r.ok;
    total.errors += r.errors;
    total.commits += r.commits;
    if (total.first_error.empty()) total.first_error = r.first_error;
  }
  total.commits += writer_result.commits;
  if (total.first_error.empty()) total.first_error = writer_result.first_error;
  const double rate = double(total.ok) / secs;
  const long hwm = status_kb("VmHWM:");
  std::printf("%s: %s, %d thread(s), %.2f s, WAL + synchronous=FULL\n", opt.label.c_str(),
              opt.mode.c_str(), opt.threads, secs);
  std::printf("  inserts        %" PRIu64 "  (%.0f /s), %" PRIu64
              " commits (%.1f inserts/commit)\n",
              total.ok, rate, total.commits,
              total.commits ? double(total.ok) / double(total.commits) : 0.0);
  std::printf("  latency        p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
              double(total.hist.quantile(0.5)) / 1e6, double(total.hist.quantile(0.99)) / 1e6,
              double(total.hist.max()) / 1e6);
  std::printf("  errors         %" PRIu64 "%s  peak RSS %ld kB\n", total.errors,
              total.errors ? "   <-- RUN HAD ERRORS" : "", hwm);
  if (!total.first_error.empty()) std::printf("  first error    %s\n", total.first_error.c_str());
  std::printf("RESULT label=%s mode=%s threads=%d seconds=%.3f ok=%" PRIu64
              " rps=%.1f p50_us=%.1f "
              "p99_us=%.1f max_us=%.1f commits=%" PRIu64 " errors=%" PRIu64 " hwm_kb=%ld\n",
              opt.label.c_str(), opt.mode.c_str(), opt.threads, secs, total.ok, rate,
              double(total.hist.quantile(0.5)) / 1e3, double(total.hist.quantile(0.99)) / 1e3,
              double(total.hist.max()) / 1e3, total.commits, total.errors, hwm);
  return total.errors ? 1 : 0;
}
