#include "protocols/hl7v2/receiver.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <ctime>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/header.hpp"

namespace cg::hl7v2 {
namespace {

constexpr int kLogWarning = 4;
constexpr int kLogInfo = 6;
constexpr int kLogDebug = 7;

std::int64_t system_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// "20261121073500.123+0000": HL7 DTM in UTC with milliseconds.
std::string hl7_timestamp(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];  // room for any int the compiler cannot rule out
  std::snprintf(text, sizeof text, "%04d%02d%02d%02d%02d%02d.%03d+0000", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms % 1000));
  return text;
}

std::string base36(std::uint64_t n) {
  constexpr std::string_view kDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[n % 36]);
    n /= 36;
  } while (n > 0);
  return out;
}

bool rejected(std::string_view ack_code) {
  return ack_code == "AR" || ack_code == "CR";
}

std::string outcome_json(std::string_view ack_code, const std::vector<std::string>& written,
                         const std::vector<Error>& errors) {
  boost::json::array refs(written.begin(), written.end());
  boost::json::array problems;
  for (const Error& e : errors) {
    problems.push_back({{"code", static_cast<int>(error_code(e))}, {"message", e.message}});
  }
  return boost::json::serialize(boost::json::object{
      {"ack", ack_code}, {"written", std::move(refs)}, {"errors", std::move(problems)}});
}

}  // namespace

MessageReceiver::MessageReceiver(storage::MessageArchive& archive, ReceiverConfig config)
    : archive_(archive), config_(std::move(config)) {
  if (!config_.clock_ms) config_.clock_ms = system_ms;
}

void MessageReceiver::handle(std::string code_and_trigger, MessageHandlerFn handler) {
  codes_[code_and_trigger.substr(0, code_and_trigger.find('^'))] += 1;
  handlers_[std::move(code_and_trigger)] = std::move(handler);
}

void MessageReceiver::answer_with(std::string code_and_trigger, QueryHandlerFn handler) {
  codes_[code_and_trigger.substr(0, code_and_trigger.find('^'))] += 1;
  queries_[std::move(code_and_trigger)] = std::move(handler);
}

bool MessageReceiver::knows_code(std::string_view code) const {
  return codes_.find(code) != codes_.end();
}

std::vector<std::string> MessageReceiver::message_types() const {
  std::vector<std::string> types;
  for (const auto& [name, handler] : handlers_) types.push_back(name);
  for (const auto& [name, handler] : queries_) types.push_back(name);
  std::sort(types.begin(), types.end());
  return types;
}

AckOptions MessageReceiver::ack_options() {
  // Unique per answer and short: MSH-10 is at most 20 characters before v2.5.
  const std::uint64_t n = sequence_.fetch_add(1);
  const std::int64_t now = config_.clock_ms();
  return {"CG" + base36(static_cast<std::uint64_t>(now)) + base36(n % 46656), hl7_timestamp(now),
          config_.application_name};
}

std::string MessageReceiver::receive(std::string_view bytes, std::string_view peer_address,
                                     std::string_view peer_subject) {
  const std::string label =
      peer_subject.empty() ? std::string(peer_address)
                           : std::string(peer_address) + " (" + std::string(peer_subject) + ")";
  return receive_from(bytes, MessagePeer{peer_address, peer_subject, label});
}

std::string MessageReceiver::receive_from(std::string_view bytes, const MessagePeer& peer) {
  ++received_;
  auto message = parse(bytes, config_.parse);
  if (!message) {
    ++rejected_;
    log(kLogInfo, "HL7v2 message from " + std::string(peer.label) +
                      " did not parse: " + message.error().message);
    return reject_unparsed(bytes, message.error(), ack_options());
  }
  if (!config_.senders.admits(message->get("MSH-3"), message->get("MSH-4"), peer.address,
                              peer.subject)) {
    return refuse_sender(*message, peer);
  }
  return answer(*message, bytes, peer);
}

std::string MessageReceiver::refuse_sender(const Message& message, const MessagePeer& peer) {
  ++rejected_;
  // MSH-3/4 name systems, not patients: the operator needs them to fix the rules.
  log(kLogWarning, "HL7v2 message from " + std::string(peer.label) + " refused: sender " +
                       message.get("MSH-3") + "/" + message.get("MSH-4") +
                       " is not allowed from there (mllp.senders)");
  const Error errors[] = {
      make_error(ErrorCode::kApplicationInternalError,
                 "this sender is not allowed to send to this gateway from this connection")};
  const Message refusal = build_ack(message, AckCode::kReject, errors, ack_options());
  AuditedMessage audited{message, peer};
  audited.disposition = MessageDisposition::kSenderRefused;
  audited.ack_code = "AR";
  audited.problem = "the sender is not allowed from this connection (mllp.senders)";
  audited.reprocessing = rerun_;
  audit_after(audited);
  return refusal.serialize();
}

void MessageReceiver::audit_after(const AuditedMessage& audited) const {
  if (config_.audit.after) config_.audit.after(audited);
}

std::string MessageReceiver::answer(const Message& message, std::string_view bytes,
                                    const MessagePeer& peer) {
  const MessageHeader header = read_header(message);
  auto reject = [&](const Error& e) {
    const Error errors[] = {e};
    return archived(message, build_ack(message, AckCode::kReject, errors, ack_options()), bytes,
                    peer, outcome_json("AR", {}, {e}));
  };
  if (auto s = check_header(message); !s) return reject(s.error());
  if (!header.version.supported()) {
    return reject(make_error(ErrorCode::kUnsupportedVersionId,
                             "version " + header.version.text + " is not supported (2.3 to 2.8)",
                             {"MSH", 1, 12, 0, 0, 0}));
  }
  storage::MessageKey key{std::string(message.raw("MSH-3")), std::string(message.raw("MSH-4")),
                          std::string(message.raw("MSH-10"))};
  auto earlier = archive_.find(key);
  if (earlier && *earlier && rejected(storage::current_answer(**earlier).ack_code)) {
    // AR/CR told the sender to send again (an unsupported version or type since fixed, a
    // gateway that could not archive): the resend is processed, as a reprocessing.
    log(kLogInfo, "HL7v2 " + header.type.code + "^" + header.type.trigger +
                      " resent after a rejection: processed again as a reprocessing of "
                      "archived message " +
                      std::to_string((*earlier)->id));
    return rerun((*earlier)->id, bytes, peer, nullptr);
  }
  if (earlier && *earlier) {
    ++duplicates_;
    log(kLogInfo, "HL7v2 " + header.type.code + "^" + header.type.trigger +
                      " is a duplicate of archived message " + std::to_string((*earlier)->id) +
                      ": its answer is repeated");
    std::string repeated(storage::current_answer(**earlier).ack);
    if (queries_.contains(header.type.code + "^" + header.type.trigger)) {
      audit_repeated_query(message, repeated, peer);
    }
    return repeated;
  }
  const std::string name = header.type.code + "^" + header.type.trigger;
  if (auto query = queries_.find(name); query != queries_.end()) {
    return answer_query(query->second, message, bytes, peer);
  }
  auto handler = handlers_.find(name);
  if (handler == handlers_.end()) {
    const bool known_code = knows_code(header.type.code);
    return reject(make_error(
        known_code ? ErrorCode::kUnsupportedEventCode : ErrorCode::kUnsupportedMessageType,
        (known_code ? "event " + header.type.trigger + " of " + header.type.code
                    : "message type " + header.type.code) +
            " is not supported",
        {"MSH", 1, 9, 0, known_code ? 2 : 1, 0}));
  }
  return run_handler(handler->second, message, name, bytes, peer);
}

std::string MessageReceiver::run_handler(const MessageHandlerFn& handler, const Message& message,
                                         const std::string& name, std::string_view bytes,
                                         const MessagePeer& peer) {
  // The AA answer is known before the handler runs. When the archive shares the clinical
  // store's transactions, the handler's store job records it with what the message changed,
  // and the audit trail its record: one commit for all three.
  const Message accepted = build_ack(message, AckCode::kAccept, {}, ack_options());
  std::optional<storage::ArchivedMessage> recorded;
  bool twin = false;     // the same message was archived meanwhile (sent on two connections)
  bool audited = false;  // the audit record is in the job (it commits with it)
  CommitHook hook;
  if (archive_.records_in_jobs() || config_.audit.in_job) {
    hook = [&](storage::WriteContext& ctx, const HandlerOutcome& outcome) -> Status {
      if (archive_.records_in_jobs()) {
        auto stored = archive_.record_in(ctx, record_of(message, accepted, bytes, peer,
                                                        outcome_json("AA", outcome.written, {})));
        if (!stored) {
          twin = stored.error().kind == ErrorKind::kConflict;
          return stored.take_error();
        }
        recorded = std::move(*stored);
      }
      if (config_.audit.in_job) {
        AuditedMessage a{message, peer};
        a.ack_code = "AA";
        a.written = outcome.written;
        a.reprocessing = rerun_;
        if (auto s = config_.audit.in_job(ctx, a); !s) return s;
        audited = true;
      }
      return ok_status();
    };
  }
  auto outcome = handler(message, hook);
  if (!outcome) {
    const Error& e = outcome.error();
    if (twin) return archived(message, accepted, bytes, peer, "");  // answered as the twin was
    AuditedMessage failed{message, peer};
    failed.disposition = MessageDisposition::kFailed;
    failed.problem = e.message;
    failed.reprocessing = rerun_;
    std::string answer;
    if (e.kind == ErrorKind::kUnavailable) {
      answer = unavailable(message, name, e);
      failed.ack_code = "AR";
    } else {
      const Error errors[] = {e};
      answer = archived(message, build_ack(message, AckCode::kError, errors, ack_options()), bytes,
                        peer, outcome_json("AE", {}, {e}));
      failed.ack_code = "AE";
    }
    audit_after(failed);
    return answer;
  }
  if (!audited) {
    // A handler that stored nothing (no store job): reported after the answer instead.
    AuditedMessage stored{message, peer};
    stored.ack_code = "AA";
    stored.written = outcome->written;
    stored.reprocessing = rerun_;
    audit_after(stored);
  }
  if (recorded) {
    count(recorded->ack_code);
    return recorded->ack;
  }
  return archived(message, accepted, bytes, peer, outcome_json("AA", outcome->written, {}));
}

std::string MessageReceiver::answer_query(const QueryHandlerFn& handler, const Message& query,
                                          std::string_view bytes, const MessagePeer& peer) {
  auto response = handler(query, ack_options());
  AuditedMessage audited{query, peer};
  audited.disposition = MessageDisposition::kAnswered;
  audited.reprocessing = rerun_;
  if (!response) {
    const Error& e = response.error();
    audited.problem = e.message;
    if (e.kind == ErrorKind::kUnavailable) {
      audited.disposition = MessageDisposition::kFailed;
      audited.ack_code = "AR";
      audit_after(audited);
      return unavailable(query, std::string(query.raw("MSH-9")), e);
    }
    const Error errors[] = {e};
    const Message refusal = build_ack(query, AckCode::kError, errors, ack_options());
    audited.ack_code = "AE";
    audited.answer = &refusal;
    audit_after(audited);
    return archived(query, refusal, bytes, peer, outcome_json("AE", {}, {e}));
  }
  const std::string code = response->get("MSA-1");
  const std::string problem = code == "AA" ? "" : response->get("ERR-8");
  audited.ack_code = code;
  audited.answer = &*response;
  audited.problem = problem;
  audit_after(audited);
  return archived(query, *response, bytes, peer, outcome_json(code, {}, {}));
}

void MessageReceiver::audit_repeated_query(const Message& query, std::string_view answer,
                                           const MessagePeer& peer) {
  if (!config_.audit.after) return;
  auto parsed = parse(answer, config_.parse);  // the gateway's own answer: it parses
  if (!parsed) return;
  AuditedMessage audited{query, peer};
  audited.disposition = MessageDisposition::kAnswered;
  const std::string code = parsed->get("MSA-1");
  audited.ack_code = code;
  audited.answer = &*parsed;
  audited.repeated = true;
  audited.reprocessing = rerun_;
  audit_after(audited);
}

std::string MessageReceiver::unavailable(const Message& message, std::string_view name,
                                         const Error& error) {
  // The store could not take it now: answer AR and archive nothing, so a retry applies.
  ++rejected_;
  // The sender learns a full or read-only disk (its operator can tell the clinic's); other
  // causes are the gateway's business and stay in its log.
  std::string text = "the gateway cannot process messages now; send again later";
  auto reason = config_.write_refusal_reason ? config_.write_refusal_reason() : std::nullopt;
  if (reason) {
    text = "the gateway cannot store messages now: " + *reason +
           "; nothing was stored; send again later";
  }
  // A refused disk was logged once when it happened; senders retrying it are not news.
  log(reason ? kLogDebug : kLogWarning,
      "HL7v2 " + std::string(name) + " not processed: " + error.message);
  const Error errors[] = {make_error(ErrorCode::kApplicationInternalError, std::move(text))};
  return build_ack(message, AckCode::kReject, errors, ack_options()).serialize();
}

storage::ArchivedMessage MessageReceiver::record_of(const Message& incoming, const Message& ack,
                                                    std::string_view bytes, const MessagePeer& peer,
                                                    std::string outcome) const {
  storage::ArchivedMessage record;
  record.received_at_ms = config_.clock_ms();
  record.key = {std::string(incoming.raw("MSH-3")), std::string(incoming.raw("MSH-4")),
                std::string(incoming.raw("MSH-10"))};
  record.message_type = std::string(incoming.raw("MSH-9"));
  record.peer = std::string(peer.label);
  record.raw = std::string(bytes);
  record.ack = ack.serialize();
  record.ack_code = ack.get("MSA-1");
  record.outcome = std::move(outcome);
  return record;
}

std::string MessageReceiver::archived(const Message& incoming, const Message& ack,
                                      std::string_view bytes, const MessagePeer& peer,
                                      std::string outcome) {
  auto stored = archive_.record(record_of(incoming, ack, bytes, peer, std::move(outcome)));
  if (!stored) {
    // The message's changes are durable but its answer is not archived: answer AR so the
    // sender retries; the handlers are idempotent, so the retry changes nothing twice.
    ++rejected_;
    auto reason = config_.write_refusal_reason ? config_.write_refusal_reason() : std::nullopt;
    log(reason ? kLogDebug : kLogWarning, "HL7v2 answer not archived: " + stored.error().message);
    const Error errors[] = {make_error(
        ErrorCode::kApplicationInternalError,
        reason ? "the gateway cannot archive messages now: " + *reason + "; send again later"
               : std::string("the gateway cannot archive messages now; send again later"))};
    return build_ack(incoming, AckCode::kReject, errors, ack_options()).serialize();
  }
  // Normally the record just made; a message archived meanwhile under the same key answers
  // with what it stands with now.
  const storage::CurrentAnswer current = storage::current_answer(*stored);
  count(current.ack_code);
  return std::string(current.ack);
}

void MessageReceiver::count(std::string_view ack_code) {
  if (ack_code.size() != 2) return;
  if (ack_code[1] == 'A') ++accepted_;
  if (ack_code[1] == 'E') ++errors_;
  if (ack_code[1] == 'R') ++rejected_;
}

MessageReceiver::Counts MessageReceiver::counts() const {
  return {received_.load(), accepted_.load(), errors_.load(), rejected_.load(), duplicates_.load()};
}

void MessageReceiver::log(int priority, std::string_view message) const {
  if (config_.log) config_.log(priority, message);
}

}  // namespace cg::hl7v2
