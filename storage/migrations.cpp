#include "storage/migrations.hpp"

#include <array>
#include <string>

namespace cg::storage {
namespace {

// Schema version 1 of clinical.db.
//
// changes            The monotonic local sequence. seq is AUTOINCREMENT so a seq is never
//                    reused even if rows are pruned one day: sync cursors and history pages
//                    are seq bounds. origin_node/origin_seq are NULL for local writes and
//                    name the upstream change for replicated ones. received_at is ms UTC.
// resource_versions  Every version of every resource, keyed by the seq of the change that
//                    wrote it (1:1 with changes, same transaction), so system history is a
//                    rowid range scan. json is the full resource, '' for deletion versions.
//                    (type, id, version) is unique; (type, seq) serves type history.
// resources          Head pointers: one row per (type, id) with the current version, its seq
//                    and timestamp, and whether it is deleted. Search runs on this table
//                    (ordered by id via the primary key; (type, last_updated_ms) for
//                    _lastUpdated) and joins the version row by seq for the json.
// resource_tokens    Token index of current, non-deleted resources, filled by the caller's
//                    TokenKeys. system is '' when the token has none. The primary key
//                    (type, param, code, system, id) is the lookup path; (type, id) lets a
//                    write replace a resource's rows.
//
// WITHOUT ROWID for the small-row tables whose primary key is the access path; not for
// resource_versions, whose json rows can be large.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
  origin_node TEXT,
  origin_seq INTEGER,
  received_at INTEGER NOT NULL
);
CREATE TABLE resource_versions (
  seq INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated_ms INTEGER NOT NULL,
  deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
  json TEXT NOT NULL
);
CREATE UNIQUE INDEX resource_versions_by_resource ON resource_versions (type, id, version);
CREATE INDEX resource_versions_by_type_seq ON resource_versions (type, seq);
CREATE TABLE resources (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  current_version INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  last_updated_ms INTEGER NOT NULL,
  deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
  PRIMARY KEY (type, id)
) WITHOUT ROWID;
CREATE INDEX resources_by_last_updated ON resources (type, last_updated_ms);
CREATE TABLE resource_tokens (
  type TEXT NOT NULL,
  param TEXT NOT NULL,
  code TEXT NOT NULL,
  system TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (type, param, code, system, id)
) WITHOUT ROWID;
CREATE INDEX resource_tokens_by_resource ON resource_tokens (type, id);
)sql";

constexpr std::array<std::string_view, 1> kClinicalSteps = {kSchemaV1};

Status run_steps(Connection& conn, std::span<const std::string_view> steps, std::size_t from) {
  for (std::size_t i = from; i < steps.size(); ++i) {
    if (auto status = conn.exec(steps[i]); !status) {
      Error error = status.take_error();
      error.message =
          "migration to schema version " + std::to_string(i + 1) + " failed: " + error.message;
      return error;
    }
  }
  // PRAGMA takes no bound parameters; the value is our own integer.
  return conn.exec("PRAGMA user_version = " + std::to_string(steps.size()));
}

}  // namespace

std::span<const std::string_view> clinical_migrations() {
  return kClinicalSteps;
}

Result<MigrationOutcome> apply_migrations(Connection& conn,
                                          std::span<const std::string_view> steps) {
  if (auto begin = conn.exec("BEGIN IMMEDIATE"); !begin) return begin.take_error();
  // Read the version inside the write lock so two processes cannot both migrate.
  auto current = conn.query_int64("PRAGMA user_version");
  const auto known = static_cast<std::int64_t>(steps.size());
  Status status = current ? ok_status() : Status(current.error());
  if (status && *current > known) {
    status = Error::internal("database schema version " + std::to_string(*current) +
                             " is newer than this build knows (" + std::to_string(known) +
                             "); refusing to open it: upgrade clinic-gateway");
  }
  if (status && *current < known) status = run_steps(conn, steps, std::size_t(*current));
  if (status) status = conn.exec("COMMIT");
  if (!status) {
    if (conn.in_transaction()) (void)conn.exec("ROLLBACK");
    return status.take_error();
  }
  return MigrationOutcome{*current, known};
}

}  // namespace cg::storage
