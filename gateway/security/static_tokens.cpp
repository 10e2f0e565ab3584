#include "gateway/security/static_tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace cg::gateway {
namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

StaticTokenVerifier::StaticTokenVerifier(const std::vector<std::string>& sha256_hex_list) {
  for (const auto& hex : sha256_hex_list) {
    if (hex.size() != 64) continue;  // config validation already refused these
    std::array<unsigned char, 32> h{};
    bool ok = true;
    for (std::size_t i = 0; i < 32 && ok; ++i) {
      int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      h[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    if (ok) hashes_.push_back(h);
  }
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return {};
  }
  return authorization.substr(kScheme.size());
}

Result<Principal> StaticTokenVerifier::verify(std::string_view authorization) const {
  if (authorization.empty())
    return Error::unauthorized("an Authorization: Bearer token is required");
  const std::string_view token = bearer_token(authorization);
  if (token.empty()) {
    return Error::unauthorized("the Authorization header must use the Bearer scheme");
  }
  auto digest = sha256(token);
  bool match = false;
  for (const auto& h : hashes_) {
    // Every candidate is compared in full so timing does not reveal which one matched.
    match |= CRYPTO_memcmp(h.data(), digest.data(), h.size()) == 0;
  }
  if (!match) return Error::unauthorized("the bearer token is not valid");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string subject = "token:";
  for (int i = 0; i < 4; ++i) {
    subject += kHex[digest[i] >> 4];
    subject += kHex[digest[i] & 0xF];
  }
  // Scoped like a backend client with every clinical permission: the FHIR API, through the
  // same authorization point as access tokens, and no route that needs a role.
  return Principal{subject, std::string(kStaticTokenScope), {}, {}};
}

}  // namespace cg::gateway
