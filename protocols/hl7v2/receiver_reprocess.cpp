// MessageReceiver::reprocess(): an archived message through the receiver's own pipeline
// again. Kept apart from receiver.cpp because it only composes receive() with a view of the
// archive; the pipeline itself is not repeated here, so a rerun always answers exactly as
// receive() would now.

#include <optional>

#include "protocols/hl7v2/receiver.hpp"

namespace cg::hl7v2 {
namespace {

// The archive as a rerun sees it: the message is not known (so step 3 does not answer in
// place of the handler), and archiving the answer appends a Reprocessing to the message
// instead of recording a new one. Reads go to the real archive.
class RerunArchive final : public storage::MessageArchive {
 public:
  RerunArchive(storage::MessageArchive& archive, std::int64_t message_id)
      : archive_(archive), message_id_(message_id) {}

  Result<std::optional<storage::ArchivedMessage>> find(const storage::MessageKey&) override {
    return std::optional<storage::ArchivedMessage>();
  }

  Result<storage::ArchivedMessage> record(storage::ArchivedMessage message) override {
    auto run = archive_.record_reprocessing(
        {0, message_id_, message.received_at_ms, message.ack, message.ack_code, message.outcome});
    if (!run) {
      failure_ = run.error();
      return run.take_error();
    }
    recorded_ = *run;
    message.id = message_id_;
    return message;
  }

  Result<storage::Reprocessing> record_reprocessing(storage::Reprocessing run) override {
    return archive_.record_reprocessing(std::move(run));
  }
  Result<std::optional<storage::ArchivedMessage>> get(std::int64_t id) override {
    return archive_.get(id);
  }
  Result<std::vector<storage::ArchivedMessage>> list(const storage::ArchiveQuery& q) override {
    return archive_.list(q);
  }
  void close() override {}  // the real archive is its owner's to close

  // What the rerun left: the recorded run, the archive's error, or, when receive() recorded
  // nothing at all, the transient store failure it answered AR 207 for.
  Result<storage::Reprocessing> result() const {
    if (recorded_) return *recorded_;
    if (failure_) return *failure_;
    return Error::unavailable("the clinical store cannot write now; nothing was recorded");
  }

 private:
  storage::MessageArchive& archive_;
  const std::int64_t message_id_;
  std::optional<storage::Reprocessing> recorded_;
  std::optional<Error> failure_;
};

}  // namespace

std::string MessageReceiver::rerun(std::int64_t archive_id, std::string_view bytes,
                                   const MessagePeer& peer,
                                   std::optional<Result<storage::Reprocessing>>* recorded) {
  RerunArchive view(archive_, archive_id);
  ReceiverConfig config = config_;
  // Admitted when it first arrived (or resent by its sender, checked then): no peer to
  // check again.
  config.senders = SenderPolicy();
  MessageReceiver rerun(view, config);
  rerun.handlers_ = handlers_;  // every registration, so the rerun dispatches as receive()
  rerun.queries_ = queries_;
  rerun.codes_ = codes_;
  // The rerun's answer gets a control id of this receiver's sequence, unlike any other.
  rerun.sequence_ = sequence_.fetch_add(1);
  rerun.rerun_ = true;
  std::string answer = rerun.receive_from(bytes, peer);
  if (recorded != nullptr) *recorded = view.result();
  return answer;
}

Result<storage::Reprocessing> MessageReceiver::reprocess(std::int64_t archive_id) {
  const std::string name = "archived message " + std::to_string(archive_id);
  auto original = archive_.get(archive_id);
  if (!original) return original.take_error();
  if (!*original) return Error::not_found("no " + name);
  const std::string& bytes = (*original)->raw;
  // receive() answers bytes that do not parse without archiving them; say why instead.
  if (auto parsed = parse(bytes, config_.parse); !parsed) {
    return Error::invalid(name + " no longer parses: " + parsed.error().message);
  }
  std::optional<Result<storage::Reprocessing>> recorded;
  (void)rerun(archive_id, bytes, MessagePeer{{}, {}, name}, &recorded);
  return std::move(*recorded);
}

}  // namespace cg::hl7v2
