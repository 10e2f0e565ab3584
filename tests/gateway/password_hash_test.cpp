#include "gateway/security/password_hash.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace cg;
using namespace cg::gateway;

namespace {

constexpr Argon2Parameters kFast{64, 1, 1};

std::string fast_hash(std::string_view password, Argon2Parameters params = kFast) {
  auto hashed = hash_password(password, params);
  REQUIRE_MESSAGE(hashed.ok(), (hashed.ok() ? "" : hashed.error().message));
  return *hashed;
}

}  // namespace

TEST_CASE("a password hash is an Argon2id PHC string carrying its parameters") {
  const std::string hashed = fast_hash("correct horse battery");
  CHECK(hashed.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
  auto params = parse_password_hash(hashed);
  REQUIRE(params.ok());
  CHECK(*params == kFast);
  CHECK(hashed.find("correct horse") == std::string::npos);
}

TEST_CASE("the right password verifies and any other does not") {
  const std::string hashed = fast_hash("correct horse battery");
  CHECK(verify_password(hashed, "correct horse battery").value());
  CHECK_FALSE(verify_password(hashed, "correct horse batterY").value());
  CHECK_FALSE(verify_password(hashed, "").value());
  CHECK_FALSE(verify_password(hashed, "correct horse battery ").value());
}

TEST_CASE("two hashes of one password differ: every hash gets its own salt") {
  CHECK(fast_hash("correct horse battery") != fast_hash("correct horse battery"));
}

TEST_CASE("a hash made with other parameters needs a rehash") {
  const std::string hashed = fast_hash("correct horse battery");
  CHECK_FALSE(needs_rehash(hashed, kFast));
  CHECK(needs_rehash(hashed, Argon2Parameters{128, 1, 1}));
  CHECK(needs_rehash(hashed, Argon2Parameters{64, 2, 1}));
  CHECK(needs_rehash(hashed, Argon2Parameters{64, 1, 2}));
  CHECK(needs_rehash("$2b$12$notargon", kFast));
}

TEST_CASE("malformed, foreign and oversized hashes are refused, not computed") {
  for (std::string_view bad :
       {"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA", "$argon2id$v=16$m=64,t=1,p=1$a$b",
        "$argon2id$v=19$m=64,t=1$a$b", "$argon2id$v=19$m=x,t=1,p=1$a$b",
        "$argon2id$v=19$m=64,t=1,p=1$nohash",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}) {
    CAPTURE(bad);
    auto verified = verify_password(bad, "password");
    REQUIRE_FALSE(verified.ok());
    CHECK(verified.error().kind == ErrorKind::kInvalid);
  }
  // A planted row asking for 4 GiB must not make a login allocate it.
  auto huge = verify_password("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA", "x");
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().message.find("memory") != std::string::npos);
  // A damaged hash part is a libargon2 decoding error, reported as invalid.
  std::string damaged = fast_hash("correct horse battery");
  damaged.back() = '!';
  CHECK_FALSE(verify_password(damaged, "correct horse battery").ok());
}

TEST_CASE("the default parameters are OWASP's Argon2id minimum, and one hash takes real work") {
  const Argon2Parameters defaults;
  CHECK(defaults.memory_kib == 19456);
  CHECK(defaults.iterations == 2);
  CHECK(defaults.parallelism == 1);
  const auto start = std::chrono::steady_clock::now();
  const std::string hashed = fast_hash("correct horse battery", defaults);
  const auto hashing = std::chrono::steady_clock::now() - start;
  CHECK(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
  CHECK(verify_password(hashed, "correct horse battery").value());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(hashing).count();
  MESSAGE("Argon2id m=19456,t=2,p=1: one hash took " << ms << " ms");
  // 19 MiB are written and read twice: even a fast machine needs milliseconds.
  CHECK(hashing >= std::chrono::milliseconds(2));
}

TEST_CASE("parameters libargon2 refuses are an invalid-input error") {
  auto refused = hash_password("correct horse battery", Argon2Parameters{1, 1, 1});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kInvalid);
}

TEST_CASE("a client secret is 256 random bits in base64url, kept only as its SHA-256") {
  const std::string secret = generate_client_secret();
  CHECK(secret.size() == 43);
  CHECK(secret.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
        std::string::npos);
  CHECK(generate_client_secret() != secret);
  const std::string stored = hash_client_secret(secret);
  CHECK(stored == "sha256$" + sha256_hex(secret));
  CHECK(verify_client_secret(stored, secret));
  CHECK_FALSE(verify_client_secret(stored, secret + "x"));
  CHECK_FALSE(verify_client_secret(stored, ""));
  CHECK_FALSE(verify_client_secret("plain$" + secret, secret));
}

TEST_CASE("sha256_hex matches the FIPS 180-2 example digest") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
