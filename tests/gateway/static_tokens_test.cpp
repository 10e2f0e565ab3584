#include "gateway/security/static_tokens.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::gateway;

TEST_CASE("sha256_hex matches the well-known digest") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("only listed tokens are accepted, in the Bearer scheme") {
  std::string token = generate_token();
  CHECK(token.size() == 43);
  StaticTokenVerifier v({sha256_hex(token)});
  auto ok = v.verify("Bearer " + token);
  REQUIRE(ok.ok());
  CHECK(ok->subject.starts_with("token:"));
  CHECK(ok->subject.find(token) == std::string::npos);  // never the secret itself
  CHECK(v.verify("bearer " + token).ok());
  CHECK(v.verify("").error().kind == ErrorKind::kUnauthorized);
  CHECK_FALSE(v.verify("Basic " + token).ok());
  CHECK_FALSE(v.verify("Bearer " + token + "x").ok());
  CHECK_FALSE(v.verify("Bearer ").ok());
  CHECK(generate_token() != token);
}
