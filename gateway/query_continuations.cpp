#include "gateway/query_continuations.hpp"

#include <chrono>
#include <random>

namespace cg::gateway {
namespace {

std::int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Unguessable, so one sender cannot continue (or probe) another's query.
std::string random_pointer() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  constexpr std::string_view kHex = "0123456789abcdef";
  std::uint64_t bits = generator();
  std::string out(16, '0');
  for (char& c : out) {
    c = kHex[bits & 0xF];
    bits >>= 4;
  }
  return out;
}

}  // namespace

QueryContinuations::QueryContinuations(std::size_t capacity, std::int64_t ttl_ms,
                                       std::function<std::int64_t()> clock_ms)
    : capacity_(capacity > 0 ? capacity : 1),
      ttl_ms_(ttl_ms),
      clock_ms_(clock_ms ? std::move(clock_ms) : steady_ms) {}

std::string QueryContinuations::open(OpenQuery query) {
  const std::int64_t now = clock_ms_();
  std::lock_guard lock(mutex_);
  drop_expired(now);
  while (open_.size() >= capacity_) evict_oldest();
  std::string pointer = random_pointer();
  while (open_.contains(pointer)) pointer = random_pointer();
  open_.emplace(pointer, Entry{std::move(query), now + ttl_ms_, next_order_++});
  return pointer;
}

std::optional<OpenQuery> QueryContinuations::take(std::string_view pointer, std::string_view sender,
                                                  std::string_view query_tag,
                                                  std::string_view qpd) {
  const std::int64_t now = clock_ms_();
  std::lock_guard lock(mutex_);
  drop_expired(now);
  auto it = open_.find(pointer);
  if (it == open_.end()) return std::nullopt;
  const OpenQuery& q = it->second.query;
  if (q.sender != sender || q.query_tag != query_tag || q.qpd != qpd) return std::nullopt;
  OpenQuery out = std::move(it->second.query);
  open_.erase(it);
  return out;
}

std::size_t QueryContinuations::cancel(std::string_view sender, std::string_view query_tag) {
  std::lock_guard lock(mutex_);
  std::size_t dropped = 0;
  for (auto it = open_.begin(); it != open_.end();) {
    const OpenQuery& q = it->second.query;
    if (q.sender == sender && q.query_tag == query_tag) {
      it = open_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

std::size_t QueryContinuations::size() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

void QueryContinuations::drop_expired(std::int64_t now) {
  std::erase_if(open_, [now](const auto& entry) { return entry.second.expires_ms <= now; });
}

void QueryContinuations::evict_oldest() {
  auto oldest = open_.begin();
  for (auto it = open_.begin(); it != open_.end(); ++it) {
    if (it->second.order < oldest->second.order) oldest = it;
  }
  if (oldest != open_.end()) open_.erase(oldest);
}

}  // namespace cg::gateway
