#include "gateway/bulk_export.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "gateway/audit_upkeep.hpp"
#include "gateway/balp_events.hpp"
#include "gateway/daemon.hpp"
#include "gateway/identity_commands.hpp"
#include "gateway/log.hpp"
#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/model/json.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::size_t kFlushBytes = 1 << 20;

Error file_error(const fs::path& file, std::string_view what) {
  return Error::unavailable("cannot " + std::string(what) + " " + file.string() + ": " +
                            std::strerror(errno));
}

std::int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// write(2) all of `bytes`, retrying short writes and EINTR.
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

Status sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return file_error(dir, "open the directory");
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return file_error(dir, "sync the directory");
  return ok_status();
}

// One `<Type>.ndjson.part` being written; renamed to `<Type>.ndjson` by finish().
class NdjsonPart {
 public:
  static Result<NdjsonPart> create(fs::path final_file) {
    fs::path part = final_file;
    part += ".part";
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return file_error(part, "create");
    // An existing .part of an interrupted run keeps its mode through O_TRUNC.
    if (::fchmod(fd, 0600) != 0) {
      ::close(fd);
      return file_error(part, "restrict");
    }
    return NdjsonPart(fd, std::move(part), std::move(final_file));
  }
  NdjsonPart(NdjsonPart&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)),
        part_(std::move(other.part_)),
        final_(std::move(other.final_)),
        buffer_(std::move(other.buffer_)) {}
  NdjsonPart& operator=(NdjsonPart&&) = delete;
  ~NdjsonPart() {
    if (fd_ >= 0) ::close(fd_);
  }

  Status append_line(std::string_view json) {
    buffer_.append(json);
    buffer_.push_back('\n');
    return buffer_.size() >= kFlushBytes ? flush() : ok_status();
  }

  // Flush, fsync, close, rename over the final name.
  Status finish() {
    if (auto s = flush(); !s) return s;
    if (::fsync(fd_) != 0) return file_error(part_, "sync");
    ::close(std::exchange(fd_, -1));
    if (::rename(part_.c_str(), final_.c_str()) != 0) return file_error(final_, "rename into");
    return ok_status();
  }

 private:
  NdjsonPart(int fd, fs::path part, fs::path final_file)
      : fd_(fd), part_(std::move(part)), final_(std::move(final_file)) {
    buffer_.reserve(kFlushBytes + 64 * 1024);
  }
  Status flush() {
    if (!write_all(fd_, buffer_)) return file_error(part_, "write");
    buffer_.clear();
    return ok_status();
  }

  int fd_;
  fs::path part_;
  fs::path final_;
  std::string buffer_;
};

// export.json: a Bulk Data completion manifest plus what a resumed run must agree with.
struct Manifest {
  std::string transaction_time;
  std::vector<ExportedType> output;
  bool complete = false;
  std::int64_t snapshot_seq = 0;
};

json::array types_json(const std::vector<std::string>& types) {
  json::array a;
  for (const auto& t : types) a.emplace_back(t);
  return a;
}

// The options a resumed run must share with the run that started the directory.
json::object options_json(const BulkExportOptions& options) {
  json::object o;
  o["types"] = types_json(options.types);
  if (options.since_ms) o["since"] = storage::format_instant(*options.since_ms);
  return o;
}

std::string manifest_text(const Manifest& m, const BulkExportOptions& options) {
  json::object root;
  root["transactionTime"] = m.transaction_time;
  root["request"] = "clinic-gateway export --ndjson";
  root["requiresAccessToken"] = false;
  json::array output;
  for (const auto& t : m.output) {
    output.push_back(json::object{{"type", t.type}, {"url", t.file}, {"count", t.count}});
  }
  root["output"] = std::move(output);
  root["error"] = json::array();
  root["complete"] = m.complete;
  root["options"] = options_json(options);
  root["snapshotSeq"] = m.snapshot_seq;
  root["gateway"] = json::object{{"version", CG_VERSION}, {"node", options.node_name}};
  return fhir::serialize_json_pretty(root) + "\n";
}

Result<std::string> read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error::unavailable("cannot read " + file.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The manifest an earlier run left; nullopt when there is none (and the directory is empty).
Result<std::optional<Manifest>> earlier_manifest(const BulkExportOptions& options) {
  const fs::path file = options.directory / kExportManifest;
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (!fs::is_empty(options.directory, ec)) {
      return Error::invalid(options.directory.string() +
                            " holds files but no export.json: export into an empty or new "
                            "directory");
    }
    return std::optional<Manifest>();
  }
  auto text = read_text(file);
  if (!text) return text.take_error();
  auto parsed = fhir::parse_json(*text);
  const json::object* root = parsed && parsed->is_object() ? &parsed->as_object() : nullptr;
  const json::value* earlier_options = root ? root->if_contains("options") : nullptr;
  if (earlier_options == nullptr) return Error::invalid(file.string() + " is not an export.json");
  if (*earlier_options != json::value(options_json(options))) {
    return Error::invalid(options.directory.string() +
                          " holds an export made with other --types or --since: rerun it with "
                          "those, or export into an empty or new directory");
  }
  Manifest m;
  if (const auto* t = root->if_contains("transactionTime"); t && t->is_string()) {
    m.transaction_time = std::string(t->get_string());
  }
  if (const auto* c = root->if_contains("complete"); c && c->is_bool()) m.complete = c->get_bool();
  if (const auto* s = root->if_contains("snapshotSeq"); s && s->is_int64()) {
    m.snapshot_seq = s->get_int64();
  }
  if (const auto* out = root->if_contains("output"); out && out->is_array()) {
    for (const auto& entry : out->get_array()) {
      const auto* o = entry.if_object();
      if (o == nullptr) continue;
      ExportedType t;
      if (const auto* v = o->if_contains("type"); v && v->is_string())
        t.type = std::string(v->get_string());
      if (const auto* v = o->if_contains("url"); v && v->is_string())
        t.file = std::string(v->get_string());
      if (const auto* v = o->if_contains("count"); v && v->is_int64()) t.count = v->get_int64();
      if (!t.type.empty()) m.output.push_back(std::move(t));
    }
  }
  return std::optional<Manifest>(std::move(m));
}

// The walk's visitor: one open part file at a time, closed and named in the manifest when
// the walk moves on to the next type.
class TypeWriter {
 public:
  TypeWriter(const BulkExportOptions& options, Manifest& manifest, BulkExportOutcome& outcome,
             const std::function<void(std::string_view, std::int64_t)>& progress)
      : options_(options), manifest_(manifest), outcome_(outcome), progress_(progress) {}

  Status visit(const storage::StoredVersion& v) {
    if (!part_ || v.type != current_.type) {
      if (auto s = finish_type(); !s) return s;
      if (auto s = start_type(v.type); !s) return s;
    }
    ++current_.count;
    ++outcome_.resources;
    return part_->append_line(v.json);
  }

  // Completes the type being written, if any: rename, then the manifest names it.
  Status finish_type() {
    if (!part_) return ok_status();
    if (auto s = part_->finish(); !s) return s;
    part_.reset();
    manifest_.output.push_back(current_);
    outcome_.written.push_back(current_);
    if (progress_) progress_(current_.type, current_.count);
    return write_private_file(options_.directory / kExportManifest,
                              manifest_text(manifest_, options_));
  }

 private:
  Status start_type(const std::string& type) {
    current_ = ExportedType{type, type + ".ndjson", 0};
    auto part = NdjsonPart::create(options_.directory / current_.file);
    if (!part) return part.take_error();
    part_.emplace(std::move(*part));
    return ok_status();
  }

  const BulkExportOptions& options_;
  Manifest& manifest_;
  BulkExportOutcome& outcome_;
  const std::function<void(std::string_view, std::int64_t)>& progress_;
  ExportedType current_;
  std::optional<NdjsonPart> part_;
};

Status prepare_directory(const fs::path& dir) {
  std::error_code ec;
  const bool created = fs::create_directories(dir, ec);
  if (ec) return Error::unavailable("cannot create " + dir.string() + ": " + ec.message());
  if (created) fs::permissions(dir, fs::perms::owner_all, ec);  // patient data: owner only
  if (!fs::is_directory(dir, ec)) return Error::invalid(dir.string() + " is not a directory");
  return ok_status();
}

// A .part an interrupted run left for a type that has no resources any more.
void remove_stale_parts(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".ndjson.part")) fs::remove(entry.path(), ec);
  }
}

}  // namespace

Status write_private_file(const fs::path& file, std::string_view text) {
  fs::path part = file;
  part += ".part";
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return file_error(part, "create");
  const bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return file_error(part, "write");
  if (::rename(part.c_str(), file.c_str()) != 0) return file_error(file, "rename into");
  return sync_directory(file.has_parent_path() ? file.parent_path() : fs::path("."));
}

Result<std::vector<std::string>> parse_type_list(std::string_view text) {
  std::vector<std::string> types;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view type = text.substr(0, comma);
    if (!fhir::is_resource_type(type)) {
      return Error::invalid("'" + std::string(type) + "' is not an R4 resource type");
    }
    if (std::find(types.begin(), types.end(), type) == types.end()) types.emplace_back(type);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  if (types.empty()) return Error::invalid("--types needs at least one resource type");
  return types;
}

Result<BulkExportOutcome> export_ndjson(
    storage::ResourceStore& store, const BulkExportOptions& options,
    const std::function<void(std::string_view, std::int64_t)>& progress) {
  for (const auto& type : options.types) {
    if (!fhir::is_resource_type(type)) {
      return Error::invalid("'" + type + "' is not an R4 resource type");
    }
  }
  if (auto s = prepare_directory(options.directory); !s) return s.take_error();
  auto earlier = earlier_manifest(options);
  if (!earlier) return earlier.take_error();
  Manifest manifest;
  BulkExportOutcome outcome;
  storage::ScanQuery query;
  query.types = options.types;
  query.updated_from_ms = options.since_ms;
  if (*earlier) {
    manifest = std::move(**earlier);
    outcome.resumed_types = manifest.output.size();
    if (manifest.complete) return outcome;
    for (const auto& t : manifest.output) query.skip_types.push_back(t.type);
  } else {
    const auto now = options.clock_ms ? options.clock_ms() : system_clock_ms();
    manifest.transaction_time = storage::format_instant(now);
  }
  // Named at once, so an interrupted run leaves a directory that a rerun recognises.
  const fs::path manifest_file = options.directory / kExportManifest;
  if (auto s = write_private_file(manifest_file, manifest_text(manifest, options)); !s) {
    return s.take_error();
  }
  TypeWriter writer(options, manifest, outcome, progress);
  auto seq = store.scan_current(
      query, [&](const storage::StoredVersion& v) -> Status { return writer.visit(v); });
  if (!seq) return seq.take_error();
  if (auto s = writer.finish_type(); !s) return s.take_error();
  remove_stale_parts(options.directory);
  manifest.complete = true;
  manifest.snapshot_seq = *seq;
  outcome.snapshot_seq = *seq;
  if (auto s = write_private_file(manifest_file, manifest_text(manifest, options)); !s) {
    return s.take_error();
  }
  return outcome;
}

namespace {

Status apply_export_option(BulkExportCommand& command, std::string_view option,
                           std::string_view value) {
  if (option == "--ndjson") {
    command.options.directory = fs::path(value);
  } else if (option == "--config") {
    command.config_file = std::string(value);
  } else if (option == "--types") {
    auto types = parse_type_list(value);
    if (!types) return types.take_error();
    command.options.types = std::move(*types);
  } else if (option == "--since") {
    auto range = fhir::parse_time_range(value);
    if (!range) return Error::invalid("--since: '" + std::string(value) + "' is not a date");
    command.options.since_ms = range->begin_ms;
    command.since_text = std::string(value);
  } else {
    return Error::invalid("unknown option " + std::string(option));
  }
  return ok_status();
}

// DCM 110106 Export: the operator, the gateway, the directory as destination media, and
// what was exported (counts only: the patients are too many to name).
AuditEventSpec export_event(const AuditSource& source, const BulkExportCommand& command,
                            const Result<BulkExportOutcome>& outcome) {
  AuditEventSpec spec;
  spec.type = {std::string(codes::kDicom), "110106", "Export"};
  spec.action = 'R';
  spec.outcome = outcome ? 0 : 8;
  if (!outcome) spec.outcome_description = outcome.error().message;
  AuditAgent who;
  who.type = {std::string(codes::kSecurityRole), "humanuser", "human user"};
  who.who_identifier = operator_name();
  who.requestor = true;
  spec.agents.push_back(std::move(who));
  spec.agents.push_back(gateway_agent(source));
  AuditAgent media;
  media.type = {std::string(codes::kDicom), "110154", "Destination Media"};
  media.who_identifier = fs::absolute(command.options.directory).string();
  spec.agents.push_back(std::move(media));
  AuditEntity what;
  what.type = {std::string(codes::kEntityType), "2", "System Object"};
  what.role = {std::string(codes::kObjectRole), "24", "Query"};
  std::string description = "bulk export (NDJSON)";
  if (!command.options.types.empty()) {
    description += " of";
    for (const auto& t : command.options.types) description += " " + t;
  }
  if (!command.since_text.empty()) description += " since " + command.since_text;
  if (outcome) description += ": " + std::to_string(outcome->resources) + " resources";
  what.description = std::move(description);
  spec.entities.push_back(std::move(what));
  return spec;
}

void record_export(const GatewayConfig& config, const BulkExportCommand& command,
                   const Result<BulkExportOutcome>& outcome, std::ostream& err) {
  auto audits = storage::AuditStore::open(audit_store_config(config));
  Status recorded = audits ? ok_status() : Status(audits.error());
  if (audits) {
    const std::int64_t now = system_clock_ms();
    std::vector<storage::AuditRecord> one;
    one.push_back(self_audit_record({config.node_name, ""},
                                    export_event({config.node_name, ""}, command, outcome), now));
    if (auto ids = (*audits)->append_and_wait(std::move(one)); !ids) recorded = ids.error();
    (*audits)->close();
  }
  if (!recorded) {
    err << "warning: the export could not be recorded in the audit trail (audit.db): "
        << recorded.error().message << "\n";
  }
}

}  // namespace

Result<BulkExportCommand> parse_bulk_export_command(std::span<const std::string_view> words) {
  BulkExportCommand command;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = words[i];
    if (!word.starts_with("--"))
      return Error::invalid("unexpected argument '" + std::string(word) + "'");
    if (i + 1 == words.size()) return Error::invalid(std::string(word) + " needs a value");
    if (auto s = apply_export_option(command, word, words[++i]); !s) return s.take_error();
  }
  if (command.config_file.empty()) return Error::invalid("--config FILE is required");
  if (command.options.directory.empty()) return Error::invalid("--ndjson DIR is required");
  return command;
}

int run_bulk_export_command(const BulkExportCommand& command, const GatewayConfig& config,
                            std::ostream& out, std::ostream& err) {
  std::error_code ec;
  if (!fs::exists(config.data_dir / "clinical.db", ec)) {
    err << "no clinical database in " << config.data_dir.string()
        << " (is data_dir right, and has the gateway run?)\n";
    return 1;
  }
  auto store = storage::ResourceStore::open(store_config(config));
  if (!store) {
    err << "cannot open the clinical store: " << store.error().message << "\n";
    return 1;
  }
  BulkExportOptions options = command.options;
  options.node_name = config.node_name;
  const auto started = std::chrono::steady_clock::now();
  auto outcome = export_ndjson(**store, options, [&](std::string_view type, std::int64_t n) {
    out << "exported " << n << " " << type << "\n";
  });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  (*store)->close();
  record_export(config, command, outcome, err);
  if (!outcome) {
    err << "export failed: " << outcome.error().message << " (rerun the same command to resume)\n";
    return 1;
  }
  if (outcome->resumed_types > 0) {
    out << outcome->resumed_types << " types were complete from an earlier run\n";
  }
  out << "done: " << outcome->resources << " resources in " << outcome->written.size() << " files, "
      << static_cast<std::int64_t>(seconds * 1000) << " ms";
  if (seconds > 0 && outcome->resources > 0) {
    out << " (" << static_cast<std::int64_t>(static_cast<double>(outcome->resources) / seconds)
        << " resources/s)";
  }
  out << "; manifest " << (options.directory / kExportManifest).string() << "\n";
  return 0;
}

}  // namespace cg::gateway
