#include "storage/message_archive.hpp"

#include <array>
#include <limits>
#include <mutex>
#include <span>

#include "storage/archive_schema.hpp"
#include "storage/database_file.hpp"
#include "storage/migrations.hpp"
#include "storage/reader_pool.hpp"

namespace cg::storage {
namespace {

constexpr std::array<std::string_view, 2> kArchiveSteps = {kArchiveV1, kArchiveV2};

constexpr std::string_view kColumns =
    "id, received_at, sending_application, sending_facility, control_id, message_type, peer, "
    "raw, ack, ack_code, outcome";

ArchivedMessage read_row(const Statement& stmt) {
  ArchivedMessage m;
  m.id = stmt.column_int64(0);
  m.received_at_ms = stmt.column_int64(1);
  m.key = {stmt.column_text(2), stmt.column_text(3), stmt.column_text(4)};
  m.message_type = stmt.column_text(5);
  m.peer = stmt.column_text(6);
  m.raw = stmt.column_blob(7);
  m.ack = stmt.column_blob(8);
  m.ack_code = stmt.column_text(9);
  m.outcome = stmt.column_text(10);
  return m;
}

// Every row `stmt` yields, as messages without their reruns.
Result<std::vector<ArchivedMessage>> read_rows(Statement& stmt) {
  std::vector<ArchivedMessage> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) return out;
    out.push_back(read_row(stmt));
  }
}

Status load_reprocessings(Connection& conn, ArchivedMessage& m) {
  auto stmt = conn.statement(
      "SELECT id, message_id, reprocessed_at, ack, ack_code, outcome FROM reprocessings"
      " WHERE message_id = ? ORDER BY id");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, m.id);
  m.reprocessings.clear();
  for (;;) {
    auto row = (*stmt)->step();
    if (!row) return row.take_error();
    if (!*row) return ok_status();
    const Statement& r = **stmt;
    m.reprocessings.push_back({r.column_int64(0), r.column_int64(1), r.column_int64(2),
                               r.column_blob(3), r.column_text(4), r.column_text(5)});
  }
}

// Every message `stmt` (bound, selecting kColumns) yields, each with its reruns. Read
// after the rows, not in one snapshot: message rows never change and reruns are only
// appended, so the two cannot disagree.
Result<std::vector<ArchivedMessage>> read_messages(Connection& conn, Statement& stmt) {
  auto messages = read_rows(stmt);
  if (!messages) return messages.take_error();
  for (auto& m : *messages) {
    if (auto s = load_reprocessings(conn, m); !s) return s.take_error();
  }
  return messages;
}

Result<std::optional<ArchivedMessage>> first_of(Result<std::vector<ArchivedMessage>> rows) {
  if (!rows) return rows.take_error();
  if (rows->empty()) return std::optional<ArchivedMessage>();
  return std::optional<ArchivedMessage>(std::move(rows->front()));
}

Result<std::optional<ArchivedMessage>> find_by_key(Connection& conn, const MessageKey& key) {
  auto stmt = conn.statement("SELECT " + std::string(kColumns) +
                             " FROM messages WHERE sending_application = ? AND"
                             " sending_facility = ? AND control_id = ?");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, std::string_view(key.sending_application));
  (*stmt)->bind(2, std::string_view(key.sending_facility));
  (*stmt)->bind(3, std::string_view(key.control_id));
  return first_of(read_messages(conn, **stmt));
}

// Inserts unless the key exists; the stored row either way.
Result<ArchivedMessage> insert(Connection& conn, ArchivedMessage m) {
  auto stmt = conn.statement(
      "INSERT INTO messages (received_at, sending_application, sending_facility, control_id,"
      " message_type, peer, raw, ack, ack_code, outcome) VALUES (?,?,?,?,?,?,?,?,?,?)"
      " ON CONFLICT (sending_application, sending_facility, control_id) DO NOTHING");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, m.received_at_ms);
  (*stmt)->bind(2, std::string_view(m.key.sending_application));
  (*stmt)->bind(3, std::string_view(m.key.sending_facility));
  (*stmt)->bind(4, std::string_view(m.key.control_id));
  (*stmt)->bind(5, std::string_view(m.message_type));
  (*stmt)->bind(6, std::string_view(m.peer));
  (*stmt)->bind_blob(7, m.raw);
  (*stmt)->bind_blob(8, m.ack);
  (*stmt)->bind(9, std::string_view(m.ack_code));
  (*stmt)->bind(10, std::string_view(m.outcome));
  if (auto s = (*stmt)->run(); !s) return s.take_error();
  auto stored = find_by_key(conn, m.key);
  if (!stored) return stored.take_error();
  if (!*stored) return Error::internal("archived message not found after insert");
  return std::move(**stored);
}

// Appends a rerun to an existing message; kNotFound when there is none. The check and the
// insert run in the same write transaction, so the message cannot vanish in between.
Result<Reprocessing> insert_reprocessing(Connection& conn, Reprocessing run) {
  auto exists = conn.statement("SELECT 1 FROM messages WHERE id = ?");
  if (!exists) return exists.take_error();
  (*exists)->bind(1, run.message_id);
  auto row = (*exists)->step();
  if (!row) return row.take_error();
  if (!*row) return Error::not_found("no archived message " + std::to_string(run.message_id));
  auto stmt = conn.statement(
      "INSERT INTO reprocessings (message_id, reprocessed_at, ack, ack_code, outcome)"
      " VALUES (?,?,?,?,?)");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, run.message_id);
  (*stmt)->bind(2, run.at_ms);
  (*stmt)->bind_blob(3, run.ack);
  (*stmt)->bind(4, std::string_view(run.ack_code));
  (*stmt)->bind(5, std::string_view(run.outcome));
  if (auto s = (*stmt)->run(); !s) return s.take_error();
  run.id = conn.last_insert_rowid();
  return run;
}

// The current answer's code is the latest rerun's, else the message's own (current_answer()).
constexpr std::string_view kListSql =
    " FROM messages m WHERE m.id < ?1 AND m.received_at >= ?2 AND (?3 = '' OR coalesce("
    "(SELECT r.ack_code FROM reprocessings r WHERE r.message_id = m.id ORDER BY r.id DESC"
    " LIMIT 1), m.ack_code) = ?3) ORDER BY m.id DESC LIMIT ?4";

// Inserts `m` as a new message; kConflict (nothing inserted) when its key is archived. The
// check and the insert run in the writer's transaction, which no other write interleaves.
Result<ArchivedMessage> insert_new(Connection& conn, ArchivedMessage m) {
  auto earlier = find_by_key(conn, m.key);
  if (!earlier) return earlier.take_error();
  if (*earlier) return Error::conflict("the message is archived already");
  return insert(conn, std::move(m));
}

// The archive's tables in clinical.db: written by the clinical store's writer (in a job of
// their own, or inside the job of the message they archive), read by reader connections of
// their own.
class ClinicalMessageArchive final : public MessageArchive {
 public:
  ClinicalMessageArchive(ResourceStore& store, ArchiveConfig config,
                         std::vector<Connection> readers)
      : store_(store), config_(std::move(config)), readers_(std::move(readers)) {}
  ~ClinicalMessageArchive() override { close(); }

  Result<std::optional<ArchivedMessage>> find(const MessageKey& key) override {
    auto conn = readers_.borrow();
    if (!conn) return conn.take_error();
    return find_by_key(**conn, key);
  }

  Result<ArchivedMessage> record(ArchivedMessage message) override {
    return write<ArchivedMessage>(
        [m = std::move(message)](Connection& conn) mutable { return insert(conn, std::move(m)); });
  }

  bool records_in_jobs() const override { return true; }

  Result<ArchivedMessage> record_in(WriteContext& ctx, ArchivedMessage message) override {
    return insert_new(ctx.connection(), std::move(message));
  }

  Result<Reprocessing> record_reprocessing(Reprocessing run) override {
    return write<Reprocessing>([run = std::move(run)](Connection& conn) mutable {
      return insert_reprocessing(conn, std::move(run));
    });
  }

  Result<std::optional<ArchivedMessage>> get(std::int64_t id) override {
    auto conn = readers_.borrow();
    if (!conn) return conn.take_error();
    auto stmt =
        (*conn)->statement("SELECT " + std::string(kColumns) + " FROM messages WHERE id = ?");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, id);
    return first_of(read_messages(**conn, **stmt));
  }

  Result<std::vector<ArchivedMessage>> list(const ArchiveQuery& query) override {
    auto conn = readers_.borrow();
    if (!conn) return conn.take_error();
    auto stmt = (*conn)->statement("SELECT " + std::string(kColumns) + std::string(kListSql));
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1,
                  query.before_id > 0 ? query.before_id : std::numeric_limits<std::int64_t>::max());
    (*stmt)->bind(2, query.since_ms);
    (*stmt)->bind(3, std::string_view(query.ack_code));
    (*stmt)->bind(4, static_cast<std::int64_t>(query.limit));
    return read_messages(**conn, **stmt);
  }

  void close() override {
    std::call_once(closed_, [this] { readers_.close(); });
  }

 private:
  // Runs `fn` as one job of the store's writer and waits until it is durable.
  template <class T, class Fn>
  Result<T> write(Fn fn) {
    std::optional<Result<T>> result;
    Status status = store_.write([&](WriteContext& ctx) -> Status {
      result = fn(ctx.connection());
      return result->ok() ? ok_status() : Status(result->error());
    });
    // The row is durable only once the batch committed: report the commit's error first.
    if (!status) return status.take_error();
    return std::move(*result);
  }

  ResourceStore& store_;
  ArchiveConfig config_;
  ReaderPool readers_;
  std::once_flag closed_;
};

// An archived message with its id and reruns as they were (the import).
Status insert_archived(Connection& conn, const ArchivedMessage& m) {
  auto stmt = conn.statement(
      "INSERT INTO messages (id, received_at, sending_application, sending_facility,"
      " control_id, message_type, peer, raw, ack, ack_code, outcome)"
      " VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, m.id);
  (*stmt)->bind(2, m.received_at_ms);
  (*stmt)->bind(3, std::string_view(m.key.sending_application));
  (*stmt)->bind(4, std::string_view(m.key.sending_facility));
  (*stmt)->bind(5, std::string_view(m.key.control_id));
  (*stmt)->bind(6, std::string_view(m.message_type));
  (*stmt)->bind(7, std::string_view(m.peer));
  (*stmt)->bind_blob(8, m.raw);
  (*stmt)->bind_blob(9, m.ack);
  (*stmt)->bind(10, std::string_view(m.ack_code));
  (*stmt)->bind(11, std::string_view(m.outcome));
  if (auto s = (*stmt)->run(); !s) return s;
  for (const Reprocessing& run : m.reprocessings) {
    if (auto added = insert_reprocessing(conn, run); !added) return added.take_error();
  }
  return ok_status();
}

// Copies the messages (ids kept) and reruns of a messages.db of an earlier build into the
// archive's tables in clinical.db, in batches of one store job each, then renames the file
// so it is imported once. Only into an empty archive: ids must not collide.
Status import_messages_db(ResourceStore& store, Connection& readers_conn,
                          const std::filesystem::path& file) {
  std::error_code ec;
  if (file.empty() || !std::filesystem::exists(file, ec)) return ok_status();
  auto existing = readers_conn.query_int64("SELECT count(*) FROM messages");
  if (!existing) return existing.take_error();
  if (*existing > 0) {
    return Error::conflict(file.string() +
                           " is still there but the archive in clinical.db is "
                           "not empty: move it away (it was imported before) or remove it");
  }
  auto old = open_writer(file, 0);
  if (!old) return old.take_error();
  if (auto migrated = apply_migrations(*old, archive_migrations()); !migrated) {
    return migrated.take_error();
  }
  std::int64_t after = 0;
  for (;;) {
    auto select = old->statement("SELECT " + std::string(kColumns) +
                                 " FROM messages WHERE id > ? ORDER BY id LIMIT 500");
    if (!select) return select.take_error();
    (*select)->bind(1, after);
    auto batch = read_messages(*old, **select);
    if (!batch) return batch.take_error();
    if (batch->empty()) break;
    after = batch->back().id;
    Status copied = store.write([&](WriteContext& ctx) -> Status {
      for (const ArchivedMessage& m : *batch) {
        if (auto s = insert_archived(ctx.connection(), m); !s) return s;
      }
      return ok_status();
    });
    if (!copied) return copied;
  }
  old->close();
  std::filesystem::path imported = file;
  imported += ".imported";
  std::filesystem::rename(file, imported, ec);
  if (ec) return Error::unavailable("cannot rename " + file.string() + ": " + ec.message());
  return ok_status();
}

}  // namespace

std::span<const std::string_view> archive_migrations() {
  return kArchiveSteps;
}

CurrentAnswer current_answer(const ArchivedMessage& message) {
  if (message.reprocessings.empty()) return {message.ack, message.ack_code, message.outcome};
  const Reprocessing& latest = message.reprocessings.back();
  return {latest.ack, latest.ack_code, latest.outcome};
}

Result<std::unique_ptr<MessageArchive>> MessageArchive::open(ResourceStore& store,
                                                             ArchiveConfig config) {
  auto readers = open_readers(config.file, config.reader_connections);
  if (!readers) return readers.take_error();
  if (auto imported = import_messages_db(store, readers->front(), config.import_from); !imported) {
    return imported.take_error();
  }
  return std::unique_ptr<MessageArchive>(
      std::make_unique<ClinicalMessageArchive>(store, std::move(config), std::move(*readers)));
}

}  // namespace cg::storage
