#include "storage/migrations.hpp"

#include <array>
#include <string>

#include "storage/archive_schema.hpp"

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

// Schema version 2: typed search index of current, non-deleted resources, one table per
// search-parameter type (rows from storage/index_entries.hpp), replacing resource_tokens.
// Every table carries (type, id) of the resource: the owner index lets a write replace a
// resource's rows; the lookup indexes lead with (type, param) and the compared column.
// Ranges are half-open [low, high). idx_reference is also indexed by its target so reverse
// chains (_has) and _revinclude find referring resources without a scan.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE idx_string (
  type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
  normalized TEXT NOT NULL, exact TEXT NOT NULL
);
CREATE INDEX idx_string_lookup ON idx_string (type, param, normalized);
CREATE INDEX idx_string_owner ON idx_string (type, id);
CREATE TABLE idx_token (
  type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
  system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL,
  type_system TEXT NOT NULL, type_code TEXT NOT NULL
);
CREATE INDEX idx_token_lookup ON idx_token (type, param, code, system);
CREATE INDEX idx_token_owner ON idx_token (type, id);
CREATE TABLE idx_date (
  type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
  low INTEGER NOT NULL, high INTEGER NOT NULL
);
CREATE INDEX idx_date_lookup ON idx_date (type, param, low);
CREATE INDEX idx_date_owner ON idx_date (type, id);
CREATE TABLE idx_number (
  type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
  low REAL NOT NULL, high REAL NOT NULL
);
CREATE INDEX idx_number_lookup ON idx_number (type, param, low);
CREATE INDEX idx_number_owner ON idx_number (type, id);
CREATE TABLE idx_quantity (
  type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
  system TEXT NOT NULL, code TEXT NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
  canonical_code TEXT NOT NULL, canonical_low REAL NOT NULL, canonical_high REAL NOT NULL
);
CREATE INDEX idx_quantity_lookup ON idx_quantity (type, param, code, low);
CREATE INDEX idx_quantity_canonical ON idx_quantity (type, param, canonical_code, canonical_low);
CREATE INDEX idx_quantity_owner ON idx_quantity (type, id);
CREATE TABLE idx_reference (
  type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
  target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL, version TEXT NOT NULL,
  identifier_system TEXT NOT NULL, identifier_value TEXT NOT NULL
);
CREATE INDEX idx_reference_lookup ON idx_reference (type, param, target_id, target_type);
CREATE INDEX idx_reference_target ON idx_reference (target_type, target_id, type, param);
CREATE INDEX idx_reference_url ON idx_reference (type, param, url);
CREATE INDEX idx_reference_owner ON idx_reference (type, id);
CREATE TABLE idx_uri (
  type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, uri TEXT NOT NULL
);
CREATE INDEX idx_uri_lookup ON idx_uri (type, param, uri);
CREATE INDEX idx_uri_owner ON idx_uri (type, id);
INSERT INTO idx_token (type, id, param, system, code, text, type_system, type_code)
  SELECT type, id, param, system, code, '', '', '' FROM resource_tokens;
DROP TABLE resource_tokens;
)sql";

// Schema version 3: date and number ranges are also looked up by their upper bound, which
// gt / ge / le / ne compare (storage/index_search.cpp); without these indexes those prefixes
// read every row of the parameter.
constexpr std::string_view kSchemaV3 = R"sql(
CREATE INDEX idx_date_high ON idx_date (type, param, high);
CREATE INDEX idx_number_high ON idx_number (type, param, high);
)sql";

// Schema version 4: the lookup indexes also carry the resource id, so a search answers
// `id IN (SELECT id FROM idx_… WHERE …)` from the index alone instead of reading one table row
// per match (about 5x less work for a 20,000-match token search, docs/benchmarks.md). The
// names stay the same: search SQL may name them.
constexpr std::string_view kSchemaV4 = R"sql(
DROP INDEX idx_string_lookup;
CREATE INDEX idx_string_lookup ON idx_string (type, param, normalized, id);
DROP INDEX idx_token_lookup;
CREATE INDEX idx_token_lookup ON idx_token (type, param, code, system, id);
DROP INDEX idx_date_lookup;
CREATE INDEX idx_date_lookup ON idx_date (type, param, low, high, id);
DROP INDEX idx_date_high;
CREATE INDEX idx_date_high ON idx_date (type, param, high, low, id);
DROP INDEX idx_number_lookup;
CREATE INDEX idx_number_lookup ON idx_number (type, param, low, high, id);
DROP INDEX idx_number_high;
CREATE INDEX idx_number_high ON idx_number (type, param, high, low, id);
DROP INDEX idx_quantity_lookup;
CREATE INDEX idx_quantity_lookup ON idx_quantity (type, param, code, low, id);
DROP INDEX idx_quantity_canonical;
CREATE INDEX idx_quantity_canonical ON idx_quantity (type, param, canonical_code, canonical_low, id);
DROP INDEX idx_reference_lookup;
CREATE INDEX idx_reference_lookup ON idx_reference (type, param, target_id, target_type, id);
DROP INDEX idx_uri_lookup;
CREATE INDEX idx_uri_lookup ON idx_uri (type, param, uri, id);
)sql";

// Schema version 5: composite parameters and range statistics.
// grp        every index row names the element instance of a composite parameter it belongs
//            to (storage/index_entries.hpp); 0 for the rows of ordinary parameters.
// idx_param_stats  the widest range and the most rows per resource of each range parameter
//            (storage/param_stats.hpp), filled here from the rows already stored.
// idx_position  Location.position for `near`, in degrees and as a point on the unit sphere
//            (x, y, z), so a distance test is arithmetic on a chord (storage/index_filter.cpp).
// resources_by_last_updated  also carries `deleted`, so counting a _lastUpdated range (the
//            first page of an SDK download) reads the index alone.
// Composite and position rows of resources written before this version appear after
// `clinic-gateway reindex`.
constexpr std::string_view kSchemaV5 = R"sql(
ALTER TABLE idx_string ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_token ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_date ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_number ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_quantity ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_reference ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_uri ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;
DROP INDEX resources_by_last_updated;
CREATE INDEX resources_by_last_updated ON resources (type, last_updated_ms, id, deleted);
CREATE TABLE idx_position (
  type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, grp INTEGER NOT NULL DEFAULT 0,
  latitude REAL NOT NULL, longitude REAL NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
  z REAL NOT NULL
);
CREATE INDEX idx_position_lookup ON idx_position (type, param, latitude, id);
CREATE INDEX idx_position_owner ON idx_position (type, id);
CREATE TABLE idx_param_stats (
  family TEXT NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL,
  max_width REAL NOT NULL, max_rows INTEGER NOT NULL,
  PRIMARY KEY (family, type, param)
) WITHOUT ROWID;
INSERT INTO idx_param_stats
  SELECT 'date', type, param, max(w), max(n) FROM (
    SELECT type, param, max(CAST(high AS REAL) - CAST(low AS REAL)) AS w, count(*) AS n
    FROM idx_date GROUP BY type, id, param)
  GROUP BY type, param;
INSERT INTO idx_param_stats
  SELECT 'number', type, param, max(w), max(n) FROM (
    SELECT type, param, max(high - low) AS w, count(*) AS n FROM idx_number
    GROUP BY type, id, param)
  GROUP BY type, param;
INSERT INTO idx_param_stats
  SELECT 'quantity', type, param || '|' || code, max(w), max(n) FROM (
    SELECT type, param, code, max(high - low) AS w, count(*) AS n FROM idx_quantity
    GROUP BY type, id, param, code)
  GROUP BY type, param, code;
INSERT INTO idx_param_stats
  SELECT 'quantity-canonical', type, param || '|' || canonical_code, max(w), max(n) FROM (
    SELECT type, param, canonical_code, max(canonical_high - canonical_low) AS w,
      count(*) AS n
    FROM idx_quantity WHERE canonical_code <> '' GROUP BY type, id, param, canonical_code)
  GROUP BY type, param, canonical_code;
)sql";

// Schema versions 6 and 7: the HL7v2 message archive moves into clinical.db, so that a
// message and what it changed commit together, in one fsync. The two steps of the old
// messages.db (storage/archive_schema.hpp: messages, then reprocessings).
// Schema version 8: the audit outbox (storage/audit_outbox.hpp). The audit record of a write
// is committed in the write's own transaction, then moved to audit.db.
constexpr std::string_view kAuditOutboxV1 = R"sql(
CREATE TABLE audit_outbox (
  id INTEGER PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  event TEXT NOT NULL
);
)sql";

constexpr std::array<std::string_view, 8> kClinicalSteps = {
    kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4, kSchemaV5, kArchiveV1, kArchiveV2, kAuditOutboxV1};

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
