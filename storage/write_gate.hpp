#pragma once
// WriteGate: whether the data directory takes writes now. One gate serves every database
// in the directory (clinical.db with the HL7v2 archive, audit.db): they share the disk.
//
// Two conditions close it:
// - a disk problem: a write failed because the disk is full, read-only or failing
//   (note_failure(), called by the group-commit writers), or check() found the file system
//   mounted read-only. Every write is refused, clinical and audit alike, until check() finds
//   the directory writable again (a probe file is written, synced and removed).
// - the free-space floor: check() found less than min_free_bytes available. Only clinical
//   writes (resources, HL7v2 messages) are refused; audit records go on, so reads stay
//   audited in the space the floor keeps back.
// While closed, writers refuse jobs at once with kUnavailable and a reason that names the
// condition, not the data; reads are not affected. Entering and leaving each condition is
// logged once (error, then notice), never per request.
//
// Thread-safety: every method may be called from any thread. check() does file I/O (statvfs,
// a small write and fsync): call it from a background thread, not from an event loop.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

// Whose write asks: the floor holds back clinical writes only.
enum class WriteClass { kClinical, kAudit };

// What statvfs() says about a file system.
struct DiskSpace {
  std::uint64_t available = 0;  // bytes an unprivileged process may still use
  bool read_only = false;       // mounted read-only (ST_RDONLY)
};

struct WriteGateConfig {
  std::filesystem::path directory;             // the data directory; probes are written here
  std::uint64_t min_free_bytes = 64ull << 20;  // 0: no floor
  std::function<void(int priority, std::string_view message)> log;  // syslog priority
  // The directory's file system as statvfs() sees it; nullopt when unknown. Empty: the real
  // statvfs (disk_space()). Tests inject one.
  std::function<std::optional<DiskSpace>(const std::filesystem::path&)> space;
  // Writes, syncs and removes a small file in the directory. Empty: the real probe.
  std::function<Status(const std::filesystem::path&)> probe;
};

class WriteGate {
 public:
  explicit WriteGate(WriteGateConfig config);
  WriteGate(const WriteGate&) = delete;
  WriteGate& operator=(const WriteGate&) = delete;

  // Why clinical writes are refused now ("the gateway's disk is full"),
  // or nullopt while they are taken. For /health/ready and /metrics.
  std::optional<std::string> write_refusal_reason() const;
  // Ok when a write of `what` may start; else kUnavailable with the reason and "nothing was
  // stored", for the client.
  Status admit(WriteClass what) const;
  // A write failed on the disk: closes the gate for every write until check() reopens it.
  // An I/O error is told apart by asking the file system (SQLite seldom keeps the OS's
  // errno of a failed commit): read-only mount, or no space left. `detail` (SQLite's
  // message) goes to the log only. Returns the error to hand the writer's callers in place
  // of SQLite's own.
  Error note_failure(DiskProblem problem, std::string_view detail);
  // Measures free space (the floor), closes the gate when the file system is mounted
  // read-only, and, while a disk problem holds the gate, probes the directory; opens the
  // gate when writes work again. Returns true when clinical writes are taken afterwards.
  bool check();

  // The condition a disk problem names, as clients and /health see it; no paths, no data.
  static std::string refusal_text(DiskProblem problem);

 private:
  void log(int priority, const std::string& message) const;
  std::optional<DiskSpace> measure() const;
  // Enters `problem` unless one holds already; logs the first. True when it entered.
  bool enter(DiskProblem problem, std::string_view detail);

  const WriteGateConfig config_;
  mutable std::mutex mutex_;
  std::optional<DiskProblem> problem_;  // guarded by mutex_
  bool below_floor_ = false;            // guarded by mutex_
};

// The real probe: creates, writes 64 KiB to, fsyncs and removes `directory`/.write-probe.
// kUnavailable naming the OS's reason when any step fails.
Status probe_directory(const std::filesystem::path& directory);
// statvfs() of the directory's file system; nullopt when statvfs fails.
std::optional<DiskSpace> disk_space(const std::filesystem::path& directory);

}  // namespace cg::storage
