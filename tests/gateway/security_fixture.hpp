#pragma once
// Helpers shared by the identity tests: security.db in a temporary directory, Argon2
// parameters cheap enough for a fast suite, and a clock the test moves by hand.
// Thread-safety: ManualClock may be read from any thread; the rest is for one test thread.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "gateway/security/password_hash.hpp"
#include "gateway/security/security_db.hpp"
#include "tests/storage/store_fixture.hpp"

namespace cg::gateway::testing {

using storage::testing::TempDir;

// The least libargon2 accepts for p=1 is 8 KiB; 64 KiB and one pass hash in well under a
// millisecond. Tests of the real defaults say so in their names.
inline constexpr Argon2Parameters kFastArgon2{64, 1, 1};

inline std::shared_ptr<SecurityDatabase> open_security_db(const std::filesystem::path& dir) {
  auto db = SecurityDatabase::open(dir);
  REQUIRE_MESSAGE(db.ok(), (db.ok() ? "" : db.error().message));
  return std::move(db).value();
}

class ManualClock {
 public:
  ManualClock() : now_ms_(1'700'000'000'000) {}  // November 2023: any fixed instant
  TimePoint now() const { return from_ms(now_ms_.load()); }
  void advance(std::chrono::milliseconds by) { now_ms_ += by.count(); }
  Clock clock() {
    return [this] { return now(); };
  }

 private:
  std::atomic<std::int64_t> now_ms_;
};

}  // namespace cg::gateway::testing
