#include "gateway/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <mutex>
#include <string>

namespace cg::gateway {
namespace {

std::atomic<int> g_max_priority{kInfo};

const char* level_name(int priority) {
  switch (priority) {
    case kErr:
      return "error";
    case kWarning:
      return "warning";
    case kNotice:
      return "notice";
    case kInfo:
      return "info";
    case kDebug:
      return "debug";
    default:
      return priority < kErr ? "critical" : "debug";
  }
}

bool detect_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

void write_line(int priority, std::string_view message);

// The bounded ring behind recent_errors().
std::mutex g_errors_mutex;
std::deque<LoggedError> g_errors;

void remember_error(std::string_view message) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  LoggedError error{std::chrono::duration_cast<std::chrono::milliseconds>(now).count(),
                    std::string(message)};
  std::lock_guard lock(g_errors_mutex);
  if (g_errors.size() == kRecentErrors) g_errors.pop_front();
  g_errors.push_back(std::move(error));
}

}  // namespace

std::vector<LoggedError> recent_errors() {
  std::lock_guard lock(g_errors_mutex);
  return {g_errors.begin(), g_errors.end()};
}

bool stderr_is_journal() {
  static const bool journal = detect_journal();
  return journal;
}

void set_log_level(std::string_view level) {
  int p = kInfo;
  if (level == "error")
    p = kErr;
  else if (level == "warning")
    p = kWarning;
  else if (level == "debug")
    p = kDebug;
  g_max_priority.store(p);
}

bool log_enabled(int priority) {
  return priority <= g_max_priority.load();
}

void log(int priority, std::string_view message) {
  if (!log_enabled(priority)) return;
  if (priority <= kErr) remember_error(message);
  write_line(priority, message);
}

void log_lifecycle(std::string_view message) {
  write_line(kNotice, message);
}

namespace {

void write_line(int priority, std::string_view message) {
  std::string line;
  line.reserve(message.size() + 48);
  if (stderr_is_journal()) {
    line += '<';
    line += std::to_string(priority);
    line += '>';
  } else {
    line += timestamp();
    line += ' ';
    line += level_name(priority);
    line += ' ';
  }
  // One event, one line: embedded newlines would split it.
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  // A single write keeps lines from different threads whole.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

}  // namespace cg::gateway
