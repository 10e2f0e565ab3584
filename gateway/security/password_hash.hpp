#pragma once
// Password and client-secret hashing: the only code that turns a secret into what the
// identity store keeps (identity_store.hpp) and checks a secret against it.
//
// Passwords are hashed with Argon2id (libargon2) into PHC strings,
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", which carry their own parameters, so a
// stored hash stays verifiable after the defaults change and needs_rehash() tells when to
// upgrade it at the next successful login. Client secrets are generated here (256 random
// bits) and hashed with SHA-256 (see hash_client_secret()).
//
// Thread-safety: free functions without shared state; safe from any thread. Each Argon2
// call allocates `memory_kib` for its duration, so callers bound how many run at once.

#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

// Argon2id cost. The defaults are OWASP's minimum for Argon2id (m=19 MiB, t=2, p=1), sized
// for a Raspberry Pi 4. Measured on the development machine (AMD EPYC vCPU, x86-64,
// Debian's libargon2, 10 hashes in a loop): 13–16 ms per hash, 28–36 ms while other builds
// shared its two cores. A Pi 4 is expected to take several times that, still a fraction of
// a second per login (docs/security.md). p=1 because the Pi serves other requests on its
// other cores while one login is checked.
struct Argon2Parameters {
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
  bool operator==(const Argon2Parameters&) const = default;
};

// Stored hashes asking for more memory than this are refused rather than computed: a
// damaged or planted row must not make a login allocate gigabytes on a 64 MB daemon.
inline constexpr std::uint32_t kMaxArgon2MemoryKib = 256 * 1024;

// An Argon2id PHC string for `password` with a fresh random 16-byte salt (RAND_bytes) and a
// 32-byte hash. Errors: kInvalid for parameters libargon2 refuses; kUnavailable when memory
// cannot be allocated; kInternal when the random generator fails.
Result<std::string> hash_password(std::string_view password, const Argon2Parameters& params);

// Whether `password` matches `encoded`, compared in constant time (libargon2 compares the
// recomputed hash with an XOR accumulation over every byte). Errors: kInvalid when
// `encoded` is not an Argon2id v19 PHC string within kMaxArgon2MemoryKib; kUnavailable when
// memory cannot be allocated.
Result<bool> verify_password(std::string_view encoded, std::string_view password);

// The parameters written in an Argon2id v19 PHC string; kInvalid for anything else.
Result<Argon2Parameters> parse_password_hash(std::string_view encoded);

// True when `encoded` was not made with exactly `params` (or is not Argon2id v19): the
// caller, holding the just-verified password, hashes it again with `params`.
bool needs_rehash(std::string_view encoded, const Argon2Parameters& params);

// Lowercase hex SHA-256 of `text` (what auth.token_sha256 lists, and the digest kept of
// refresh tokens and client secrets).
std::string sha256_hex(std::string_view text);

// A new random token: 32 bytes from RAND_bytes, base64url without padding (43 characters).
// Aborts when the random generator fails: no secret is better than a guessable one.
std::string generate_token();

// A new client secret: 32 random bytes, base64url without padding (43 characters).
std::string generate_client_secret();

// "sha256$<64 lowercase hex digits>" of `secret`. A fast hash is enough here, unlike for
// passwords: a generated secret carries 256 random bits, so there is no dictionary to try
// and brute force over 2^256 is out of reach however fast each guess is. The prefix names
// the scheme so another can be introduced without guessing at old rows.
std::string hash_client_secret(std::string_view secret);

// Whether `secret` hashes to `stored` (from hash_client_secret()), compared in constant
// time. False for a stored value of another scheme.
bool verify_client_secret(std::string_view stored, std::string_view secret);

}  // namespace cg::gateway
