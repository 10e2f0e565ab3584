#pragma once
// OAuthEndpoints: the gateway's own authorization server, as the router serves it:
//   POST /auth/token                    the token endpoint (security/token_service.hpp)
//   POST /auth/revoke                   RFC 7009 revocation of a refresh or access token
//   GET  /.well-known/jwks.json         the public key access tokens are signed with
//   GET  [/fhir]/.well-known/smart-configuration  SMART App Launch 2.0 discovery
// and the check of the access tokens it issued (signature, issuer, audience, expiry).
// Owns security.db's stores and the signing key (data_dir/keys/token-signing-key.pem,
// created at first start, mode 0600 in a 0700 directory), the security event log
// (security_events.hpp) and, with [upstream] token_url set, the upstream login for bridged
// users (upstream_login.hpp).
// With an audit emitter, every token request, revocation, lockout and offline login leaves
// an audit record (login_audit.hpp).
//
// Thread-safety: every method may be called from the HTTP worker threads at once. token()
// blocks on Argon2 and SQLite (tens of ms): the router calls it on a worker, never on I/O.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "gateway/audit_emitter.hpp"
#include "gateway/config.hpp"
#include "gateway/login_audit.hpp"
#include "gateway/security/identity_store.hpp"
#include "gateway/security/login_lockout.hpp"
#include "gateway/security/refresh_tokens.hpp"
#include "gateway/security/security_events.hpp"
#include "gateway/security/signing_key.hpp"
#include "gateway/security/static_tokens.hpp"
#include "gateway/security/token_service.hpp"
#include "protocols/http/message.hpp"

namespace cg::gateway {

// data_dir/keys/token-signing-key.pem: the key that signs the gateway's access tokens.
std::filesystem::path token_signing_key_file(const std::filesystem::path& data_dir);
// Loads that key, or makes it the first time: keys/ is created (mode 0700) when missing, the
// key file with mode 0600 (SigningKey::load_or_generate). `serve` and `init` both call this.
// Errors: the file system's; a key file others can read or OpenSSL cannot use (kInvalid).
Result<SigningKey> open_token_signing_key(const std::filesystem::path& data_dir);

class OAuthEndpoints {
 public:
  // Opens security.db and the signing key under config.data_dir (creating both the first
  // time), and reads upstream.client_secret_file when set. Errors: the file system's, a key
  // file others can read, an unreadable or empty client secret file.
  static Result<std::unique_ptr<OAuthEndpoints>> open(const GatewayConfig& config);

  // Records every token request, revocation and security event from now on; `emitter`
  // (null: none) must outlive this. Before serving, or from any thread.
  void set_audit_emitter(AuditEmitter* emitter);

  http::Response token(const http::Request& request);
  // Always 200 for a well-formed request, whether the token was known or not (RFC 7009
  // §2.2). A refresh token's whole chain is revoked; an access token is refused from then on
  // until it expires (kept in memory: a restart forgets it, and it expires within minutes).
  http::Response revoke(const http::Request& request);
  http::Response jwks() const;
  // The discovery document, its endpoint URLs absolute under `origin` ("https://host:port",
  // the router's: http.public_base_url, else the request's scheme and Host). Cached by
  // clients for 5 minutes only when public_base_url pins the origin.
  http::Response smart_configuration(std::string_view origin) const;

  // An access token this gateway issued ("Bearer <jwt>"), still valid: its subject, scope
  // and roles. kUnauthorized otherwise.
  Result<Principal> verify_access_token(std::string_view authorization) const;

  // `iss` and `aud` of the tokens: http.public_base_url when set, else
  // "urn:clinic-gateway:<node name>" (a name the gateway keeps whatever Host it is called by).
  const std::string& issuer() const { return issuer_; }

 private:
  OAuthEndpoints(std::shared_ptr<SecurityDatabase> db, SigningKey key, std::string issuer,
                 std::string base_url, IdentityConfig identity,
                 std::unique_ptr<UpstreamLogin> upstream);

  // token() and revoke() before their audit record: what was asked and what became of it.
  http::Response answer_token(const http::Request& request, TokenAttempt& attempt);
  http::Response answer_revocation(const http::Request& request, RevocationAttempt& attempt);
  // A SMART Backend Services client assertion (private_key_jwt): the client it proves.
  Result<Client> check_assertion(std::string_view assertion, IdentityStore& identities);
  bool audience_is_token_endpoint(const boost::json::object& claims) const;
  // The token's user (or client) still exists and is enabled.
  bool subject_enabled(const std::string& subject, bool client) const;

  std::shared_ptr<SecurityDatabase> db_;
  SigningKey key_;
  std::string issuer_;
  std::string base_url_;              // for the discovery document's endpoint URLs; "" = relative
  mutable IdentityStore identities_;  // find_* lock its connection, nothing more
  RefreshTokenStore refresh_tokens_;
  LoginLockout lockout_;
  SecurityEventStore events_;
  AuditedSecurityEvents audited_events_;  // events_, and the audit trail
  std::atomic<AuditEmitter*> audit_{nullptr};
  std::unique_ptr<UpstreamLogin> upstream_;  // null: no [upstream] token_url
  TokenService service_;
  // Revoked access tokens: jti → exp (seconds), until they expire; bounded.
  mutable std::mutex revoked_mutex_;
  std::map<std::string, std::int64_t> revoked_;
  // Client assertions seen: "client_id jti" → exp, until they expire (no replay); bounded.
  std::mutex assertions_mutex_;
  std::map<std::string, std::int64_t> seen_assertions_;
};

}  // namespace cg::gateway
