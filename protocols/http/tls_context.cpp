#include "protocols/http/tls_context.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

// The certificate chain and its private key, which must match.
Status load_files(SSL_CTX* ctx, const std::filesystem::path& chain,
                  const std::filesystem::path& key) {
  if (Status s = check_readable(chain, "TLS certificate chain"); !s) return s;
  if (Status s = check_readable(key, "TLS private key"); !s) return s;
  if (SSL_CTX_use_certificate_chain_file(ctx, chain.c_str()) != 1) {
    return Error::invalid("cannot load TLS certificate chain '" + chain.string() +
                          "': " + take_openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Error::invalid("cannot load TLS private key '" + key.string() +
                          "': " + take_openssl_error());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Error::invalid("TLS private key '" + key.string() + "' does not match certificate '" +
                          chain.string() + "'");
  }
  return ok_status();
}

Status load_trusted_cas(SSL_CTX* ctx, const std::optional<std::filesystem::path>& ca_file) {
  if (!ca_file) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return Error::internal("cannot load the system's CA certificates: " + take_openssl_error());
    }
    return ok_status();
  }
  if (Status s = check_readable(*ca_file, "TLS CA file"); !s) return s;
  if (SSL_CTX_load_verify_locations(ctx, ca_file->c_str(), nullptr) != 1) {
    return Error::invalid("cannot load TLS CA file '" + ca_file->string() +
                          "': " + take_openssl_error());
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
  if (Status s = load_files(ctx.get(), config.certificate_chain, config.private_key); !s) {
    return s.take_error();
  }
  if (!config.client_ca.empty()) {
    if (Status s = require_client_certificates(ctx.get(), config.client_ca); !s) {
      return s.take_error();
    }
  }
  return ctx;
}

Result<TlsContextPtr> make_client_tls_context(const ClientTlsConfig& config) {
  ERR_clear_error();
  TlsContextPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Error::internal("cannot create TLS context: " + take_openssl_error());
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
    return Error::internal("cannot configure TLS context: " + take_openssl_error());
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (Status s = load_trusted_cas(ctx.get(), config.ca_file); !s) return s.take_error();
  if (config.certificate_chain.has_value() != config.private_key.has_value()) {
    return Error::invalid(
        "a TLS client certificate needs its private key, and the key its "
        "certificate");
  }
  if (config.certificate_chain) {
    if (Status s = load_files(ctx.get(), *config.certificate_chain, *config.private_key); !s) {
      return s.take_error();
    }
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

bool expect_server_name(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  unsigned char address[16];
  const bool is_address = ::inet_pton(AF_INET, host.c_str(), address) == 1 ||
                          ::inet_pton(AF_INET6, host.c_str(), address) == 1;
  if (is_address) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1 &&
         SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
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
