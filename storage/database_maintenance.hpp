#pragma once
// Whole-file operations on the gateway's SQLite databases (clinical.db, audit.db,
// security.db) for the operator commands `backup`, `restore`, `vacuum` and `status`. They
// open a file of their own, beside the daemon's connections or without it; none creates a
// database that is missing (kNotFound instead: a wrong data_dir is the likelier cause).
//
// Thread-safety: free functions; each opens and closes its own connection.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::storage {

// Copies the database `source` into the new file `target` (which must not exist) with
// SQLite's online backup API in a single step: one read transaction on `source`, so the
// copy is the database as of one commit, while the daemon goes on writing (in WAL mode a
// reader never blocks the writer; checkpoints wait for the copy to end). Pages are copied as
// they are: no rebuild, little CPU (VACUUM INTO would rebuild every index; `vacuum` is the
// command that compacts). The copy is not synced; the caller syncs what it keeps.
// Errors: kNotFound (no source), kConflict (target exists), kUnavailable (disk, busy),
// kInternal.
Status copy_database(const std::filesystem::path& source, const std::filesystem::path& target);

// PRAGMA user_version: the schema version migrations recorded. Errors as copy_database.
Result<std::int64_t> schema_version(const std::filesystem::path& file);

// "ok", or the first problem PRAGMA quick_check finds (a damaged page, a bad record).
Result<std::string> quick_check(const std::filesystem::path& file);

// SELECT count(*) FROM `table` [WHERE `where`] (SQL from the code, never from input); 0 when
// the table does not exist (an older schema). Errors as copy_database.
Result<std::int64_t> count_rows(const std::filesystem::path& file, std::string_view table,
                                std::string_view where = {});

// VACUUM (rebuilds the file without free pages), PRAGMA optimize, then
// wal_checkpoint(TRUNCATE) so the -wal file is empty afterwards. VACUUM holds the write lock
// for the whole rebuild: the caller makes sure no daemon uses the file. Needs free space for
// a second copy of the database. Errors as copy_database.
Status vacuum_database(const std::filesystem::path& file);

}  // namespace cg::storage
