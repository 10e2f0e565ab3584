#include "gateway/bulk_import.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "gateway/audit_emitter.hpp"
#include "gateway/audit_upkeep.hpp"
#include "gateway/bulk_export.hpp"
#include "gateway/daemon.hpp"
#include "gateway/identity_commands.hpp"
#include "gateway/rest_audit.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/primitives.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/write_ops.hpp"
#include "storage/audit_store.hpp"
#include "storage/sqlite.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::size_t kReadChunk = 1 << 20;
constexpr auto kProgressInterval = std::chrono::seconds(1);
constexpr std::string_view kWriterCachePragma = "PRAGMA cache_size = -32768";  // 32 MB

// Reads a file line by line from a byte offset, in chunks, never holding more than one
// line of at most `max_line` bytes (a longer one is reported as such, its bytes dropped).
class LineReader {
 public:
  static Result<LineReader> open(const fs::path& file, std::int64_t offset, std::int64_t line,
                                 std::size_t max_line) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return Error::unavailable("cannot open " + file.string() + ": " + std::strerror(errno));
    if (offset > 0 && ::lseek(fd, offset, SEEK_SET) != offset) {
      ::close(fd);
      return Error::unavailable("cannot seek in " + file.string());
    }
    return LineReader(fd, offset, line, max_line);
  }
  LineReader(LineReader&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)),
        buffer_(std::move(o.buffer_)),
        pos_(o.pos_),
        end_(o.end_),
        offset_(o.offset_),
        line_(o.line_),
        max_line_(o.max_line_) {}
  LineReader& operator=(LineReader&&) = delete;
  ~LineReader() {
    if (fd_ >= 0) ::close(fd_);
  }

  // The next line without its line end; false at the end of the file.
  Result<bool> next(std::string& line, bool& too_long) {
    line.clear();
    too_long = false;
    bool any = false;
    while (true) {
      if (pos_ == end_) {
        auto filled = fill();
        if (!filled) return filled.take_error();
        if (!*filled) break;
      }
      any = true;
      const char* begin = buffer_.data() + pos_;
      const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', end_ - pos_));
      const std::size_t take = nl ? static_cast<std::size_t>(nl - begin) : end_ - pos_;
      if (!too_long && line.size() + take > max_line_) {
        too_long = true;
        line.clear();
      }
      if (!too_long) line.append(begin, take);
      pos_ += take;
      offset_ += static_cast<std::int64_t>(take);
      if (nl) {
        ++pos_;
        ++offset_;
        break;
      }
    }
    if (!any) return false;
    ++line_;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }
  std::int64_t offset() const { return offset_; }  // just after the last line returned
  std::int64_t line() const { return line_; }      // number of the last line returned

 private:
  LineReader(int fd, std::int64_t offset, std::int64_t line, std::size_t max_line)
      : fd_(fd), buffer_(kReadChunk), offset_(offset), line_(line), max_line_(max_line) {}

  Result<bool> fill() {
    while (true) {
      const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::unavailable(std::string("cannot read: ") + std::strerror(errno));
      pos_ = 0;
      end_ = static_cast<std::size_t>(n);
      return n > 0;
    }
  }

  int fd_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::int64_t offset_;
  std::int64_t line_;
  std::size_t max_line_;
};

// meta.versionId and meta.lastUpdated are the store's to set; without them two versions
// with the same content compare equal.
void drop_version_meta(json::object& resource) {
  auto* meta = resource.if_contains("meta");
  if (meta == nullptr || !meta->is_object()) return;
  meta->as_object().erase("versionId");
  meta->as_object().erase("lastUpdated");
  if (meta->as_object().empty()) resource.erase("meta");
}

bool same_content(const std::string& stored_json, const json::object& incoming) {
  auto stored = fhir::parse_json(stored_json);
  if (!stored || !stored->is_object()) return false;
  drop_version_meta(stored->as_object());
  return stored->as_object() == incoming;
}

// One checked line, ready for the writer.
struct Item {
  std::string type;
  std::string id;
  json::object resource;  // without meta.versionId / lastUpdated
  // nullopt when the line looked unchanged as it was checked: the writer computes the
  // index only if it finds the content changed after all.
  fhir::PrecomputedIndex index;
};

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

// Indexing is most of an import's work; a line whose content is stored already (a replay,
// a rerun with --restart) skips it. Read through the reader pool: the writer decides again.
bool stored_already(storage::ResourceStore& store, const Item& item) {
  auto head = store.head(item.type, item.id);
  return head && *head && !(*head)->deleted && same_content((*head)->json, item.resource);
}

Result<Item> check_line(std::string_view text, storage::ResourceStore& store) {
  auto resource = fhir::parse_checked_resource(text, fhir::Format::kJson, "");
  if (!resource) return resource.take_error();
  const auto* id = resource->if_contains("id");
  if (id == nullptr || !id->is_string()) {
    return Error::invalid("the resource has no id (import keeps ids: every line needs one)", "id");
  }
  if (!fhir::is_valid_id(id->get_string())) {
    return Error::invalid("'" + std::string(id->get_string()) + "' is not a valid FHIR id", "id");
  }
  Item item;
  item.type = std::string(resource->at("resourceType").get_string());
  // As over the FHIR API, AuditEvents go to the audit trail (audit.db), not clinical.db.
  if (item.type == "AuditEvent") {
    return Error::invalid(
        "AuditEvents belong to the audit trail, not the clinical store: not "
        "imported",
        "resourceType");
  }
  item.id = std::string(id->get_string());
  drop_version_meta(*resource);
  item.resource = std::move(*resource);
  if (!stored_already(store, item)) item.index = fhir::index_for(item.resource);
  return item;
}

// A batch on its way through the writer; the job fills in the results.
struct Batch {
  std::string file;
  std::int64_t first_line = 0;
  std::int64_t last_line = 0;
  std::int64_t end_offset = 0;  // where the next batch starts reading
  std::vector<Item> items;
  std::vector<storage::StoredVersion> written;
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t unchanged = 0;
};

Status write_batch(storage::WriteContext& ctx, Batch& batch, const ImportAuditHook& audit) {
  batch.written.clear();
  batch.created = batch.updated = batch.unchanged = 0;
  for (auto& item : batch.items) {
    auto head = ctx.head(item.type, item.id);
    if (!head) return head.take_error();
    if (*head && !(*head)->deleted && same_content((*head)->json, item.resource)) {
      ++batch.unchanged;
      continue;
    }
    auto out = fhir::apply_update(ctx, item.type, item.id, std::move(item.resource), std::nullopt,
                                  std::move(item.index));  // nullopt: indexed here
    if (!out) return out.take_error();
    ++(out->status == 201 ? batch.created : batch.updated);
    batch.written.push_back(std::move(*out->stored));
  }
  if (batch.written.empty() || !audit) return ok_status();
  ImportedBatch what{batch.file, batch.first_line, batch.last_line, batch.written};
  return audit(ctx, what);
}

// import-progress.json of one directory: per file name, the byte offset and line number
// after the last committed batch, and the file's size then (a changed file starts over).
class ProgressFile {
 public:
  explicit ProgressFile(fs::path file) : file_(std::move(file)) {}

  void load() {
    std::ifstream in(file_, std::ios::binary);
    if (!in) return;
    std::ostringstream text;
    text << in.rdbuf();
    auto parsed = fhir::parse_json(text.str());
    if (parsed && parsed->is_object()) entries_ = std::move(parsed->as_object());
  }

  struct Position {
    std::int64_t offset = 0;
    std::int64_t line = 0;
  };
  Position position(const std::string& name, std::int64_t size) const {
    const auto* e = entries_.if_contains(name);
    if (e == nullptr || !e->is_object()) return {};
    const auto& o = e->get_object();
    const auto number = [&](std::string_view key) -> std::int64_t {
      const auto* v = o.if_contains(key);
      return v != nullptr && v->is_int64() ? v->get_int64() : -1;
    };
    if (number("size") != size || number("offset") < 0 || number("offset") > size) return {};
    return {number("offset"), std::max<std::int64_t>(number("line"), 0)};
  }

  void record(const std::string& name, std::int64_t size, Position at) {
    entries_[name] = json::object{{"offset", at.offset}, {"line", at.line}, {"size", size}};
  }
  Status save() const {
    return write_private_file(file_, fhir::serialize_json_pretty(entries_) + "\n");
  }

 private:
  fs::path file_;
  json::object entries_;
};

// Imports one file; `counts` accumulates.
class FileImport {
 public:
  FileImport(storage::ResourceStore& store, const BulkImportOptions& options,
             const ImportAuditHook& audit, const ImportEvents& events, ImportCounts& counts)
      : store_(store), options_(options), audit_(audit), events_(events), counts_(counts) {}

  Status run(const fs::path& file) {
    std::error_code ec;
    const auto size = static_cast<std::int64_t>(fs::file_size(file, ec));
    if (ec) return Error::unavailable("cannot read " + file.string() + ": " + ec.message());
    const std::string name = file.filename().string();
    ProgressFile progress(file.parent_path() / kImportProgress);
    if (options_.resume) progress.load();
    const auto start = progress.position(name, size);
    counts_.resumed_lines += static_cast<std::size_t>(start.line);
    auto reader = LineReader::open(file, start.offset, start.line, options_.max_line_bytes);
    if (!reader) return reader.take_error();
    const auto save = [&](ProgressFile::Position at) {
      progress.record(name, size, at);
      if (auto s = progress.save(); !s && !progress_warned_) {
        progress_warned_ = true;
        if (events_.problem) {
          events_.problem(
              {file.string(), 0,
               "progress not recorded (" + s.error().message + "); a rerun starts this file over"});
        }
      }
      last_save_ = std::chrono::steady_clock::now();
    };
    last_save_ = std::chrono::steady_clock::now();
    const auto committed = [&](const Batch& b) {
      if (std::chrono::steady_clock::now() - last_save_ >= kProgressInterval) {
        save({b.end_offset, b.last_line});
      }
    };
    std::vector<RawLine> lines;
    bool more = true;
    while (more) {
      const std::int64_t first_line = reader->line() + 1;
      auto read = read_lines(*reader, lines);
      if (!read) return read.take_error();
      more = *read;
      auto batch = check_lines(file, lines);
      batch->first_line = first_line;
      batch->last_line = reader->line();
      batch->end_offset = reader->offset();
      if (auto s = submit(std::move(batch), committed); !s) return s;
    }
    if (auto s = settle(committed); !s) return s;
    save({reader->offset(), reader->line()});
    return ok_status();
  }

 private:
  struct RawLine {
    std::int64_t number = 0;
    std::string text;
    bool too_long = false;
  };

  // Up to options_.batch non-blank lines; false when the file has no more.
  Result<bool> read_lines(LineReader& reader, std::vector<RawLine>& lines) {
    lines.clear();
    RawLine raw;
    while (lines.size() < options_.batch) {
      auto more = reader.next(raw.text, raw.too_long);
      if (!more) return more.take_error();
      if (!*more) return false;
      raw.number = reader.line();
      if (raw.number == 1 && raw.text.starts_with("\xEF\xBB\xBF")) raw.text.erase(0, 3);
      if (!raw.too_long && blank(raw.text)) continue;
      lines.push_back(std::move(raw));
      raw = RawLine();
    }
    return true;
  }

  // Checks the lines on up to options_.check_threads threads, then reports the bad ones
  // in line order and keeps the good ones for the writer.
  std::shared_ptr<Batch> check_lines(const fs::path& file, const std::vector<RawLine>& lines) {
    std::vector<std::optional<Result<Item>>> checked(lines.size());
    const auto check_range = [&](std::size_t from, std::size_t to) {
      for (std::size_t i = from; i < to; ++i) {
        const RawLine& raw = lines[i];
        checked[i].emplace(raw.too_long ? Result<Item>(Error::too_large(
                                              "the line is longer than " +
                                              std::to_string(options_.max_line_bytes) + " bytes"))
                                        : check_line(raw.text, store_));
      }
    };
    const std::size_t threads = std::min(check_threads(), std::max<std::size_t>(lines.size(), 1));
    const std::size_t share = (lines.size() + threads - 1) / threads;
    std::vector<std::thread> helpers;
    for (std::size_t t = 1; t < threads; ++t) {
      helpers.emplace_back(check_range, std::min(t * share, lines.size()),
                           std::min((t + 1) * share, lines.size()));
    }
    check_range(0, std::min(share, lines.size()));
    for (auto& h : helpers) h.join();

    auto batch = std::make_shared<Batch>();
    batch->file = file.string();
    batch->items.reserve(lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto& item = *checked[i];
      if (item) {
        batch->items.push_back(std::move(*item));
        continue;
      }
      ++counts_.rejected;
      if (events_.problem) events_.problem({file.string(), lines[i].number, item.error().message});
    }
    return batch;
  }

  std::size_t check_threads() const {
    if (options_.check_threads > 0) return options_.check_threads;
    return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
  }

  // Waits for the batch in flight, then queues `next` (which may be empty of items: it
  // still carries the progress of its rejected or blank lines).
  template <class Committed>
  Status submit(std::shared_ptr<Batch> next, const Committed& committed) {
    if (auto s = settle(committed); !s) return s;
    auto done = std::make_shared<std::promise<Status>>();
    in_flight_ = done->get_future();
    in_flight_batch_ = next;
    const ImportAuditHook& audit = audit_;
    store_.submit(
        [next, &audit](storage::WriteContext& ctx) { return write_batch(ctx, *next, audit); },
        [done](Status s) { done->set_value(std::move(s)); });
    return ok_status();
  }

  template <class Committed>
  Status settle(const Committed& committed) {
    if (!in_flight_batch_) return ok_status();
    Status s = in_flight_.get();
    auto batch = std::move(in_flight_batch_);
    if (!s) return s;
    counts_.created += batch->created;
    counts_.updated += batch->updated;
    counts_.unchanged += batch->unchanged;
    committed(*batch);
    return ok_status();
  }

  storage::ResourceStore& store_;
  const BulkImportOptions& options_;
  const ImportAuditHook& audit_;
  const ImportEvents& events_;
  ImportCounts& counts_;
  std::future<Status> in_flight_;
  std::shared_ptr<Batch> in_flight_batch_;
  std::chrono::steady_clock::time_point last_save_;
  bool progress_warned_ = false;
};

}  // namespace

Result<std::vector<fs::path>> ndjson_files(std::span<const fs::path> paths) {
  std::vector<fs::path> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.is_regular_file(ec) && entry.path().extension() == ".ndjson") {
          found.push_back(entry.path());
        }
      }
      if (ec) return Error::unavailable("cannot list " + path.string() + ": " + ec.message());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      return Error::invalid(path.string() + " is neither a file nor a directory");
    }
  }
  if (files.empty()) return Error::invalid("no .ndjson files to import");
  return files;
}

Result<ImportCounts> import_ndjson(storage::ResourceStore& store, const BulkImportOptions& options,
                                   const ImportAuditHook& audit, const ImportEvents& events) {
  // A bulk load touches every index B-tree with every batch: a bigger page cache on this
  // process's write connection (the daemon's own is not affected) saves most page reads.
  if (auto s = store.write(
          [](storage::WriteContext& ctx) { return ctx.connection().exec(kWriterCachePragma); });
      !s) {
    return s.take_error();
  }
  ImportCounts total;
  for (const auto& file : options.files) {
    ImportCounts counts;
    FileImport run(store, options, audit, events, counts);
    Status s = run.run(file);
    total.created += counts.created;
    total.updated += counts.updated;
    total.unchanged += counts.unchanged;
    total.rejected += counts.rejected;
    total.resumed_lines += counts.resumed_lines;
    if (!s) return s.take_error();
    if (events.file_done) events.file_done(file, counts);
  }
  return total;
}

AuditEventSpec import_event(const AuditSource& source, std::string_view operator_name,
                            const ImportedBatch& batch) {
  AuditEventSpec spec;
  spec.type = {std::string(codes::kDicom), "110107", "Import"};
  spec.action = 'C';
  AuditAgent who;
  who.type = {std::string(codes::kSecurityRole), "humanuser", "human user"};
  who.who_identifier = std::string(operator_name);
  who.requestor = true;
  spec.agents.push_back(std::move(who));
  spec.agents.push_back(gateway_agent(source));
  AuditAgent media;
  media.type = {std::string(codes::kDicom), "110155", "Source Media"};
  media.who_identifier = fs::absolute(batch.file).string();
  media.who_display = "lines " + std::to_string(batch.first_line) + "-" +
                      std::to_string(batch.last_line) + ": " +
                      std::to_string(batch.written.size()) + " resources written";
  spec.agents.push_back(std::move(media));
  std::vector<std::string> patients;
  const auto add_patient = [&](std::string reference) {
    if (patients.size() >= kMaxAuditedPatients) return;
    if (std::find(patients.begin(), patients.end(), reference) == patients.end()) {
      patients.push_back(std::move(reference));
    }
  };
  for (const auto& v : batch.written) {
    if (v.type == "Patient") add_patient("Patient/" + v.id);
    for (auto& p : patients_mentioned(v.json, kMaxAuditedPatients).references) add_patient(p);
  }
  for (auto& p : patients) spec.entities.push_back(patient_entity(std::move(p)));
  for (const auto& v : batch.written) {
    spec.entities.push_back(
        resource_entity(v.type + "/" + v.id + "/_history/" + std::to_string(v.version)));
  }
  return spec;
}

Result<BulkImportCommand> parse_bulk_import_command(std::span<const std::string_view> words) {
  BulkImportCommand command;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = words[i];
    if (word == "--restart") {
      command.options.resume = false;
    } else if (!word.starts_with("--")) {
      command.paths.emplace_back(word);
    } else if (i + 1 == words.size()) {
      return Error::invalid(std::string(word) + " needs a value");
    } else if (word == "--config") {
      command.config_file = std::string(words[++i]);
    } else if (word == "--batch") {
      const std::string value(words[++i]);
      const auto n = value.find_first_not_of("0123456789") == std::string::npos && value.size() < 6
                         ? std::stoul(value)
                         : 0;
      if (n < 1 || n > 10000) return Error::invalid("--batch takes 1 to 10000 resources");
      command.options.batch = n;
    } else {
      return Error::invalid("unknown option " + std::string(word));
    }
  }
  if (command.config_file.empty()) return Error::invalid("--config FILE is required");
  if (command.paths.empty()) return Error::invalid("which directory or files? give at least one");
  return command;
}

int run_bulk_import_command(const BulkImportCommand& command, const GatewayConfig& config,
                            std::ostream& out, std::ostream& err) {
  auto files = ndjson_files(command.paths);
  if (!files) {
    err << "import: " << files.error().message << "\n";
    return 2;
  }
  auto store = storage::ResourceStore::open(store_config(config));
  if (!store) {
    err << "cannot open the clinical store: " << store.error().message << "\n";
    return 1;
  }
  // Each batch's record is staged with the batch (clinical.db's outbox) and moved to
  // audit.db by the emitter, as for any write.
  auto audits = storage::AuditStore::open(audit_store_config(config));
  if (!audits) {
    err << "nothing imported: cannot open the audit trail (audit.db): " << audits.error().message
        << "\n";
    (*store)->close();
    return 1;
  }
  auto emitter =
      std::make_unique<AuditEmitter>(**audits, store->get(), audit_emitter_config(config));
  const std::string who = operator_name();
  const ImportAuditHook audit = [&](storage::WriteContext& ctx, const ImportedBatch& batch) {
    return emitter->stage(ctx, import_event(emitter->source(), who, batch));
  };
  BulkImportOptions options = command.options;
  options.files = std::move(*files);
  constexpr std::size_t kShownProblems = 100;
  std::size_t problems = 0;
  ImportEvents events;
  events.problem = [&](const ImportProblem& p) {
    if (++problems > kShownProblems) return;
    err << p.file;
    if (p.line > 0) err << ":" << p.line;
    err << ": " << p.message << "\n";
  };
  events.file_done = [&](const fs::path& file, const ImportCounts& c) {
    out << file.string() << ": " << c.created << " created, " << c.updated << " updated, "
        << c.unchanged << " unchanged, " << c.rejected << " rejected";
    if (c.resumed_lines > 0) out << " (" << c.resumed_lines << " lines done earlier)";
    out << "\n";
  };
  const auto started = std::chrono::steady_clock::now();
  auto counts = import_ndjson(**store, options, audit, events);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  emitter->stop();
  emitter.reset();
  (*audits)->close();
  (*store)->close();
  if (problems > kShownProblems) err << "… and " << problems - kShownProblems << " more\n";
  if (!counts) {
    err << "import stopped: " << counts.error().message
        << " (what was committed stays; rerun the same command to resume)\n";
    return 1;
  }
  const std::size_t lines = counts->lines();
  out << "done: " << lines << " lines in " << static_cast<std::int64_t>(seconds * 1000) << " ms";
  if (seconds > 0 && lines > 0) {
    out << " (" << static_cast<std::int64_t>(static_cast<double>(lines) / seconds) << " lines/s)";
  }
  out << ": " << counts->created << " created, " << counts->updated << " updated, "
      << counts->unchanged << " unchanged, " << counts->rejected << " rejected\n";
  return counts->rejected > 0 ? 1 : 0;
}

}  // namespace cg::gateway
