#include "gateway/service_status.hpp"

namespace cg::gateway {

std::string thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string service_status(const std::vector<std::string>& listeners, const LoadSample* before,
                           const LoadSample& now, std::chrono::seconds span) {
  std::string out;
  for (const std::string& l : listeners) out += (out.empty() ? "" : ", ") + l;
  if (before == nullptr) return out;
  // Counters only grow; a smaller value (cannot happen) reads as none rather than wrapping.
  auto since = [](std::uint64_t later, std::uint64_t earlier) {
    return later >= earlier ? later - earlier : 0;
  };
  out += "; last " + std::to_string(span.count()) +
         " s: " + thousands(since(now.http_requests, before->http_requests)) + " HTTP requests, " +
         thousands(since(now.hl7_messages, before->hl7_messages)) + " HL7v2 messages, " +
         thousands(since(now.audit_records, before->audit_records)) + " audit records; " +
         thousands(now.open_connections) +
         (now.open_connections == 1 ? " connection" : " connections");
  return out;
}

}  // namespace cg::gateway
