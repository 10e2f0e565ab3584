#pragma once
// Builds the OpenSSL server context for the HTTPS listener from a certificate chain and a
// private key (PEM files): TLS 1.2 minimum, forward-secret AEAD ciphers only (ECDHE with
// AES-GCM or ChaCha20-Poly1305; TLS 1.3 suites are all AEAD), no compression, no
// renegotiation; optionally requiring client certificates (mutual TLS, TlsConfig::client_ca).
// Shared by the HTTPS and the MLLP listeners; kept apart from them so it is tested without
// sockets or Asio.
// Thread-safety: stateless; a finished context is shared read-only by many connections.

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>

#include "protocols/fhir/model/result.hpp"
#include "protocols/http/server.hpp"

namespace cg::http {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using TlsContextPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// kInvalid, naming the file, when the chain, key or client CA file is missing, unreadable,
// malformed or the key does not match the certificate; kInternal when OpenSSL itself fails.
// With a client_ca the context requires client certificates (require_client_certificates).
Result<TlsContextPtr> make_server_tls_context(const TlsConfig& config);

// Makes `ctx` demand a certificate from every client and fail the handshake unless the
// client presents one that chains to a certificate in `ca_file` (PEM, one or more CA
// certificates, which are also named to clients as acceptable issuers). kInvalid, naming
// the file, when it is missing, unreadable or holds no certificate; `ctx` is then unusable.
Status require_client_certificates(SSL_CTX* ctx, const std::filesystem::path& ca_file);

// The subject of the client certificate verified in the handshake of `ssl`, as an RFC 2253
// string ("CN=emr-1,O=Clinic"); empty when the client presented none or it did not verify.
std::string verified_peer_subject(const SSL* ssl);

}  // namespace cg::http
