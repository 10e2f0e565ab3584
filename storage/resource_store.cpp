#include "storage/resource_store.hpp"

#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <system_error>

#include "storage/clinical_queries.hpp"
#include "storage/database_file.hpp"
#include "storage/group_commit.hpp"
#include "storage/index_search.hpp"
#include "storage/migrations.hpp"
#include "storage/reader_pool.hpp"
#include "storage/sqlite.hpp"
#include "storage/version_writer.hpp"

namespace cg::storage {
namespace {

constexpr const char* kDatabaseFile = "clinical.db";
constexpr int kLogErr = 3;
constexpr int kLogWarning = 4;
constexpr int kLogInfo = 6;

std::int64_t system_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

class SqliteResourceStore final : public ResourceStore {
 public:
  SqliteResourceStore(StoreConfig config, Connection writer, std::vector<Connection> readers,
                      std::int64_t floor_ms)
      : config_(std::move(config)),
        writer_conn_(std::move(writer)),
        version_writer_(writer_conn_, config_.clock_ms ? config_.clock_ms : system_clock_ms,
                        floor_ms),
        readers_(std::move(readers)),
        group_(
            writer_conn_,
            {.max_batch_jobs = config_.max_batch_jobs, .max_queued_jobs = config_.max_queued_jobs},
            config_.log, config_.write_gate, WriteClass::kClinical) {}

  ~SqliteResourceStore() override { close(); }

  void submit(WriteJob job, WriteDone done) override {
    group_.submit([this, job = std::move(job)] { return job(version_writer_); }, std::move(done));
  }

  Status write(WriteJob job) override {
    // Waiting on the writer from the writer would never return.
    if (group_.on_writer_thread()) return Error::internal("write() called from a write job");
    // Shared so the promise outlives set_value() even after the waiter has returned.
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    submit(std::move(job), [promise](Status status) { promise->set_value(std::move(status)); });
    return future.get();
  }

  Result<std::optional<StoredVersion>> head(const std::string& type,
                                            const std::string& id) override {
    return with_reader([&](Connection& c) { return read_head(c, type, id); });
  }

  Result<std::optional<StoredVersion>> version(const std::string& type, const std::string& id,
                                               std::int64_t version) override {
    return with_reader([&](Connection& c) { return read_version(c, type, id, version); });
  }

  Result<SearchPage> search(const SearchQuery& query) override {
    return with_reader([&](Connection& c) { return search_resources(c, query); });
  }

  Result<HistoryPage> history(const HistoryQuery& query) override {
    return with_reader([&](Connection& c) { return read_history(c, query); });
  }

  Result<IndexSearchPage> search_index(const IndexQuery& query) override {
    return with_reader([&](Connection& c) { return run_index_search(c, query); });
  }

  Result<std::int64_t> latest_seq() override {
    return with_reader([](Connection& c) { return read_latest_seq(c); });
  }

  Result<std::int64_t> scan_current(
      const ScanQuery& query, const std::function<Status(const StoredVersion&)>& visit) override {
    return with_reader([&](Connection& c) { return scan_current_resources(c, query, visit); });
  }

  void close() override;
  Status integrity_check() override;
  StoreStats stats() const override { return group_.stats(); }

 private:
  template <class Query>
  auto with_reader(Query query) -> decltype(query(std::declval<Connection&>())) {
    auto lease = readers_.borrow();
    if (!lease) return lease.take_error();
    return query(**lease);
  }

  void checkpoint();
  void log(int priority, std::string_view message) const {
    if (config_.log) config_.log(priority, message);
  }

  const StoreConfig config_;
  Connection writer_conn_;  // used only by the writer thread until close()
  VersionWriter version_writer_;
  ReaderPool readers_;
  GroupCommitWriter group_;  // last: its thread stops before the members it uses go
  std::once_flag close_once_;
};

void SqliteResourceStore::close() {
  if (group_.on_writer_thread()) {
    log(kLogErr, "store close() called from a write callback; ignored");
    return;
  }
  std::call_once(close_once_, [this] {
    group_.close();    // runs every queued job first
    readers_.close();  // no reader may hold a snapshot the checkpoint has to wait for
    // Lets SQLite gather planner statistics where they have become worth having (e.g. for
    // choosing the _lastUpdated index over the id order); cheap when there is nothing to do.
    if (auto optimized = writer_conn_.exec("PRAGMA optimize"); !optimized) {
      log(kLogWarning, "PRAGMA optimize at close failed: " + optimized.error().message);
    }
    checkpoint();
    writer_conn_.close();
    log(kLogInfo, "clinical.db closed");
  });
}

void SqliteResourceStore::checkpoint() {
  // TRUNCATE leaves an empty WAL, so the next start does not replay it.
  auto busy = writer_conn_.query_int64("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!busy) {
    log(kLogWarning, "WAL checkpoint at close failed: " + busy.error().message);
  } else if (*busy != 0) {
    log(kLogWarning, "WAL checkpoint at close incomplete: another process is reading");
  }
}

Status SqliteResourceStore::integrity_check() {
  auto conn = Connection::open(config_.directory / kDatabaseFile, Connection::Mode::kExisting);
  if (!conn) return conn.take_error();
  if (auto s = conn->exec("PRAGMA busy_timeout = 5000; PRAGMA query_only = 1"); !s) return s;
  auto stmt = conn->statement("PRAGMA integrity_check");
  if (!stmt) return stmt.take_error();
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  const std::string verdict = *row ? (*stmt)->column_text(0) : "no result";
  if (verdict == "ok") return ok_status();
  // The first problem only; the report names pages and indexes, never row values.
  log(kLogErr, "clinical.db integrity check failed: " + verdict);
  return Error::internal("clinical.db integrity check failed: " + verdict);
}

}  // namespace

Result<std::unique_ptr<ResourceStore>> ResourceStore::open(StoreConfig config) {
  if (auto dir = ensure_directory(config.directory); !dir) return dir.take_error();
  const auto file = config.directory / kDatabaseFile;
  auto writer = open_writer(file, config.max_db_bytes);
  if (!writer) return writer.take_error();
  auto migrated = apply_migrations(*writer, clinical_migrations());
  if (!migrated) return migrated.take_error();
  auto readers = open_readers(file, config.reader_connections);
  if (!readers) return readers.take_error();
  auto floor_ms = read_latest_timestamp(*writer);
  if (!floor_ms) return floor_ms.take_error();
  if (config.log && migrated->from_version != migrated->to_version) {
    config.log(kLogInfo, "clinical.db schema migrated from version " +
                             std::to_string(migrated->from_version) + " to " +
                             std::to_string(migrated->to_version));
  }
  // Schema 5 added composite and position rows, which only the indexer can write.
  if (config.log && migrated->from_version > 0 && migrated->from_version < 5) {
    config.log(kLogWarning,
               "resources stored before schema 5 are not found by composite parameters or "
               "near until `clinic-gateway reindex` has run (docs/operations.md)");
  }
  return std::unique_ptr<ResourceStore>(std::make_unique<SqliteResourceStore>(
      std::move(config), std::move(*writer), std::move(*readers), *floor_ms));
}

std::string format_instant(std::int64_t ms_since_epoch) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{ms_since_epoch}};
  const sys_days day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss<milliseconds> time{t - day};
  char text[48];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(date.year()),
                unsigned(date.month()), unsigned(date.day()), int(time.hours().count()),
                int(time.minutes().count()), int(time.seconds().count()),
                int(time.subseconds().count()));
  return text;
}

IndexEntries tokens_only(const std::vector<TokenKey>& tokens) {
  IndexEntries index;
  for (const auto& t : tokens) index.tokens.push_back({t.param, t.system, t.code, {}, {}, {}});
  return index;
}

}  // namespace cg::storage
