#include "protocols/http/tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace cg::http {
namespace {

// Mozilla "intermediate" TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Session resumption on a context that verifies peers needs a session id context.
constexpr std::string_view kSessionIdContext = "clinic-gateway";

// The oldest queued OpenSSL error as text (clears the queue), for operator messages.
std::string take_openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

// A missing or unreadable file gets a plain message instead of OpenSSL's BIO jargon.
Status check_readable(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  if (path.empty()) return Error::invalid(std::string(what) + " path is empty");
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Error::invalid(std::string(what) + " '" + path.string() +
                          "' does not exist or is not a regular file");
  }
  return ok_status();
}

Status load_files(SSL_CTX* ctx, const TlsConfig& config) {
  if (Status s = check_readable(config.certificate_chain, "TLS certificate chain"); !s) return s;
  if (Status s = check_readable(config.private_key, "TLS private key"); !s) return s;
  if (SSL_CTX_use_certificate_chain_file(ctx, config.certificate_chain.c_str()) != 1) {
    return Error::invalid("cannot load TLS certificate chain '" +
                          config.certificate_chain.string() + "': " + take_openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error::invalid("cannot load TLS private key '" + config.private_key.string() +
                          "': " + take_openssl_error());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Error::invalid("TLS private key '" + config.private_key.string() +
                          "' does not match certificate '" + config.certificate_chain.string() +
                          "'");
  }
  return ok_status();
}

}  // namespace

Result<TlsContextPtr> make_server_tls_context(const TlsConfig& config) {
  ERR_clear_error();
  TlsContextPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return Error::internal("cannot create TLS context: " + take_openssl_error());
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1) {
    return Error::internal("cannot configure TLS context: " + take_openssl_error());
  }
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (Status s = load_files(ctx.get(), config); !s) return s.take_error();
  if (!config.client_ca.empty()) {
    if (Status s = require_client_certificates(ctx.get(), config.client_ca); !s) {
      return s.take_error();
    }
  }
  return ctx;
}

Status require_client_certificates(SSL_CTX* ctx, const std::filesystem::path& ca_file) {
  ERR_clear_error();
  if (Status s = check_readable(ca_file, "TLS client CA file"); !s) return s;
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    return Error::invalid("cannot load TLS client CA file '" + ca_file.string() +
                          "': " + take_openssl_error());
  }
  STACK_OF(X509_NAME)* issuers = SSL_load_client_CA_file(ca_file.c_str());
  if (issuers == nullptr) {
    return Error::invalid("TLS client CA file '" + ca_file.string() + "' holds no certificate");
  }
  SSL_CTX_set_client_CA_list(ctx, issuers);  // takes ownership
  if (SSL_CTX_set_session_id_context(
          ctx, reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
          static_cast<unsigned>(kSessionIdContext.size())) != 1) {
    return Error::internal("cannot configure TLS context: " + take_openssl_error());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ok_status();
}

std::string verified_peer_subject(const SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  std::unique_ptr<BIO, decltype(&BIO_free)> text(BIO_new(BIO_s_mem()), &BIO_free);
  if (!text ||
      X509_NAME_print_ex(text.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) < 0) {
    return {};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(text.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

}  // namespace cg::http
