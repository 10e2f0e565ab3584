#include "gateway/data_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "gateway/security/security_db.hpp"
#include "storage/audit_store.hpp"
#include "storage/message_archive.hpp"
#include "storage/migrations.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

struct flock whole_file(short type) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;  // to the end, however long
  return lock;
}

LockHolder read_holder(int fd) {
  std::array<char, 128> text{};
  const ssize_t n = ::pread(fd, text.data(), text.size() - 1, 0);
  LockHolder holder;
  if (n <= 0) return holder;
  char command[64] = {};
  if (std::sscanf(text.data(), "%ld %63s", &holder.pid, command) >= 1) holder.command = command;
  return holder;
}

}  // namespace

const std::vector<KnownDatabase>& known_databases() {
  static const std::vector<KnownDatabase> databases = [] {
    std::vector<KnownDatabase> list;
    list.push_back({"messages.db", "HL7v2 archive of an earlier build, not yet imported",
                    static_cast<std::int64_t>(storage::archive_migrations().size()), false});
    list.push_back({SecurityDatabase::kFileName, "users, clients, refresh tokens",
                    static_cast<std::int64_t>(security_migrations().size()), false});
    list.push_back({"clinical.db", "resources, HL7v2 message archive",
                    static_cast<std::int64_t>(storage::clinical_migrations().size()), true});
    list.push_back({"audit.db", "audit records",
                    static_cast<std::int64_t>(storage::audit_migrations().size()), false});
    return list;
  }();
  return databases;
}

const KnownDatabase* known_database(std::string_view file) {
  for (const auto& db : known_databases()) {
    if (db.file == file) return &db;
  }
  return nullptr;
}

bool is_transient_file(std::string_view name) {
  for (std::string_view suffix : {"-wal", "-shm", "-journal", ".tmp"}) {
    if (name.ends_with(suffix)) return true;
  }
  return name == kLockFile || name == kStatusFile;
}

Result<DataDirLock> DataDirLock::acquire(const fs::path& data_dir, std::string_view command) {
  const fs::path file = data_dir / kLockFile;
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error::unavailable("cannot open " + file.string() + ": " + std::strerror(errno));
  }
  struct flock lock = whole_file(F_WRLCK);
  if (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    const int error = errno;
    const LockHolder holder = read_holder(fd);
    ::close(fd);
    if (error == EAGAIN || error == EACCES) {
      return Error::conflict(data_dir.string() + " is in use by " + describe(holder));
    }
    return Error::unavailable("cannot lock " + file.string() + ": " + std::strerror(error));
  }
  const std::string text = std::to_string(::getpid()) + " " + std::string(command) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) < 0) {
    // The lock holds without its note; `status` then says "another process".
  }
  return DataDirLock(fd);
}

std::optional<LockHolder> DataDirLock::holder(const fs::path& data_dir) {
  const int fd = ::open((data_dir / kLockFile).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock probe = whole_file(F_WRLCK);
  std::optional<LockHolder> holder;
  if (::fcntl(fd, F_OFD_GETLK, &probe) == 0 && probe.l_type != F_UNLCK) holder = read_holder(fd);
  ::close(fd);
  return holder;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string describe(const LockHolder& holder) {
  if (holder.pid <= 0) return "another process";
  return "pid " + std::to_string(holder.pid) +
         (holder.command.empty() ? "" : " (" + holder.command + ")");
}

}  // namespace cg::gateway
