#pragma once
// `clinic-gateway backup FILE --config F`: the whole state of the gateway in one file, taken
// while it serves (backup_archive.hpp has the format).
//
// Each database of the data directory is copied with SQLite's online backup API in one read
// transaction (storage/database_maintenance.hpp): a consistent copy as of one commit, while
// the daemon's writes go on. The databases are copied one after another, so each copy is of
// a slightly later moment; the order (data_dir.hpp, known_databases) keeps what refers
// across them valid: audit.db last, so every change in the other copies has its audit
// record. Each copy is checked (PRAGMA quick_check) before it goes into the archive. The
// other files of the data directory (the signing key) are copied as they are, the config
// file for reference.
//
// The archive is written to FILE.tmp (mode 0600: it holds the signing key and patient
// data), synced and renamed to FILE, so FILE is either the complete new backup or what was
// there before. The copies pass through temporary files beside FILE, one at a time: FILE's
// file system needs room for the backup plus the largest database.
//
// Thread-safety: one call at a time (main()).

#include <ostream>
#include <span>
#include <string_view>

#include "gateway/config.hpp"
#include "gateway/operations_args.hpp"

namespace cg::gateway {

// The words after "backup": FILE --config F.
Result<OperationsArgs> parse_backup_command(std::span<const std::string_view> words);

// Writes the backup; what went in to `out`, problems to `err`. Returns 0 when FILE is
// complete, 1 otherwise (no clinical.db in data_dir, FILE inside data_dir, a database that
// fails its check, disk errors; FILE is then left as it was).
int run_backup_command(const OperationsArgs& command, const GatewayConfig& config,
                       std::ostream& out, std::ostream& err);

}  // namespace cg::gateway
