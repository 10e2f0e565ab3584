#pragma once
// `clinic-gateway import PATH…`: loads FHIR Bulk Data NDJSON files (a directory's
// `*.ndjson`, in name order, or the files given), one resource per line, keeping each
// resource's id.
//
// Each line is checked like a FHIR API write (fhir::parse_checked_resource: JSON,
// resourceType, structure; plus an id, which import keeps); a bad line is reported as
// file:line and nothing of it is stored. Good lines are written in batches (one store job,
// one transaction per batch) through the same update path as PUT [type]/[id]
// (fhir::apply_update: create or new version, search index rows, change log), except that a
// line whose content equals the current version (meta.versionId and meta.lastUpdated aside)
// writes nothing: importing the same file twice makes no new versions. The gateway stamps
// its own meta.versionId and meta.lastUpdated, as for any write. A batch's `audit` hook runs
// inside its job, so the batch's audit record commits with it.
//
// Resumable: after a batch commits, the next line to read is recorded (at most about once a
// second, and at the end of each file) in `import-progress.json` beside the file; a rerun
// continues there. Lines replayed after a crash find their content already stored and write
// nothing. Online: writes go through SQLite WAL with busy timeouts beside a running daemon.
//
// Thread-safety: one call at a time (main(), tests). The caller's thread reads the lines;
// it and a few short-lived helper threads check and index them (most of the work), and the
// store's writer thread writes, one batch in flight while the next is checked. A line whose
// content is stored already is not indexed (a replay costs reading and comparing).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/balp_events.hpp"
#include "gateway/config.hpp"
#include "protocols/fhir/model/result.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

inline constexpr std::string_view kImportProgress = "import-progress.json";

struct BulkImportOptions {
  std::vector<std::filesystem::path> files;  // imported in this order
  std::size_t batch = 500;                   // resources per transaction
  std::size_t max_line_bytes = 16 * 1024 * 1024;
  bool resume = true;             // false: ignore and overwrite import-progress.json
  std::size_t check_threads = 0;  // threads checking and indexing lines; 0: one per core
};

// A bad line: nothing of it was stored.
struct ImportProblem {
  std::string file;
  std::int64_t line = 0;  // 1-based
  std::string message;
};

// What one committed batch wrote, for its audit record.
struct ImportedBatch {
  std::string file;
  std::int64_t first_line = 0;
  std::int64_t last_line = 0;
  std::span<const storage::StoredVersion> written;  // new versions only
};
// Runs inside the batch's store job after its writes; an error fails (rolls back) the batch.
using ImportAuditHook = std::function<Status(storage::WriteContext&, const ImportedBatch&)>;

struct ImportCounts {
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t unchanged = 0;      // content equal to the current version: nothing written
  std::size_t rejected = 0;       // bad lines
  std::size_t resumed_lines = 0;  // skipped: an earlier run committed them
  std::size_t lines() const { return created + updated + unchanged + rejected; }
};

struct ImportEvents {
  std::function<void(const ImportProblem&)> problem;
  std::function<void(const std::filesystem::path&, const ImportCounts&)> file_done;
};

// Imports options.files. Errors (the import stops; what is committed stays, and a rerun
// resumes): a file that cannot be read (kUnavailable), store errors, an audit hook error.
// Bad lines are not errors: they are counted, reported through events.problem, and skipped.
Result<ImportCounts> import_ndjson(storage::ResourceStore& store, const BulkImportOptions& options,
                                   const ImportAuditHook& audit, const ImportEvents& events = {});

// The NDJSON files a list of paths names: a directory's *.ndjson in name order, a file as
// it is. kInvalid for a path that is neither, or when no file is found.
Result<std::vector<std::filesystem::path>> ndjson_files(
    std::span<const std::filesystem::path> paths);

// DCM 110107 Import for one batch: the operator, the gateway, the file as source media
// (with the line range), every version written and the patients they name.
AuditEventSpec import_event(const AuditSource& source, std::string_view operator_name,
                            const ImportedBatch& batch);

// The words after "import": PATH… --config FILE [--batch N] [--restart].
struct BulkImportCommand {
  std::string config_file;
  std::vector<std::filesystem::path> paths;
  BulkImportOptions options;
};
Result<BulkImportCommand> parse_bulk_import_command(std::span<const std::string_view> words);
// Opens the config's store and audit trail, imports, prints the counts; the exit code (1 when
// a line was rejected or the import stopped).
int run_bulk_import_command(const BulkImportCommand& command, const GatewayConfig& config,
                            std::ostream& out, std::ostream& err);

}  // namespace cg::gateway
