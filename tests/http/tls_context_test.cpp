#include "protocols/http/tls_context.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include "tests/http/test_cert.hpp"

namespace cg::http {

using testing::make_certificate_authority;
using testing::make_issued;
using testing::make_self_signed;
using testing::TempDir;

TEST_CASE("a matching certificate and key make a TLS 1.2+ context") {
  TempDir dir;
  auto files = make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());
  auto ctx = make_server_tls_context({files.chain, files.key, {}});
  REQUIRE(ctx.ok());
  CHECK(SSL_CTX_get_min_proto_version(ctx->get()) == TLS1_2_VERSION);
}

TEST_CASE("loading failures name the file") {
  TempDir dir;
  auto files = make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());

  SUBCASE("missing certificate") {
    auto ctx = make_server_tls_context({dir.path() / "nope.crt", files.key, {}});
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().kind == ErrorKind::kInvalid);
    CHECK(ctx.error().message.find("nope.crt") != std::string::npos);
  }
  SUBCASE("missing key") {
    auto ctx = make_server_tls_context({files.chain, dir.path() / "nope.key", {}});
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().message.find("nope.key") != std::string::npos);
  }
  SUBCASE("garbage certificate") {
    const auto garbage = dir.path() / "garbage.pem";
    std::ofstream(garbage) << "not a certificate\n";
    auto ctx = make_server_tls_context({garbage, files.key, {}});
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().message.find("garbage.pem") != std::string::npos);
  }
  SUBCASE("key of another certificate") {
    auto other = make_self_signed(dir.path(), "other");
    auto ctx = make_server_tls_context({files.chain, other.key, {}});
    REQUIRE_FALSE(ctx.ok());
    // OpenSSL refuses the key while loading it ("key values mismatch").
    CHECK(ctx.error().message.find("other.key") != std::string::npos);
    CHECK(ctx.error().message.find("mismatch") != std::string::npos);
  }
}

TEST_CASE("client certificates: a CA file makes the context demand and verify them") {
  TempDir dir;
  auto files = make_self_signed(dir.path());
  auto ca = testing::make_certificate_authority(dir.path(), "ca", "Clinic Test CA");
  REQUIRE_FALSE(files.chain.empty());
  REQUIRE_FALSE(ca.chain.empty());
  auto ctx = make_server_tls_context({files.chain, files.key, {}});
  REQUIRE(ctx.ok());
  CHECK(SSL_CTX_get_verify_mode(ctx->get()) == SSL_VERIFY_NONE);
  REQUIRE(require_client_certificates(ctx->get(), ca.chain).ok());
  CHECK(SSL_CTX_get_verify_mode(ctx->get()) == (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT));
  const STACK_OF(X509_NAME)* issuers = SSL_CTX_get_client_CA_list(ctx->get());
  REQUIRE(issuers != nullptr);
  CHECK(sk_X509_NAME_num(issuers) == 1);
}

TEST_CASE("client certificates: a client_ca in the TlsConfig makes the context demand them") {
  TempDir dir;
  auto files = make_self_signed(dir.path());
  auto ca = testing::make_certificate_authority(dir.path(), "ca", "Clinic Test CA");
  REQUIRE_FALSE(files.chain.empty());
  REQUIRE_FALSE(ca.chain.empty());
  auto ctx = make_server_tls_context({files.chain, files.key, ca.chain});
  REQUIRE(ctx.ok());
  CHECK(SSL_CTX_get_verify_mode(ctx->get()) == (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT));
  CHECK(SSL_CTX_get_min_proto_version(ctx->get()) == TLS1_2_VERSION);

  auto missing = make_server_tls_context({files.chain, files.key, dir.path() / "no-ca.pem"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("no-ca.pem") != std::string::npos);
}

TEST_CASE("client certificates: an unusable CA file is named in the error") {
  TempDir dir;
  auto files = make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());
  auto ctx = make_server_tls_context({files.chain, files.key, {}});
  REQUIRE(ctx.ok());

  SUBCASE("missing") {
    auto status = require_client_certificates(ctx->get(), dir.path() / "no-ca.pem");
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::kInvalid);
    CHECK(status.error().message.find("no-ca.pem") != std::string::npos);
  }
  SUBCASE("no certificate inside") {
    const auto garbage = dir.path() / "garbage-ca.pem";
    std::ofstream(garbage) << "not a certificate\n";
    auto status = require_client_certificates(ctx->get(), garbage);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().message.find("garbage-ca.pem") != std::string::npos);
  }
}

TEST_CASE("verified_peer_subject is empty without a handshake") {
  TempDir dir;
  auto files = make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());
  auto ctx = make_server_tls_context({files.chain, files.key, {}});
  REQUIRE(ctx.ok());
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx->get()), &SSL_free);
  REQUIRE(ssl);
  CHECK(verified_peer_subject(ssl.get()).empty());
}

TEST_CASE("client contexts: TLS 1.2+, verify the server, present a certificate when given") {
  TempDir dir;
  auto ca = make_certificate_authority(dir.path(), "ca", "Test CA");
  auto node = make_issued(dir.path(), "node", "clinic-7", ca);
  REQUIRE_FALSE(node.chain.empty());
  ClientTlsConfig config;
  config.ca_file = ca.chain;
  auto plain = make_client_tls_context(config);
  REQUIRE_MESSAGE(plain.ok(), (plain.ok() ? "" : plain.error().message));
  CHECK(SSL_CTX_get_min_proto_version(plain->get()) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_verify_mode(plain->get()) == SSL_VERIFY_PEER);
  CHECK(SSL_CTX_get0_certificate(plain->get()) == nullptr);

  config.certificate_chain = node.chain;
  config.private_key = node.key;
  auto mutual = make_client_tls_context(config);
  REQUIRE(mutual.ok());
  CHECK(SSL_CTX_get0_certificate(mutual->get()) != nullptr);

  config.private_key.reset();
  CHECK(make_client_tls_context(config).error().kind == ErrorKind::kInvalid);
  config.certificate_chain.reset();
  config.ca_file = dir.path() / "missing.pem";
  auto missing = make_client_tls_context(config);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("missing.pem") != std::string::npos);
}

TEST_CASE("expect_server_name takes DNS names and IP addresses") {
  auto ctx = make_client_tls_context({});
  REQUIRE(ctx.ok());
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx->get()), &SSL_free);
  CHECK(expect_server_name(ssl.get(), "arr.district.org"));
  CHECK(std::string(SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name)) ==
        "arr.district.org");
  std::unique_ptr<SSL, decltype(&SSL_free)> by_address(SSL_new(ctx->get()), &SSL_free);
  CHECK(expect_server_name(by_address.get(), "127.0.0.1"));
  CHECK(expect_server_name(by_address.get(), "::1"));
  CHECK(SSL_get_servername(by_address.get(), TLSEXT_NAMETYPE_host_name) == nullptr);
}

}  // namespace cg::http
