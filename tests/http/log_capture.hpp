#pragma once
// Collects the log lines a server emits from its threads, for tests that check what is
// (and what is never) logged. Thread-safe.

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cg::http::testing {

class LogCapture {
 public:
  std::function<void(int, std::string_view)> sink() {
    return [this](int priority, std::string_view message) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(priority, std::string(message));
    };
  }
  bool contains(std::string_view text) const {
    std::lock_guard lock(mutex_);
    for (const auto& line : lines_) {
      if (line.second.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<int, std::string>> lines_;
};

}  // namespace cg::http::testing
