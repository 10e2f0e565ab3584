#pragma once
// MessageArchive: the archive of every inbound HL7v2 message with the answer it got, kept in
// clinical.db (tables `messages` and `reprocessings`, clinical schema 6–7). It is what makes
// MLLP delivery safe to repeat: a sender that did not see an ACK sends the message again, and
// the archive recognises it by (MSH-3, MSH-4, MSH-10) and hands back the answer the message
// stands with, so the message is not applied twice. It also lets an operator look a message
// up and reprocess it (`clinic-gateway hl7 …`): each rerun is kept as a Reprocessing linked
// to the message, which itself is never changed.
//
// The archive lives in the clinical database so that a message is archived **in the same
// transaction** as the resources it changed (record_in(), inside the handler's store job):
// one commit, one fsync, and never a stored change without its archived answer or the
// reverse. Other answers (errors, rejections, queries) are recorded in a job of their own
// (record()). Either way the row is durable before the answer leaves. A transient failure
// (storage unavailable) is not recorded, so the sender's retry is applied. Earlier builds
// kept the archive in messages.db; open() imports such a file once and renames it.
//
// Thread-safety: every method may be called from any thread, concurrently. Several processes
// may have the database open (the daemon and an `hl7` command): SQLite WAL serialises their
// writes, each waiting out the other's commit (busy timeout).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/resource_store.hpp"

namespace cg::storage {

// What identifies a message for duplicate detection: MSH-3, MSH-4 and MSH-10 as written.
struct MessageKey {
  std::string sending_application;
  std::string sending_facility;
  std::string control_id;
  bool operator==(const MessageKey&) const = default;
};

// One rerun of an archived message through its handler (`clinic-gateway hl7 reprocess`):
// when it ran, and the answer and outcome it got then.
struct Reprocessing {
  std::int64_t id = 0;          // assigned by record_reprocessing(); increases with time
  std::int64_t message_id = 0;  // the ArchivedMessage that was run again
  std::int64_t at_ms = 0;       // ms since the epoch, UTC
  std::string ack;              // the answer bytes built by the rerun
  std::string ack_code;         // its MSA-1
  std::string outcome;          // JSON, as ArchivedMessage::outcome
};

struct ArchivedMessage {
  std::int64_t id = 0;  // assigned by record()
  std::int64_t received_at_ms = 0;
  MessageKey key;
  std::string message_type;  // MSH-9 as written, e.g. "ADT^A01^ADT_A01"
  std::string peer;          // the sender's address (and certificate subject)
  std::string raw;           // the message bytes as received
  std::string ack;           // the answer bytes sent back
  std::string ack_code;      // MSA-1: AA, AE, AR (CA, CE, CR)
  std::string outcome;       // JSON: what the message created or changed, or why it failed
  // Its reruns, oldest first. Filled by every read; record() ignores it.
  std::vector<Reprocessing> reprocessings;
};

// The answer a message stands with now: its latest rerun's, else the one it got first. A
// resend of the message is answered with it (after a successful rerun, the sender learns
// that the message is stored), and list() filters on its code. Views into `message`.
struct CurrentAnswer {
  std::string_view ack;
  std::string_view ack_code;
  std::string_view outcome;
};
CurrentAnswer current_answer(const ArchivedMessage& message);

// Which messages list() returns, newest first.
struct ArchiveQuery {
  std::size_t limit = 50;
  std::int64_t before_id = 0;  // only ids below this; 0: from the newest
  std::int64_t since_ms = 0;   // only messages received at or after this; 0: any time
  std::string ack_code;        // only messages whose current answer has this MSA-1; "": any
};

struct ArchiveConfig {
  std::filesystem::path file;         // the clinical database (clinical.db), for the readers
  std::filesystem::path import_from;  // a messages.db of an earlier build; "": none
  int reader_connections = 2;
  std::function<void(int priority, std::string_view message)> log;
};

class MessageArchive {
 public:
  // Opens the archive in `store`'s database (which must outlive it), first importing
  // config.import_from when that file exists (then renamed "<file>.imported"; refused with
  // kConflict when the archive already holds messages). Errors: kUnavailable for the file
  // system.
  static Result<std::unique_ptr<MessageArchive>> open(ResourceStore& store, ArchiveConfig config);
  virtual ~MessageArchive() = default;

  // The archived message under `key` (with its reruns), if it was seen before.
  virtual Result<std::optional<ArchivedMessage>> find(const MessageKey& key) = 0;
  // Stores `message` durably and returns it with its id. When a message with the same key
  // was archived meanwhile (the same message on two connections), nothing is stored and the
  // earlier record is returned: its ACK is the answer.
  virtual Result<ArchivedMessage> record(ArchivedMessage message) = 0;
  // Whether record_in() works: the archive shares the clinical store's transactions.
  virtual bool records_in_jobs() const { return false; }
  // Records `message` inside a job of the clinical store, in that job's transaction: it
  // commits (or rolls back) with what the job wrote. kConflict, nothing recorded, when a
  // message with the same key is archived already (the job should fail, and the earlier
  // record's answer is the answer). Only when records_in_jobs().
  virtual Result<ArchivedMessage> record_in(WriteContext& ctx, ArchivedMessage message) {
    (void)ctx;
    (void)message;
    return Error::internal("this archive does not record inside store jobs");
  }
  // Appends `run` to the reruns of message `run.message_id`, durably (group commit, as
  // record()), and returns it with its id. Errors: kNotFound when there is no such message;
  // kUnavailable when the file cannot be written now (nothing stored).
  virtual Result<Reprocessing> record_reprocessing(Reprocessing run) = 0;
  virtual Result<std::optional<ArchivedMessage>> get(std::int64_t id) = 0;
  virtual Result<std::vector<ArchivedMessage>> list(const ArchiveQuery& query) = 0;
  // Finishes pending records and closes. Idempotent.
  virtual void close() = 0;
};

// The schema steps of an earlier build's messages.db (for the import).
std::span<const std::string_view> archive_migrations();

}  // namespace cg::storage
