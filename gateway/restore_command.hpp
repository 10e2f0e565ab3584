#pragma once
// `clinic-gateway restore FILE --config F`: puts the state saved by `backup` back as the
// gateway's data directory.
//
// 1. Refuses while the gateway runs: it takes the data directory's lock (data_dir.hpp),
//    which `serve` holds, and keeps it to the end so no daemon starts meanwhile.
// 2. Unpacks FILE into a new directory beside the data directory (<data_dir>.restore-<time>)
//    and checks it before anything else is touched: every file of the manifest is there,
//    with its size and SHA-256 and nothing else; clinical.db is there; no database has a
//    schema newer than this build knows (older ones are migrated by the daemon at its next
//    start, as after an upgrade).
// 3. Gives the new directory the data directory's mode and (when run as root) its owner and
//    group, then swaps the two in one step (renameat2 RENAME_EXCHANGE; two renames on a
//    file system without it) and renames the old one <data_dir>.before-restore-<time>,
//    which it prints: nothing is deleted. There is no --force: the old directory is kept.
// A failure before the swap removes the new directory and leaves the data directory as it
// was. The config file is not restored (the backup holds a copy under config/).
//
// Thread-safety: one call at a time (main()).

#include <ostream>
#include <span>
#include <string_view>

#include "gateway/config.hpp"
#include "gateway/operations_args.hpp"

namespace cg::gateway {

// The words after "restore": FILE --config F.
Result<OperationsArgs> parse_restore_command(std::span<const std::string_view> words);

// Returns 0 when the data directory is the backup's, 1 otherwise (the gateway runs, the
// archive is damaged or not a backup, a schema too new, file system errors); what it did and
// where the old directory went to `out`, problems to `err`. `now_text` names the
// directories (tests pass a fixed one; empty: the current UTC time, 20261121T194000Z).
int run_restore_command(const OperationsArgs& command, const GatewayConfig& config,
                        std::ostream& out, std::ostream& err, std::string_view now_text = {});

}  // namespace cg::gateway
