#include "gateway/security/password_hash.hpp"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <vector>

namespace cg::gateway {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::string_view kPrefix = "$argon2id$v=19$";
constexpr std::string_view kSecretScheme = "sha256$";

Error argon2_failure(int code) {
  std::string message = std::string("argon2: ") + argon2_error_message(code);
  if (code == ARGON2_MEMORY_ALLOCATION_ERROR) return Error::unavailable(message);
  return Error::invalid(message);
}

// Reads "<name>=<decimal>" at the front of `text` and advances past it.
bool take_number(std::string_view& text, std::string_view name, std::uint32_t& out) {
  if (!text.starts_with(name) || text.size() <= name.size() || text[name.size()] != '=') {
    return false;
  }
  text.remove_prefix(name.size() + 1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end == text.data()) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return true;
}

bool take_char(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, const Argon2Parameters& params) {
  std::array<unsigned char, kSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return Error::internal("the random generator failed to make a salt");
  }
  std::vector<char> encoded(argon2_encodedlen(params.iterations, params.memory_kib,
                                              params.parallelism, kSaltBytes, kHashBytes,
                                              Argon2_id) +
                            1);
  int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism,
                                 password.data(), password.size(), salt.data(), salt.size(),
                                 kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return argon2_failure(rc);
  return std::string(encoded.data());
}

Result<Argon2Parameters> parse_password_hash(std::string_view encoded) {
  Argon2Parameters p;
  std::string_view rest = encoded;
  bool ok = rest.starts_with(kPrefix);
  if (ok) rest.remove_prefix(kPrefix.size());
  ok = ok && take_number(rest, "m", p.memory_kib) && take_char(rest, ',') &&
       take_number(rest, "t", p.iterations) && take_char(rest, ',') &&
       take_number(rest, "p", p.parallelism) && take_char(rest, '$');
  // What remains is "<salt>$<hash>"; libargon2 checks their encoding when verifying.
  ok = ok && rest.find('$') != std::string_view::npos;
  if (!ok) return Error::invalid("not an Argon2id v19 password hash");
  return p;
}

Result<bool> verify_password(std::string_view encoded, std::string_view password) {
  auto params = parse_password_hash(encoded);
  if (!params) return params.take_error();
  if (params->memory_kib > kMaxArgon2MemoryKib) {
    return Error::invalid("the password hash asks for more memory than this gateway allows");
  }
  // argon2id_verify needs a NUL-terminated string.
  const std::string terminated(encoded);
  int rc = argon2id_verify(terminated.c_str(), password.data(), password.size());
  if (rc == ARGON2_OK) return true;
  if (rc == ARGON2_VERIFY_MISMATCH) return false;
  return argon2_failure(rc);
}

bool needs_rehash(std::string_view encoded, const Argon2Parameters& params) {
  auto stored = parse_password_hash(encoded);
  return !stored || !(*stored == params);
}

std::string sha256_hex(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

std::string generate_token() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) std::abort();
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, raw, sizeof raw);
  std::string out(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
  for (auto& c : out) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string generate_client_secret() {
  // The same shape as a static bearer token: 32 random bytes, base64url.
  return generate_token();
}

std::string hash_client_secret(std::string_view secret) {
  return std::string(kSecretScheme) + sha256_hex(secret);
}

bool verify_client_secret(std::string_view stored, std::string_view secret) {
  const std::string computed = hash_client_secret(secret);
  // Lengths are public (fixed by the scheme); the digest bytes are compared in full.
  return stored.size() == computed.size() &&
         CRYPTO_memcmp(stored.data(), computed.data(), computed.size()) == 0;
}

}  // namespace cg::gateway
