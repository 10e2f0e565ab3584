#pragma once
// The audit repository's inverted index: for each search term (a token of an ITI-81
// parameter, kept once in audit_terms), the ids of the records that have it, in blocks.
//
// Why blocks: the gateway writes an audit record for every read it serves, and each record
// has a dozen or more terms, most of them the same from record to record (its type, outcome,
// source, the reading app's token). One row per (term, record) made every record cost a
// dozen B-tree inserts and the single audit.db writer fell behind the reads (issue 6,
// docs/benchmarks.md). Here one write job adds one row per distinct term: a block of that
// term's record ids in the job, delta-encoded. A job of 1,000 read records writes some 20
// rows instead of 15,000.
//
//   audit_postings (term, last_record, first_record, records)  PRIMARY KEY (term, last_record)
//   records: the ids after first_record, ascending, as LEB128 varints of their differences.
//
// Blocks of one term never overlap (ids grow, and a job's block holds only its own new
// records), so a term's ids are read newest first by walking its blocks by last_record.
// A prune deletes whole blocks that end before the oldest record left; a block that spans
// the cut keeps ids of pruned records, which every reader checks against audit_records.
//
// Thread-safety: functions work on the connection they are given, on its thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

// The record ids of a write job by term, to be written as one block per term.
class PostingBatch {
 public:
  // `terms` of `record`; records are added in increasing id order.
  void add(std::int64_t record, const std::vector<std::int64_t>& terms);
  bool empty() const { return by_term_.empty(); }
  Status write(Connection& conn) const;

 private:
  std::map<std::int64_t, std::vector<std::int64_t>> by_term_;
};

// The delta encoding of a block (exposed for tests): ids ascending, the first excluded.
std::string encode_block(const std::vector<std::int64_t>& ids);
// The ids of a block, first included, ascending; nullopt when the bytes are damaged.
std::optional<std::vector<std::int64_t>> decode_block(std::int64_t first_record,
                                                      std::string_view bytes);

// One criterion of a search: the records that have any of these terms.
using TermAlternatives = std::vector<std::int64_t>;

// Walks the records that match every criterion (each: any of its terms), newest first,
// starting below `below_id`, and calls `visit` with each id until it returns false.
// `visit` decides what a candidate is worth (a pruned record's id may still be in a block:
// the caller looks the record up anyway). An empty criterion matches nothing; no criteria
// at all is the caller's case, not this one's.
Status walk_matches(Connection& conn, const std::vector<TermAlternatives>& criteria,
                    std::int64_t below_id, const std::function<Result<bool>(std::int64_t)>& visit);

// Deletes the blocks of `terms` that end before `first_kept` (the oldest record left after a
// prune), then the terms among them no block mentions any more.
Status drop_postings_before(Connection& conn, const std::vector<std::int64_t>& terms,
                            std::int64_t first_kept);

}  // namespace cg::storage
