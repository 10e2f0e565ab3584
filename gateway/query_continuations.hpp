#pragma once
// The open PDQ queries whose answers continue (HL7 v2.5 §5.6.3, "interactive continuation"):
// an answer that holds fewer records than match carries a DSC with a continuation pointer,
// and the sender gets the next records by sending the same query again with that pointer.
// Each pointer is the key of one entry here: the search cursor the next answer starts from,
// and what the sender and the query must be for the pointer to count.
//
// Bounded: at most `capacity` open queries (the oldest goes first) and each for `ttl_ms`;
// a pointer is used once (the next answer gets a new one). QCN^J01 cancels a query by its
// tag. In memory only: after a restart the sender starts its query again, as it must after
// any expired pointer. Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace cg::gateway {

struct OpenQuery {
  std::string sender;     // MSH-3 and MSH-4 as sent: only that sender may continue
  std::string query_tag;  // QPD-2
  std::string qpd;        // the QPD as sent: a continuation must repeat it
  std::string cursor;     // the search cursor of the next page
  int total = 0;          // hits in total, counted by the first answer
  int delivered = 0;      // records sent so far
};

class QueryContinuations {
 public:
  // `clock_ms`: a monotonic clock in ms; null: the steady clock.
  QueryContinuations(std::size_t capacity, std::int64_t ttl_ms,
                     std::function<std::int64_t()> clock_ms = {});

  // Keeps `query` and returns its continuation pointer (16 hex digits, unguessable).
  std::string open(OpenQuery query);
  // The query behind `pointer`, removed; nullopt when the pointer is unknown, expired or of
  // another sender, tag or QPD.
  std::optional<OpenQuery> take(std::string_view pointer, std::string_view sender,
                                std::string_view query_tag, std::string_view qpd);
  // Drops the sender's open queries with this tag; how many there were.
  std::size_t cancel(std::string_view sender, std::string_view query_tag);
  std::size_t size() const;

 private:
  struct Entry {
    OpenQuery query;
    std::int64_t expires_ms = 0;
    std::uint64_t order = 0;  // opening order, to evict the oldest
  };
  void drop_expired(std::int64_t now);
  void evict_oldest();

  std::size_t capacity_;
  std::int64_t ttl_ms_;
  std::function<std::int64_t()> clock_ms_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> open_;
  std::uint64_t next_order_ = 0;
};

}  // namespace cg::gateway
