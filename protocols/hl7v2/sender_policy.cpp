#include "protocols/hl7v2/sender_policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <optional>

namespace cg::hl7v2 {
namespace {

// An address as 16 bytes (IPv4 mapped into IPv6), or nullopt.
std::optional<std::array<std::uint8_t, 16>> address_bytes(std::string_view text) {
  std::string s(text);
  // IPv6 literals may come bracketed or with a zone ("fe80::1%eth0"): neither is a network.
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xFF;
    std::copy_n(reinterpret_cast<const std::uint8_t*>(&v4), 4, out.begin() + 12);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::copy_n(reinterpret_cast<const std::uint8_t*>(&v6), 16, out.begin());
    return out;
  }
  return std::nullopt;
}

bool is_ipv4(std::string_view text) {
  return text.find(':') == std::string_view::npos;
}

}  // namespace

Result<Network> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view host = text.substr(0, slash);
  auto bytes = address_bytes(host);
  if (!bytes) return Error::invalid("'" + std::string(text) + "' is not an IP address or network");
  Network n;
  n.bytes = *bytes;
  const int bits = is_ipv4(host) ? 32 : 128;
  n.prefix = 128;
  if (slash != std::string_view::npos) {
    std::string_view length = text.substr(slash + 1);
    int value = -1;
    auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), value);
    if (ec != std::errc() || end != length.data() + length.size() || value < 0 || value > bits) {
      return Error::invalid("'" + std::string(text) + "' has no valid prefix length (0 to " +
                            std::to_string(bits) + ")");
    }
    n.prefix = bits == 32 ? 96 + value : value;
  }
  return n;
}

bool Network::contains(std::string_view address) const {
  auto candidate = address_bytes(address);
  if (!candidate) return false;
  int remaining = prefix;
  for (std::size_t i = 0; i < 16 && remaining > 0; ++i, remaining -= 8) {
    const int take = std::min(remaining, 8);
    const std::uint8_t mask = static_cast<std::uint8_t>(0xFF << (8 - take));
    if ((bytes[i] & mask) != ((*candidate)[i] & mask)) return false;
  }
  return true;
}

bool SenderPolicy::admits(std::string_view application, std::string_view facility,
                          std::string_view address, std::string_view subject) const {
  if (rules_.empty()) return true;
  return std::any_of(rules_.begin(), rules_.end(), [&](const SenderRule& r) {
    if (!r.application.empty() && r.application != application) return false;
    if (!r.facility.empty() && r.facility != facility) return false;
    if (!r.networks.empty() &&
        std::none_of(r.networks.begin(), r.networks.end(),
                     [&](const Network& n) { return n.contains(address); })) {
      return false;
    }
    if (!r.certificate_subjects.empty() &&
        std::find(r.certificate_subjects.begin(), r.certificate_subjects.end(), subject) ==
            r.certificate_subjects.end()) {
      return false;
    }
    return true;
  });
}

}  // namespace cg::hl7v2
