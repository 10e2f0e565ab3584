#include "storage/write_gate.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace cg::storage {
namespace {

constexpr int kLogErr = 3;
constexpr int kLogNotice = 5;
constexpr int kLogDebug = 7;  // per check while closed: not for the journal by default
constexpr std::size_t kProbeBytes = 64 * 1024;

std::string mib(std::uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MB";
}

// What a refused writer's caller gets: the condition, and that the write left no trace.
Error refusal(const std::string& condition) {
  return Error::unavailable(condition + "; nothing was stored");
}

Error os_failure(std::string_view step, const std::filesystem::path& file, int error) {
  return Error::unavailable(std::string(step) + " " + file.string() + ": " +
                            std::generic_category().message(error));
}

}  // namespace

WriteGate::WriteGate(WriteGateConfig config) : config_(std::move(config)) {}

std::string WriteGate::refusal_text(DiskProblem problem) {
  switch (problem) {
    case DiskProblem::kFull:
      return "the gateway's disk is full";
    case DiskProblem::kReadOnly:
      return "the gateway's disk is read-only";
    case DiskProblem::kIoError:
      return "the gateway's disk cannot be written (I/O error)";
  }
  return "the gateway cannot write to its disk";
}

std::optional<std::string> WriteGate::write_refusal_reason() const {
  std::lock_guard lock(mutex_);
  if (problem_) return refusal_text(*problem_);
  if (below_floor_) {
    return "the gateway's disk has less than " + mib(config_.min_free_bytes) +
           " free ([storage] min_free_mb)";
  }
  return std::nullopt;
}

Status WriteGate::admit(WriteClass what) const {
  std::unique_lock lock(mutex_);
  if (!problem_ && (what == WriteClass::kAudit || !below_floor_)) return ok_status();
  lock.unlock();
  auto reason = write_refusal_reason();
  return refusal(reason ? *reason : refusal_text(DiskProblem::kIoError));
}

Error WriteGate::note_failure(DiskProblem problem, std::string_view detail) {
  if (problem == DiskProblem::kIoError) {
    if (auto space = measure()) {
      if (space->read_only)
        problem = DiskProblem::kReadOnly;
      else if (space->available < kProbeBytes)
        problem = DiskProblem::kFull;
    }
  }
  (void)enter(problem, detail);
  std::lock_guard lock(mutex_);
  return refusal(refusal_text(problem_.value_or(problem)));
}

bool WriteGate::enter(DiskProblem problem, std::string_view detail) {
  {
    std::lock_guard lock(mutex_);
    if (problem_) return false;
    problem_ = problem;
  }
  log(kLogErr, "storage: writes refused until " + config_.directory.string() +
                   " can be written again (checked every few seconds): " + std::string(detail));
  return true;
}

std::optional<DiskSpace> WriteGate::measure() const {
  return config_.space ? config_.space(config_.directory) : disk_space(config_.directory);
}

bool WriteGate::check() {
  const std::optional<DiskSpace> space = measure();
  if (space && space->read_only) (void)enter(DiskProblem::kReadOnly, "mounted read-only");
  const bool low = config_.min_free_bytes > 0 && space && space->available < config_.min_free_bytes;
  bool had_problem = false;
  {
    std::lock_guard lock(mutex_);
    had_problem = problem_.has_value();
  }
  // The probe needs a little space itself; below the floor there is some by design.
  Status probed = ok_status();
  if (had_problem) {
    probed = config_.probe ? config_.probe(config_.directory) : probe_directory(config_.directory);
  }
  bool floor_changed = false;
  bool reopened = false;
  bool taken = false;
  {
    std::lock_guard lock(mutex_);
    floor_changed = low != below_floor_;
    below_floor_ = low;
    if (had_problem && probed && !(space && space->read_only)) {
      problem_.reset();
      reopened = true;
    }
    taken = !problem_ && !below_floor_;
  }
  if (floor_changed && low) {
    log(kLogErr, "storage: " + mib(space->available) + " free on " + config_.directory.string() +
                     ", below [storage] min_free_mb (" + mib(config_.min_free_bytes) +
                     "): clinical writes refused until space is freed");
  } else if (floor_changed) {
    log(kLogNotice, "storage: free space on " + config_.directory.string() +
                        " is above [storage] min_free_mb again");
  }
  if (reopened) {
    log(kLogNotice, "storage: " + config_.directory.string() + " can be written again");
  } else if (had_problem) {
    log(kLogDebug, "storage: still not writable: " +
                       (probed ? std::string("mounted read-only") : probed.error().message));
  }
  return taken;
}

void WriteGate::log(int priority, const std::string& message) const {
  if (config_.log) config_.log(priority, message);
}

Status probe_directory(const std::filesystem::path& directory) {
  const std::filesystem::path file = directory / ".write-probe";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return os_failure("cannot create", file, errno);
  const std::vector<char> block(kProbeBytes, '\0');
  Status status = ok_status();
  std::size_t written = 0;
  while (status && written < block.size()) {
    const ssize_t n = ::write(fd, block.data() + written, block.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      status = os_failure("cannot write", file, n < 0 ? errno : ENOSPC);
    else
      written += static_cast<std::size_t>(n);
  }
  if (status && ::fsync(fd) != 0) status = os_failure("cannot sync", file, errno);
  ::close(fd);
  ::unlink(file.c_str());
  return status;
}

std::optional<DiskSpace> disk_space(const std::filesystem::path& directory) {
  struct statvfs fs {};
  if (::statvfs(directory.c_str(), &fs) != 0) return std::nullopt;
  DiskSpace space;
  space.available = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  space.read_only = (fs.f_flag & ST_RDONLY) != 0;
  return space;
}

}  // namespace cg::storage
