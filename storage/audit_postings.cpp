#include "storage/audit_postings.hpp"

#include <algorithm>
#include <limits>
#include <memory>

namespace cg::storage {
namespace {

constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

// One block of a term, its ids ascending.
struct Block {
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::vector<std::int64_t> ids;
};

// The record ids of one term, newest first, block by block. seek(x) gives the largest id
// at most x (kNone when there is none); successive calls take non-increasing x.
class TermCursor {
 public:
  TermCursor(Connection& conn, std::int64_t term) : conn_(conn), term_(term) {}

  Result<std::int64_t> seek(std::int64_t x) {
    if (done_) return kNone;
    if (!block_ || x < block_->first) {
      auto loaded = load_block_for(x);
      if (!loaded) return loaded.take_error();
      if (!block_) {
        done_ = true;
        return kNone;
      }
    }
    // The block holds an id <= x: the last one not above it.
    auto it = std::upper_bound(block_->ids.begin(), block_->ids.end(), x);
    return *std::prev(it);
  }

 private:
  // The block that holds the largest id at most x: the first block ending at or after x
  // when it starts at or before x, else the last block ending before x.
  Status load_block_for(std::int64_t x) {
    auto after = fetch(
        "SELECT first_record, last_record, records FROM audit_postings "
        "WHERE term = ?1 AND last_record >= ?2 ORDER BY last_record LIMIT 1",
        x);
    if (!after) return after.take_error();
    if (*after && (*after)->first <= x) {
      block_ = std::move(*after);
      return ok_status();
    }
    auto before = fetch(
        "SELECT first_record, last_record, records FROM audit_postings "
        "WHERE term = ?1 AND last_record < ?2 ORDER BY last_record DESC LIMIT 1",
        x);
    if (!before) return before.take_error();
    block_ = std::move(*before);
    return ok_status();
  }

  Result<std::unique_ptr<Block>> fetch(std::string_view sql, std::int64_t x) {
    auto s = conn_.statement(sql);
    if (!s) return s.take_error();
    (*s)->bind(1, term_);
    (*s)->bind(2, x);
    auto row = (*s)->step();
    if (!row) return row.take_error();
    if (!*row) return std::unique_ptr<Block>();
    auto block = std::make_unique<Block>();
    block->first = (*s)->column_int64(0);
    block->last = (*s)->column_int64(1);
    auto ids = decode_block(block->first, (*s)->column_blob(2));
    if (!ids || ids->back() != block->last) {
      return Error::internal("audit.db: a block of the audit search index is damaged");
    }
    block->ids = std::move(*ids);
    return block;
  }

  Connection& conn_;
  std::int64_t term_;
  std::unique_ptr<Block> block_;
  bool done_ = false;
};

// A criterion: the largest id at most x among its terms' ids.
class AnyOf {
 public:
  AnyOf(Connection& conn, const TermAlternatives& terms) {
    for (std::int64_t t : terms) cursors_.emplace_back(conn, t);
  }
  Result<std::int64_t> seek(std::int64_t x) {
    std::int64_t best = kNone;
    for (TermCursor& c : cursors_) {
      auto v = c.seek(x);
      if (!v) return v.take_error();
      best = std::max(best, *v);
    }
    return best;
  }

 private:
  std::vector<TermCursor> cursors_;
};

}  // namespace

std::string encode_block(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (std::size_t i = 1; i < ids.size(); ++i) {
    put_varint(out, static_cast<std::uint64_t>(ids[i] - ids[i - 1]));
  }
  return out;
}

std::optional<std::vector<std::int64_t>> decode_block(std::int64_t first_record,
                                                      std::string_view bytes) {
  std::vector<std::int64_t> ids{first_record};
  std::uint64_t delta = 0;
  int shift = 0;
  for (unsigned char c : bytes) {
    if (shift > 56) return std::nullopt;
    delta |= static_cast<std::uint64_t>(c & 0x7f) << shift;
    if (c & 0x80) {
      shift += 7;
      continue;
    }
    if (c == 0 && shift > 0) return std::nullopt;  // overlong: the writer never makes one
    if (delta == 0 ||
        delta > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() - ids.back())) {
      return std::nullopt;
    }
    ids.push_back(ids.back() + static_cast<std::int64_t>(delta));
    delta = 0;
    shift = 0;
  }
  if (shift != 0) return std::nullopt;  // cut inside a varint
  return ids;
}

void PostingBatch::add(std::int64_t record, const std::vector<std::int64_t>& terms) {
  for (std::int64_t term : terms) by_term_[term].push_back(record);
}

Status PostingBatch::write(Connection& conn) const {
  auto insert = conn.statement(
      "INSERT INTO audit_postings (term, last_record, first_record, records) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!insert) return insert.take_error();
  for (const auto& [term, ids] : by_term_) {
    Statement& s = **insert;
    s.bind(1, term);
    s.bind(2, ids.back());
    s.bind(3, ids.front());
    s.bind_blob(4, encode_block(ids));
    if (auto run = s.run(); !run) return run;
    s.reset();
  }
  return ok_status();
}

Status walk_matches(Connection& conn, const std::vector<TermAlternatives>& criteria,
                    std::int64_t below_id, const std::function<Result<bool>(std::int64_t)>& visit) {
  std::vector<AnyOf> all;
  all.reserve(criteria.size());
  for (const auto& c : criteria) all.emplace_back(conn, c);
  // Leapfrog, newest first: x falls to the largest id every criterion has.
  std::int64_t x = below_id - 1;
  while (x >= 0 && !all.empty()) {
    bool agreed = true;
    for (AnyOf& criterion : all) {
      auto v = criterion.seek(x);
      if (!v) return v.take_error();
      if (*v == kNone) return ok_status();
      if (*v < x) {
        x = *v;
        agreed = false;
        break;
      }
    }
    if (!agreed) continue;
    auto more = visit(x);
    if (!more) return more.take_error();
    if (!*more) return ok_status();
    --x;
  }
  return ok_status();
}

Status drop_postings_before(Connection& conn, const std::vector<std::int64_t>& terms,
                            std::int64_t first_kept) {
  auto blocks = conn.statement("DELETE FROM audit_postings WHERE term = ?1 AND last_record < ?2");
  auto unused = conn.statement(
      "DELETE FROM audit_terms WHERE id = ?1 AND NOT EXISTS "
      "(SELECT 1 FROM audit_postings WHERE term = ?1)");
  if (!blocks) return blocks.take_error();
  if (!unused) return unused.take_error();
  for (std::int64_t term : terms) {
    (*blocks)->bind(1, term);
    (*blocks)->bind(2, first_kept);
    if (auto run = (*blocks)->run(); !run) return run;
    (*blocks)->reset();
    (*unused)->bind(1, term);
    if (auto run = (*unused)->run(); !run) return run;
    (*unused)->reset();
  }
  return ok_status();
}

}  // namespace cg::storage
