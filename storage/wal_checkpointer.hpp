#pragma once
// WalCheckpointer: the WAL checkpoints of a database, on a thread of their own. SQLite's
// automatic checkpoint runs inside the commit that crosses its threshold, on the committing
// thread: with one writer thread serving every write, each ~14th HL7v2 message of a feed
// waited while ~1,000 pages were copied into the database file and synced
// (docs/benchmarks.md). Here the writer's commit only notes the WAL's size; once it reaches
// `threshold_pages`, this thread runs a PASSIVE checkpoint on its own connection, which
// copies what no reader still needs without blocking the writer or the readers. The next
// write transaction after a complete checkpoint starts the WAL over, as before.
//
// Durability is unchanged: a commit is durable in the WAL (synchronous=FULL) before the
// checkpoint copies it; the checkpoint syncs the database file before the WAL is reused.
//
// Thread-safety: the commit hook runs on the writer thread; stop() from any thread but
// that one. The writer connection must outlive the checkpointer (or stop() first).

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "protocols/fhir/model/result.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

class WalCheckpointer {
 public:
  // Opens a connection of its own to `file`, hooks `writer`'s commits and starts the
  // thread. Errors: those of opening the connection.
  static Result<std::unique_ptr<WalCheckpointer>> start(
      Connection& writer, const std::filesystem::path& file, int threshold_pages,
      std::function<void(int priority, std::string_view message)> log);
  ~WalCheckpointer();  // stop()
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Unhooks the writer and ends the thread (a checkpoint under way finishes first).
  // Idempotent.
  void stop();
  // Checkpoints run so far (for tests and /metrics).
  std::uint64_t checkpoints() const;

 private:
  WalCheckpointer(Connection& writer, Connection own, int threshold_pages,
                  std::function<void(int, std::string_view)> log);
  static void on_commit(void* self, int wal_pages);
  void run();

  Connection& writer_;
  Connection own_;
  const int threshold_pages_;
  std::function<void(int, std::string_view)> log_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool due_ = false;
  bool stopping_ = false;
  std::uint64_t checkpoints_ = 0;
  std::thread thread_;  // last: started once the members it uses exist
};

}  // namespace cg::storage
