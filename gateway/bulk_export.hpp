#pragma once
// `clinic-gateway export --ndjson DIR`: the current version of every resource (deleted ones
// left out) as FHIR Bulk Data NDJSON — one `<Type>.ndjson` per resource type, one compact
// JSON resource per line, UTF-8, each line newline-terminated — and a manifest `export.json`
// shaped like a Bulk Data completion response (transactionTime, output: type, url, count)
// plus the gateway's version, node name, the options and the snapshot's change seq.
//
// Consistent: one read snapshot for the whole run (ResourceStore::scan_current); streaming:
// one resource in memory at a time. Online: it reads through SQLite WAL beside a running
// daemon. Resumable: a type is written to `<Type>.ndjson.part` and renamed when complete,
// then named in the manifest; a rerun into the same directory with the same options skips
// the types the manifest names (they come from the earlier run's snapshot). Every file is
// mode 0600 (patient data). The run is recorded in the audit trail as DCM 110106 Export.
//
// Thread-safety: one call at a time (main(), tests).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"
#include "protocols/fhir/model/result.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

inline constexpr std::string_view kExportManifest = "export.json";

struct BulkExportOptions {
  std::filesystem::path directory;  // created (0700) when missing
  std::vector<std::string> types;   // empty: every type
  std::optional<std::int64_t> since_ms;
  std::string node_name;
  std::function<std::int64_t()> clock_ms;  // empty: the system clock
};

struct ExportedType {
  std::string type;
  std::string file;  // "Patient.ndjson", relative to the directory
  std::int64_t count = 0;
};

struct BulkExportOutcome {
  std::vector<ExportedType> written;  // by this run, in the order written
  std::size_t resources = 0;          // written by this run
  std::size_t resumed_types = 0;      // complete from an earlier run, left alone
  std::int64_t snapshot_seq = 0;
};

// Writes the export. kInvalid for an unknown type, a directory that holds files but no
// export.json, or one whose export.json was made with other options; kUnavailable when a
// file cannot be written; store errors as they come. `progress(type, count)` follows each
// completed type.
Result<BulkExportOutcome> export_ndjson(
    storage::ResourceStore& store, const BulkExportOptions& options,
    const std::function<void(std::string_view, std::int64_t)>& progress = {});

// The words after "export": --ndjson DIR, --config FILE, [--types T1,T2], [--since DATE].
struct BulkExportCommand {
  std::string config_file;
  BulkExportOptions options;
  std::string since_text;  // as given, for the audit record
};
Result<BulkExportCommand> parse_bulk_export_command(std::span<const std::string_view> words);
// Opens the config's store, exports, records the export in audit.db; the exit code.
int run_bulk_export_command(const BulkExportCommand& command, const GatewayConfig& config,
                            std::ostream& out, std::ostream& err);

// Writes `text` to `file` readable by its owner only (0600): into `file`.part, fsync, rename
// over `file`, fsync of the directory, so a reader sees the old or the new content, whole.
// Bulk import keeps its progress file this way too.
Status write_private_file(const std::filesystem::path& file, std::string_view text);

// "Patient,Observation" → its types, each checked to be an R4 resource type.
Result<std::vector<std::string>> parse_type_list(std::string_view text);

}  // namespace cg::gateway
