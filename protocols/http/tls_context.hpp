#pragma once
// Builds the OpenSSL server context for the HTTPS listener from a certificate chain and a
// private key (PEM files): TLS 1.2 minimum, forward-secret AEAD ciphers only (ECDHE with
// AES-GCM or ChaCha20-Poly1305; TLS 1.3 suites are all AEAD), no compression, no
// renegotiation. Kept apart from server.cpp so it is tested without sockets or Asio.
// Thread-safety: stateless; a finished context is shared read-only by many connections.

#include <openssl/ssl.h>

#include <memory>

#include "protocols/fhir/model/result.hpp"
#include "protocols/http/server.hpp"

namespace cg::http {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using TlsContextPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// kInvalid, naming the file, when the chain or key is missing, unreadable, malformed or
// the key does not match the certificate; kInternal when OpenSSL itself fails.
Result<TlsContextPtr> make_server_tls_context(const TlsConfig& config);

}  // namespace cg::http
