#pragma once
// MessageReceiver: what happens to one inbound HL7v2 message between the MLLP listener and
// the answer it sends back. The MLLP server (mllp_server.hpp) hands it the unframed bytes on
// a worker thread; it returns the answer bytes, after everything the message changed is
// durable:
//   1. parse; bytes that do not parse get an AR built from what can be read (ack.hpp);
//   2. check the header (required MSH fields, version 2.3–2.8): AR with the HL7 error;
//   3. a message already archived under (MSH-3, MSH-4, MSH-10) gets the answer it stands
//      with (the first, or its latest reprocessing's), and changes nothing
//      (message_archive.hpp) — unless that answer was a rejection (AR/CR: "send again"):
//      then it is processed again, as a reprocessing of the archived one;
//   4. the message's type selects its handler; an unknown type is AR 200, an unknown event
//      of a known type AR 201 ("never silence"); a query's handler builds the whole answer
//      (RSP^K22 …) instead of an ACK;
//   5. the handler stores what the message means (through the clinical store, committed);
//   6. the answer is archived with the message (committed; for a message a handler stores,
//      in the handler's own commit: CommitHook), then returned.
// A transient failure of the store (unavailable, full) answers AR 207 and archives nothing,
// so the sender's retry is applied; a failure of the message itself answers AE with the
// handler's error and is archived, so a resend of the same bytes gets the same answer.
// Patient data never reaches the log: only types, control ids' lengths, codes and counts.
// What the receiver did with each message reaches the audit trail through MessageAuditHooks
// (the gateway builds the IHE ATNA records; this module only reports).
//
// Thread-safety: receive() may be called from any number of threads at once.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/ack.hpp"
#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/parser.hpp"
#include "protocols/hl7v2/sender_policy.hpp"
#include "storage/message_archive.hpp"

namespace cg::hl7v2 {

// What a handler reports: the resources it created or changed ("Patient/abc"), for the
// archive's outcome record.
struct HandlerOutcome {
  std::vector<std::string> written;
};

// The archive's part of a handler's store job: records the AA answer with `outcome` in the
// job's transaction (MessageArchive::record_in), so the message's changes and its archived
// answer commit together. Called last in the job, after everything else succeeded; its error
// must fail the job. Null when the archive records separately (the receiver then archives
// after the handler returns).
using CommitHook = std::function<Status(storage::WriteContext& ctx, const HandlerOutcome& outcome)>;

// Stores what one message means, calling `commit` (when not null) at the end of its store
// job. Errors decide the answer: kUnavailable (the store) → AR 207, nothing archived;
// anything else → AE with the error (its HL7 code and location). A handler that stores
// nothing ignores `commit`.
using MessageHandlerFn =
    std::function<Result<HandlerOutcome>(const Message& message, const CommitHook& commit)>;

// Answers a query (PDQ, PIX) or a query cancel: builds the whole answer message (RSP …,
// with MSA, QAK and any ERR of its own) from the query and the answer's header options.
// Errors are the handler's own failures: kUnavailable → AR 207, nothing archived; anything
// else → an ACK with AE and the error.
using QueryHandlerFn =
    std::function<Result<Message>(const Message& query, const AckOptions& options)>;

// Where a message came from: the connection's address and client-certificate subject, and
// the text the log and the archive name it by ("10.0.0.5 (CN=emr)"; "archived message 12"
// for a reprocessing, which has no connection).
struct MessagePeer {
  std::string_view address;
  std::string_view subject;
  std::string_view label;
};

// What became of a message, as the audit trail is told.
enum class MessageDisposition {
  kStored,         // a handler stored it (AA); reported inside the store job
  kFailed,         // a handler was run and failed (AE, or AR 207): nothing was stored
  kAnswered,       // a query was answered (RSP with AA or AE, or an ACK with AE)
  kSenderRefused,  // the sender policy refused the sender (AR 207); nothing was run
};

struct AuditedMessage {
  AuditedMessage(const Message& m, const MessagePeer& p) : message(m), peer(p) {}

  const Message& message;  // as received
  MessagePeer peer;
  MessageDisposition disposition = MessageDisposition::kStored;
  std::string_view ack_code;             // MSA-1 of the answer: AA, AE, AR
  std::span<const std::string> written;  // kStored: the resources written ("Patient/1")
  const Message* answer = nullptr;       // kAnswered: the whole answer
  std::string_view problem;              // kFailed, kAnswered with AE: why (the error)
  bool repeated = false;                 // a duplicate answered from the archive
  bool reprocessing = false;             // a rerun of an archived message
};

// How the receiver reports each message to the audit trail. Either may be empty.
struct MessageAuditHooks {
  // Inside the handler's store job, after the archive's part (kStored only): the audit record
  // commits with the message's changes. Its error fails the job (the message is not stored).
  std::function<Status(storage::WriteContext& ctx, const AuditedMessage& message)> in_job;
  // After the answer is built, for the rest: failures, queries (a duplicate query too, since
  // its answer discloses the same data again), refused senders, and a stored message whose
  // handler stored nothing. Not for bytes that do not parse, headers that fail their checks,
  // unknown types or duplicates of stored messages: no handler ran, nothing was disclosed.
  // Must not block for long: it runs on the MLLP worker before the answer is sent.
  std::function<void(const AuditedMessage& message)> after;
};

struct ReceiverConfig {
  std::string application_name = "CLINIC-GATEWAY";  // MSH-3 of answers to headerless input
  ParseOptions parse;
  std::function<std::int64_t()> clock_ms;  // wall clock, ms since the epoch; null: system
  std::function<void(int priority, std::string_view message)> log;
  // Who may send (sender_policy.hpp). A message from a sender it does not admit is answered
  // AR 207 and neither processed nor archived (an unknown sender cannot fill the archive).
  SenderPolicy senders;
  MessageAuditHooks audit;
  // Why the store refuses writes now (the data directory's write gate: "the gateway's disk
  // is full"), or nullopt. A message the store could not take is answered AR 207 with this
  // reason in ERR-8; other causes stay out of the answer. Null: never a reason.
  std::function<std::optional<std::string>()> write_refusal_reason;
};

class MessageReceiver {
 public:
  // `archive` must outlive the receiver.
  MessageReceiver(storage::MessageArchive& archive, ReceiverConfig config);

  // Registers the handler of "CODE^TRIGGER" (e.g. "ADT^A01"). Before the first receive().
  void handle(std::string code_and_trigger, MessageHandlerFn handler);
  // Registers the answerer of a query "CODE^TRIGGER" (e.g. "QBP^Q22"). Before the first
  // receive(). Queries are archived like any message, so a resend gets the same answer.
  void answer_with(std::string code_and_trigger, QueryHandlerFn handler);
  // The message codes with at least one handler (an unknown trigger of one of them is 201).
  bool knows_code(std::string_view code) const;
  // Every registered "CODE^TRIGGER" (handlers and answerers), sorted: the message types
  // /metrics counts by name (gateway/hl7_metrics.hpp).
  std::vector<std::string> message_types() const;

  // The answer to `bytes` from the connection's `peer_address` and, with a client
  // certificate, its `peer_subject`, built and archived as above.
  std::string receive(std::string_view bytes, std::string_view peer_address,
                      std::string_view peer_subject = {});

  // Runs archived message `archive_id` through steps 1–5 again, with the handlers
  // registered here but without step 3 (which would repeat the archived answer), and
  // appends the run (its time, answer and outcome) to the message's reprocessings instead
  // of archiving a new message. For a message whose failure (AE) has been fixed since: a
  // mapping, the identifier-systems config, stored data. Returns the recorded run, whatever
  // its answer. Errors, with nothing recorded: kNotFound for an unknown id; kInvalid when
  // the archived bytes no longer parse under this receiver's limits; kUnavailable when the
  // clinical store or the archive cannot write now (try again). Thread-safe like receive().
  Result<storage::Reprocessing> reprocess(std::int64_t archive_id);

 private:
  // Steps 1–6 for `bytes` with the archived message `archive_id` standing in for step 3's
  // match: the answer is appended to its reprocessings (receiver_reprocess.cpp).
  std::string rerun(std::int64_t archive_id, std::string_view bytes, const MessagePeer& peer,
                    std::optional<Result<storage::Reprocessing>>* recorded);
  std::string receive_from(std::string_view bytes, const MessagePeer& peer);

 public:
  // Counters for /metrics and tests.
  struct Counts {
    std::uint64_t received = 0, accepted = 0, errors = 0, rejected = 0, duplicates = 0;
  };
  Counts counts() const;

 private:
  std::string answer(const Message& message, std::string_view bytes, const MessagePeer& peer);
  // Archives the answer (unless transient) and returns its bytes; a duplicate archived
  // meanwhile wins.
  std::string archived(const Message& incoming, const Message& ack, std::string_view bytes,
                       const MessagePeer& peer, std::string outcome);
  std::string run_handler(const MessageHandlerFn& handler, const Message& message,
                          const std::string& name, std::string_view bytes, const MessagePeer& peer);
  storage::ArchivedMessage record_of(const Message& incoming, const Message& ack,
                                     std::string_view bytes, const MessagePeer& peer,
                                     std::string outcome) const;
  std::string answer_query(const QueryHandlerFn& handler, const Message& query,
                           std::string_view bytes, const MessagePeer& peer);
  // The answer of a duplicate query, reported to the audit trail as disclosed again.
  void audit_repeated_query(const Message& query, std::string_view answer, const MessagePeer& peer);
  // Reports `audited` through config_.audit.after, when set.
  void audit_after(const AuditedMessage& audited) const;
  // AR 207 for a sender the policy does not admit; nothing processed or archived.
  std::string refuse_sender(const Message& message, const MessagePeer& peer);
  // AR 207 for a store that cannot take the message now; nothing archived.
  std::string unavailable(const Message& message, std::string_view name, const Error& error);
  AckOptions ack_options();
  std::string timestamp() const;
  void count(std::string_view ack_code);
  void log(int priority, std::string_view message) const;

  storage::MessageArchive& archive_;
  ReceiverConfig config_;
  std::map<std::string, MessageHandlerFn, std::less<>> handlers_;
  std::map<std::string, QueryHandlerFn, std::less<>> queries_;
  std::map<std::string, int, std::less<>> codes_;
  std::atomic<std::uint64_t> sequence_{0};
  bool rerun_ = false;  // this receiver reruns an archived message (reprocess, resend)
  mutable std::atomic<std::uint64_t> received_{0}, accepted_{0}, errors_{0}, rejected_{0},
      duplicates_{0};
};

}  // namespace cg::hl7v2
