#pragma once
// Which HL7v2 senders may send to the gateway: rules on the sending application and
// facility (MSH-3, MSH-4) and on where the message came from — the connection's address
// (a network in CIDR form) and, over MLLP with client certificates, the certificate's
// subject. With no rules every sender is admitted (TLS client certificates, when required,
// already decide who may connect). With rules, a message is admitted when one rule matches
// all of its given parts; a part a rule leaves empty matches anything.
// Pure values; thread-safe for concurrent reads.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::hl7v2 {

// An IPv4 or IPv6 network: "10.0.0.0/24", "192.168.1.7" (one address), "fd00::/8".
struct Network {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the IPv4-mapped IPv6 form
  int prefix = 128;
  bool contains(std::string_view address) const;  // false for text that is not an address
};

// kInvalid naming the problem for text that is not an address or a network.
Result<Network> parse_network(std::string_view text);

struct SenderRule {
  std::string application;                        // MSH-3.1; "" = any
  std::string facility;                           // MSH-4.1; "" = any
  std::vector<Network> networks;                  // empty = any address
  std::vector<std::string> certificate_subjects;  // exact subjects; empty = with or without
};

class SenderPolicy {
 public:
  SenderPolicy() = default;  // admits everyone
  explicit SenderPolicy(std::vector<SenderRule> rules) : rules_(std::move(rules)) {}

  bool restricts() const { return !rules_.empty(); }
  // `application` and `facility` are MSH-3.1 and MSH-4.1 as read (unescaped); `subject` is
  // "" without a client certificate.
  bool admits(std::string_view application, std::string_view facility, std::string_view address,
              std::string_view subject) const;

 private:
  std::vector<SenderRule> rules_;
};

}  // namespace cg::hl7v2
