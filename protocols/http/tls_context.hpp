#pragma once
// Builds the OpenSSL server context for the HTTPS listener from a certificate chain and a
// private key (PEM files), and the client context of the gateway's outgoing TLS connections
// (bridged logins, audit forwarding). The server context has TLS 1.2 minimum, forward-secret AEAD
// ciphers only (ECDHE with AES-GCM or ChaCha20-Poly1305; TLS 1.3 suites are all AEAD), no
// compression, no renegotiation; optionally requiring client certificates (mutual TLS,
// TlsConfig::client_ca). Shared by the HTTPS and the MLLP listeners and the clients; kept apart
// from them so it is tested without sockets or Asio. Thread-safety: stateless; a finished context
// is shared read-only by many connections.

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <optional>
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

// What a client trusts and, for mutual TLS, presents.
struct ClientTlsConfig {
  std::optional<std::filesystem::path> ca_file;            // PEM CAs; unset: the system's CAs
  std::optional<std::filesystem::path> certificate_chain;  // PEM, with private_key
  std::optional<std::filesystem::path> private_key;        // PEM
};

// A client context: TLS 1.2 or later, the server's certificate must chain to `ca_file`'s
// CAs (or the system's), and with a certificate and key the client presents them to
// servers that ask (mutual TLS, as ATNA secure nodes do). OpenSSL's default client suites,
// so that older TLS 1.2 servers (an upstream audit repository) are reached too. kInvalid,
// naming the file, when one is missing or unreadable or the key does not match;
// kInternal when OpenSSL itself fails.
Result<TlsContextPtr> make_client_tls_context(const ClientTlsConfig& config);

// Makes the handshake on `ssl` check that the server's certificate names `host` (a DNS
// name, wildcards only as a whole label, or an IP address) and, for a DNS name, sends it
// as SNI. False when OpenSSL refuses the name.
bool expect_server_name(SSL* ssl, const std::string& host);

// The subject of the client certificate verified in the handshake of `ssl`, as an RFC 2253
// string ("CN=emr-1,O=Clinic"); empty when the client presented none or it did not verify.
std::string verified_peer_subject(const SSL* ssl);

}  // namespace cg::http
