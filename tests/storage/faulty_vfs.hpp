#pragma once
// A fault-injecting SQLite VFS for the storage tests: a shim over the default VFS that
// passes everything through until told to fail, then makes every write, truncate and sync
// of a database, WAL or journal file fail as a full disk (SQLITE_FULL, ENOSPC), a read-only
// file system (SQLITE_IOERR_WRITE, EROFS) or a failing device (SQLITE_IOERR_WRITE, EIO).
// Reads keep working, as they do on a real full or read-only disk.
//
// FaultyVfs installs itself as the default VFS for its lifetime (so connections the code
// under test opens use it) and puts the previous default back when destroyed; open the
// connections after constructing it. One at a time per process. Thread-safe: the fault is
// an atomic, read by whichever thread SQLite writes on.

#include <atomic>
#include <cstdint>

struct sqlite3_vfs;

namespace cg::storage::testing {

enum class DiskFault { kNone, kFull, kReadOnly, kIoError };

class FaultyVfs {
 public:
  FaultyVfs();
  ~FaultyVfs();
  FaultyVfs(const FaultyVfs&) = delete;
  FaultyVfs& operator=(const FaultyVfs&) = delete;

  void fail(DiskFault fault) { fault_.store(fault); }
  void heal() { fault_.store(DiskFault::kNone); }
  DiskFault fault() const { return fault_.load(); }
  // Writes (xWrite, xTruncate, xSync) that reached the VFS since construction, failed or not:
  // lets a test see that a refused write never touched SQLite's files.
  std::uint64_t writes() const { return writes_.load(); }
  // The errno the shim reports for its current fault (xGetLastError), else the real one's.
  int fault_errno() const;

  void count_write() { writes_.fetch_add(1); }

 private:
  std::atomic<DiskFault> fault_{DiskFault::kNone};
  std::atomic<std::uint64_t> writes_{0};
  sqlite3_vfs* previous_default_ = nullptr;
};

}  // namespace cg::storage::testing
