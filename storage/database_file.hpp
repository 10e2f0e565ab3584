#pragma once
// Opening the gateway's SQLite files (clinical.db, messages.db, …) the one way they are
// all used: WAL journaling with synchronous=FULL (a commit is on disk when COMMIT returns),
// a busy timeout, small page caches, one writer connection and read-only readers.
//
// Thread-safety: free functions; each returned Connection is then used by one thread at a
// time (sqlite.hpp).

#include <cstdint>
#include <filesystem>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

// Creates `directory` (and parents) when missing; kUnavailable when it cannot be used.
Status ensure_directory(const std::filesystem::path& directory);

// The write connection: creates the file, switches it to WAL (kUnavailable when the file
// system cannot), and caps it at `max_db_bytes` (0 = no cap; writes past it fail as full).
Result<Connection> open_writer(const std::filesystem::path& file, std::int64_t max_db_bytes);

// `count` (at least 1) read-only connections to an existing file.
Result<std::vector<Connection>> open_readers(const std::filesystem::path& file, int count);

}  // namespace cg::storage
