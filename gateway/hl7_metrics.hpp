#pragma once
// Hl7Metrics: HL7v2 messages received over MLLP, counted by message type (MSH-9 code and
// trigger, "ADT^A01") and the acknowledgment code of the answer (MSA-1: AA, AE, AR, or the
// enhanced-mode CA, CE, CR), for GET /metrics. Only the types the receiver has a handler or
// answerer for are named; anything else (a sender's typo, an unsupported type, bytes that are
// no message) counts as "other", so senders cannot grow the label set.
//
// record() runs on the MLLP worker for every message: it reads MSH-9 and MSA-1 straight out
// of the bytes (no parse, no allocation) and adds one with a relaxed atomic. Never reads or
// keeps anything else of the message.
// Thread-safety: record() and write() may run concurrently from any thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/prometheus_text.hpp"

namespace cg::gateway {

// MSH-9.1 and MSH-9.2 of raw message bytes: ("ADT", "A01"); empty views when the bytes do
// not start with an MSH segment or lack the field.
struct Hl7MessageType {
  std::string_view code;
  std::string_view trigger;
};
Hl7MessageType hl7_message_type(std::string_view message);
// MSA-1 of an answer: "AA", "AE", …; empty without an MSA segment.
std::string_view hl7_ack_code(std::string_view answer);

class Hl7Metrics {
 public:
  // `known`: "CODE^TRIGGER" of every type to count by name (MessageReceiver::message_types).
  explicit Hl7Metrics(std::vector<std::string> known);

  // One message and the answer sent for it.
  void record(std::string_view message, std::string_view answer);

  // The family clinic_gateway_hl7_messages_total.
  void write(PrometheusText& out) const;

  // The count for one type ("ADT^A01" or "other") and ack code ("AA" … or "other") (tests).
  std::uint64_t count(std::string_view type, std::string_view ack) const;

 private:
  std::size_t type_index(Hl7MessageType type) const;  // known_.size(): other

  std::vector<std::string> known_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // (known_ + 1) × ack codes
};

}  // namespace cg::gateway
