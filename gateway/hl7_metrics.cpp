#include "gateway/hl7_metrics.hpp"

#include <array>

namespace cg::gateway {
namespace {

constexpr std::array<std::string_view, 7> kAckCodes{"AA", "AE", "AR", "CA", "CE", "CR", "other"};

std::size_t ack_index(std::string_view code) {
  for (std::size_t i = 0; i + 1 < kAckCodes.size(); ++i) {
    if (kAckCodes[i] == code) return i;
  }
  return kAckCodes.size() - 1;
}

// Field `n` of `segment` (0: the segment name), split on `separator`.
std::string_view field(std::string_view segment, char separator, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto at = segment.find(separator);
    if (at == std::string_view::npos) return {};
    segment.remove_prefix(at + 1);
  }
  return segment.substr(0, segment.find(separator));
}

// The segment of `message` whose name is `name` (segments end in CR; LF tolerated).
std::string_view segment_named(std::string_view message, std::string_view name) {
  std::size_t at = 0;
  while (at < message.size()) {
    const auto end = message.find_first_of("\r\n", at);
    const std::string_view segment = message.substr(at, end - at);
    if (segment.starts_with(name) && segment.size() > name.size()) return segment;
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return {};
}

}  // namespace

Hl7MessageType hl7_message_type(std::string_view message) {
  // MSH-1 is the field separator itself (the 4th character), MSH-2 the encoding characters:
  // MSH-9 is the 8th field after the segment name.
  if (message.size() < 8 || !message.starts_with("MSH")) return {};
  const char fields = message[3];
  const char components = message[4];
  const std::string_view header = message.substr(0, message.find_first_of("\r\n"));
  const std::string_view msh9 = field(header, fields, 8);
  const auto first = msh9.find(components);
  if (first == std::string_view::npos) return {msh9, {}};
  const std::string_view rest = msh9.substr(first + 1);
  return {msh9.substr(0, first), rest.substr(0, rest.find(components))};
}

std::string_view hl7_ack_code(std::string_view answer) {
  if (answer.size() < 4 || !answer.starts_with("MSH")) return {};
  const std::string_view msa = segment_named(answer, "MSA");
  if (msa.empty()) return {};
  return field(msa, answer[3], 1);
}

Hl7Metrics::Hl7Metrics(std::vector<std::string> known)
    : known_(std::move(known)),
      counts_(
          std::make_unique<std::atomic<std::uint64_t>[]>((known_.size() + 1) * kAckCodes.size())) {}

std::size_t Hl7Metrics::type_index(Hl7MessageType type) const {
  if (type.code.empty() || type.trigger.empty()) return known_.size();
  const std::size_t length = type.code.size() + 1 + type.trigger.size();
  for (std::size_t i = 0; i < known_.size(); ++i) {
    const std::string_view k = known_[i];
    if (k.size() == length && k.starts_with(type.code) && k[type.code.size()] == '^' &&
        k.ends_with(type.trigger)) {
      return i;
    }
  }
  return known_.size();
}

void Hl7Metrics::record(std::string_view message, std::string_view answer) {
  const std::size_t type = type_index(hl7_message_type(message));
  const std::size_t ack = ack_index(hl7_ack_code(answer));
  counts_[type * kAckCodes.size() + ack].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Hl7Metrics::count(std::string_view type, std::string_view ack) const {
  std::size_t t = known_.size();
  for (std::size_t i = 0; i < known_.size(); ++i) {
    if (known_[i] == type) t = i;
  }
  return counts_[t * kAckCodes.size() + ack_index(ack)].load(std::memory_order_relaxed);
}

void Hl7Metrics::write(PrometheusText& out) const {
  out.family("clinic_gateway_hl7_messages_total",
             "HL7v2 messages received over MLLP, by message type (MSH-9) and acknowledgment code "
             "(MSA-1).",
             MetricType::kCounter);
  for (std::size_t t = 0; t <= known_.size(); ++t) {
    const std::string_view type = t < known_.size() ? std::string_view(known_[t]) : "other";
    for (std::size_t a = 0; a < kAckCodes.size(); ++a) {
      const std::uint64_t n = counts_[t * kAckCodes.size() + a].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out.sample("clinic_gateway_hl7_messages_total", {{"type", type}, {"ack", kAckCodes[a]}},
                 static_cast<double>(n));
    }
  }
}

}  // namespace cg::gateway
