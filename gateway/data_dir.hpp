#pragma once
// The data directory (node.data_dir) as the operator commands see it: which files are the
// gateway's state, which of them are SQLite databases and the newest schema of each this
// build knows, and the lock that says which process owns the directory.
//
//   clinical.db                 resources and their versions, the search index, the change
//                               log, the HL7v2 message archive, the audit outbox
//   audit.db                    ATNA audit records and forwarding cursors
//   security.db                 users, OAuth clients, refresh tokens, lockouts
//   keys/token-signing-key.pem  the key that signs access tokens
//   messages.db                 an earlier build's HL7v2 archive, until imported
//   daemon.lock                 locked by `serve` (and by `restore`, `vacuum`); names its pid
//   status.json                 the serving daemon's runtime status (runtime_status.hpp)
//
// Thread-safety: free functions and a move-only lock owned by one thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

inline constexpr std::string_view kLockFile = "daemon.lock";
inline constexpr std::string_view kStatusFile = "status.json";

// A SQLite database of the data directory.
struct KnownDatabase {
  std::string_view file;        // its name in the data directory
  std::string_view what;        // for people: "resources, HL7v2 archive, …"
  std::int64_t schema_version;  // the newest schema this build knows (migrations)
  bool required = false;        // a gateway that has run always has it
};

// Every database, in the order `backup` copies them: the earlier build's messages.db
// before clinical.db (the start that imports it renames it), audit.db last, so that every
// change in the copies of the others has its audit record in the copy of audit.db (records
// of writes still in clinical.db's outbox move there at the next start; one moved while the
// copies were made may be there twice, as after a crash between move and unstage).
const std::vector<KnownDatabase>& known_databases();
// The entry for `file`, or null for a file that is not one of them.
const KnownDatabase* known_database(std::string_view file);

// True for names in the data directory that are not state to back up: the lock, the
// status file, SQLite's -wal/-shm/-journal (databases are copied through SQLite, which
// reads what the WAL holds) and temporaries (*.tmp).
bool is_transient_file(std::string_view name);

// Who holds the data directory's lock.
struct LockHolder {
  long pid = 0;         // 0 when the lock file does not say
  std::string command;  // "serve", "restore", "vacuum"; empty when unknown
};

// An advisory lock on data_dir/daemon.lock: an open-file-description lock (F_OFD_SETLK),
// which behaves like flock(2) — held until the file is closed or the process ends, also by
// kill -9 — but can be tested without being taken (F_OFD_GETLK), so `status` never makes
// a starting daemon fail. Released when the object is destroyed; the file stays.
class DataDirLock {
 public:
  // Takes the lock without waiting and writes "<pid> <command>" into the file (created
  // 0600). Errors: kConflict when another process (or another DataDirLock) holds it, its
  // message naming the holder; kUnavailable when the file cannot be opened.
  static Result<DataDirLock> acquire(const std::filesystem::path& data_dir,
                                     std::string_view command);
  // The holder now; nullopt when nobody holds the lock (or there is no lock file).
  static std::optional<LockHolder> holder(const std::filesystem::path& data_dir);

  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&&) = delete;
  DataDirLock(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

// "pid 1234 (serve)", or "another process" when the lock file does not say.
std::string describe(const LockHolder& holder);

}  // namespace cg::gateway
