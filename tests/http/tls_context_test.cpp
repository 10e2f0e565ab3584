#include "protocols/http/tls_context.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include "tests/http/test_cert.hpp"

namespace cg::http {

using testing::make_self_signed;
using testing::TempDir;

TEST_CASE("a matching certificate and key make a TLS 1.2+ context") {
  TempDir dir;
  auto files = make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());
  auto ctx = make_server_tls_context({files.chain, files.key});
  REQUIRE(ctx.ok());
  CHECK(SSL_CTX_get_min_proto_version(ctx->get()) == TLS1_2_VERSION);
}

TEST_CASE("loading failures name the file") {
  TempDir dir;
  auto files = make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());

  SUBCASE("missing certificate") {
    auto ctx = make_server_tls_context({dir.path() / "nope.crt", files.key});
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().kind == ErrorKind::kInvalid);
    CHECK(ctx.error().message.find("nope.crt") != std::string::npos);
  }
  SUBCASE("missing key") {
    auto ctx = make_server_tls_context({files.chain, dir.path() / "nope.key"});
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().message.find("nope.key") != std::string::npos);
  }
  SUBCASE("garbage certificate") {
    const auto garbage = dir.path() / "garbage.pem";
    std::ofstream(garbage) << "not a certificate\n";
    auto ctx = make_server_tls_context({garbage, files.key});
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().message.find("garbage.pem") != std::string::npos);
  }
  SUBCASE("key of another certificate") {
    auto other = make_self_signed(dir.path(), "other");
    auto ctx = make_server_tls_context({files.chain, other.key});
    REQUIRE_FALSE(ctx.ok());
    // OpenSSL refuses the key while loading it ("key values mismatch").
    CHECK(ctx.error().message.find("other.key") != std::string::npos);
    CHECK(ctx.error().message.find("mismatch") != std::string::npos);
  }
}

}  // namespace cg::http
