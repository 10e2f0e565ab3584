#pragma once
// VersionWriter: the WriteContext that jobs see. It writes new versions, head pointers,
// token rows and change-log entries on the write connection, inside the transaction the
// group-commit writer has opened, and reads (conditional matches included) through the same
// connection so a job sees the earlier jobs of its batch.
//
// Thread-safety: used only on the writer thread. Timestamps are kept non-decreasing across
// the store's lifetime: a version is never stamped earlier than the one before it, even if
// the wall clock steps back.

#include <cstdint>
#include <functional>

#include "storage/resource_store.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

class VersionWriter final : public WriteContext {
 public:
  // `conn` must outlive the writer. `clock_ms` gives wall-clock ms since the epoch;
  // `floor_ms` is the newest stored timestamp (see read_latest_timestamp()).
  VersionWriter(Connection& conn, std::function<std::int64_t()> clock_ms, std::int64_t floor_ms)
      : conn_(conn), clock_ms_(std::move(clock_ms)), last_ms_(floor_ms) {}

  Result<std::optional<StoredVersion>> head(const std::string& type,
                                            const std::string& id) override;
  Result<std::optional<StoredVersion>> version(const std::string& type, const std::string& id,
                                               std::int64_t version) override;
  Result<std::vector<std::string>> find_ids(const IndexQuery& query) override;
  Result<std::vector<std::pair<std::string, std::string>>> referring_resources(
      const std::string& target_type, const std::string& target_id, std::size_t at_most) override;
  Result<StoredVersion> put(const std::string& type, const std::string& id,
                            boost::json::object resource, const IndexEntries& index) override;
  Result<StoredVersion> remove(const std::string& type, const std::string& id) override;
  Result<bool> reindex(const std::string& type, const std::string& id, std::int64_t version,
                       const IndexEntries& index) override;
  Connection& connection() override { return conn_; }

 private:
  // The next version's identity and timestamp; json, deleted and seq are the caller's.
  StoredVersion next_version(const std::string& type, const std::string& id, std::int64_t version);
  // Appends the change and the version row, moves the head, replaces the token rows.
  Status write_version(StoredVersion& v, std::string_view op, const IndexEntries& index);
  Status insert_change(StoredVersion& v, std::string_view op);
  Status insert_version(const StoredVersion& v);
  Status upsert_head(const StoredVersion& v);
  Status replace_index(const StoredVersion& v, const IndexEntries& index);
  Status raise_param_stats(const std::string& type, const IndexEntries& index);

  Connection& conn_;
  std::function<std::int64_t()> clock_ms_;
  std::int64_t last_ms_;
};

}  // namespace cg::storage
