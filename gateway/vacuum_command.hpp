#pragma once
// `clinic-gateway vacuum --config F`: gives the space of deleted rows back to the file
// system. For each database of the data directory: VACUUM (a rebuild without free pages),
// PRAGMA optimize (fresh planner statistics) and wal_checkpoint(TRUNCATE) (an empty -wal),
// printing each one's size before and after (the database with its -wal).
//
// Only while the gateway is stopped: VACUUM holds the database's write lock for the whole
// rebuild — minutes for a large clinical.db on an SD card — and the daemon's writes wait at
// most 5 s for that lock, so FHIR writes would fail with 503 and HL7v2 messages with AR for
// as long as it runs. So the command takes the data directory's lock (data_dir.hpp), refuses
// when `serve` holds it, and keeps it so no daemon starts meanwhile. A database whose file
// system has less free space than its size (VACUUM writes a second copy) is left alone,
// with a note.
//
// Thread-safety: one call at a time (main()).

#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>

#include "gateway/config.hpp"
#include "gateway/operations_args.hpp"

namespace cg::gateway {

// The words after "vacuum": --config F.
Result<OperationsArgs> parse_vacuum_command(std::span<const std::string_view> words);

// Returns 0 when every database was vacuumed, 1 otherwise (the gateway runs, no clinical.db,
// too little space, storage errors); a table of sizes to `out`, problems to `err`.
int run_vacuum_command(const OperationsArgs& command, const GatewayConfig& config,
                       std::ostream& out, std::ostream& err);

// A database's size as the commands report it: the file and its -wal.
std::int64_t database_bytes(const std::filesystem::path& file);

}  // namespace cg::gateway
