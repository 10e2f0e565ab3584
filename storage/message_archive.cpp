#include "storage/message_archive.hpp"

#include <array>
#include <future>
#include <limits>
#include <mutex>
#include <span>

#include "storage/database_file.hpp"
#include "storage/group_commit.hpp"
#include "storage/migrations.hpp"
#include "storage/reader_pool.hpp"

namespace cg::storage {
namespace {

// Schema version 1 of messages.db.
// messages   one row per archived message. The key (MSH-3, MSH-4, MSH-10) is unique: the
//            archive holds the first answer given to a message. raw and ack are the bytes
//            as received and as sent (BLOB: 8859/1 messages are not UTF-8).
constexpr std::string_view kArchiveV1 = R"sql(
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  sending_application TEXT NOT NULL,
  sending_facility TEXT NOT NULL,
  control_id TEXT NOT NULL,
  message_type TEXT NOT NULL,
  peer TEXT NOT NULL,
  raw BLOB NOT NULL,
  ack BLOB NOT NULL,
  ack_code TEXT NOT NULL,
  outcome TEXT NOT NULL
);
CREATE UNIQUE INDEX messages_by_key ON messages (sending_application, sending_facility, control_id);
CREATE INDEX messages_by_received ON messages (received_at);
)sql";

// Schema version 2: reruns of archived messages (`clinic-gateway hl7 reprocess`).
// reprocessings  one row per rerun, linked to its message; the message row itself stays as
//                it was first answered. (message_id, id) serves a message's history in
//                order and its latest answer.
constexpr std::string_view kArchiveV2 = R"sql(
CREATE TABLE reprocessings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL REFERENCES messages (id),
  reprocessed_at INTEGER NOT NULL,
  ack BLOB NOT NULL,
  ack_code TEXT NOT NULL,
  outcome TEXT NOT NULL
);
CREATE INDEX reprocessings_by_message ON reprocessings (message_id, id);
)sql";

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

class SqliteMessageArchive final : public MessageArchive {
 public:
  SqliteMessageArchive(ArchiveConfig config, Connection writer, std::vector<Connection> readers)
      : config_(std::move(config)),
        writer_conn_(std::move(writer)),
        readers_(std::move(readers)),
        group_(writer_conn_, {}, config_.log) {}
  ~SqliteMessageArchive() override { close(); }

  Result<std::optional<ArchivedMessage>> find(const MessageKey& key) override {
    auto conn = readers_.borrow();
    if (!conn) return conn.take_error();
    return find_by_key(**conn, key);
  }

  Result<ArchivedMessage> record(ArchivedMessage message) override {
    return commit<ArchivedMessage>(
        [this, m = std::move(message)]() mutable { return insert(writer_conn_, std::move(m)); });
  }

  Result<Reprocessing> record_reprocessing(Reprocessing run) override {
    return commit<Reprocessing>([this, run = std::move(run)]() mutable {
      return insert_reprocessing(writer_conn_, std::move(run));
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
    std::call_once(closed_, [this] {
      group_.close();
      readers_.close();
      (void)writer_conn_.query_int64("PRAGMA wal_checkpoint(TRUNCATE)");
      writer_conn_.close();
    });
  }

 private:
  // Runs `write` as one group-commit job on the writer and waits until its batch is durable.
  template <class T, class Write>
  Result<T> commit(Write write) {
    auto result = std::make_shared<std::optional<Result<T>>>();
    auto promise = std::make_shared<std::promise<Status>>();
    auto done = promise->get_future();
    group_.submit(
        [result, write = std::move(write)]() mutable -> Status {
          *result = write();
          return (*result)->ok() ? ok_status() : Status((*result)->error());
        },
        [promise](Status status) { promise->set_value(std::move(status)); });
    Status status = done.get();
    // The row is durable only once the batch committed: report the commit's error first.
    if (!status) return status.take_error();
    return std::move(**result);
  }

  ArchiveConfig config_;
  Connection writer_conn_;
  ReaderPool readers_;
  GroupCommitWriter group_;  // after the connection it writes to
  std::once_flag closed_;
};

}  // namespace

std::span<const std::string_view> archive_migrations() {
  return kArchiveSteps;
}

CurrentAnswer current_answer(const ArchivedMessage& message) {
  if (message.reprocessings.empty()) return {message.ack, message.ack_code, message.outcome};
  const Reprocessing& latest = message.reprocessings.back();
  return {latest.ack, latest.ack_code, latest.outcome};
}

Result<std::unique_ptr<MessageArchive>> MessageArchive::open(ArchiveConfig config) {
  if (auto dir = ensure_directory(config.file.parent_path()); !dir) return dir.take_error();
  auto writer = open_writer(config.file, config.max_db_bytes);
  if (!writer) return writer.take_error();
  if (auto migrated = apply_migrations(*writer, archive_migrations()); !migrated) {
    return migrated.take_error();
  }
  auto readers = open_readers(config.file, config.reader_connections);
  if (!readers) return readers.take_error();
  return std::unique_ptr<MessageArchive>(std::make_unique<SqliteMessageArchive>(
      std::move(config), std::move(*writer), std::move(*readers)));
}

}  // namespace cg::storage
