#pragma once
// Numbered schema migrations for clinical.db. Step i (0-based) of a migration list moves the
// schema from version i to i+1; PRAGMA user_version records the version applied. Steps are
// only ever appended, never edited, once released.
//
// Thread-safety: apply_migrations() runs on one connection before the store starts its
// threads; the step lists are immutable.

#include <cstdint>
#include <span>
#include <string_view>

#include "protocols/fhir/model/result.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

// The clinical.db schema steps this build knows.
std::span<const std::string_view> clinical_migrations();

struct MigrationOutcome {
  std::int64_t from_version = 0;
  std::int64_t to_version = 0;
};

// Brings the database on `conn` to steps.size(): all pending steps and the new user_version
// run in one IMMEDIATE transaction, so a failing step leaves the schema as it was.
// Errors: kInternal naming both versions when the database is newer than `steps` (this
// build must not write a schema it does not know); SQLite errors as mapped by sqlite_error.
Result<MigrationOutcome> apply_migrations(Connection& conn,
                                          std::span<const std::string_view> steps);

}  // namespace cg::storage
