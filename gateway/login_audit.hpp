#pragma once
// The audit records of logins and of changes to who may log in (docs/atna.md, "What the
// gateway records about itself"), as FHIR AuditEvents in the DICOM vocabulary:
//
// - every token request (POST /auth/token, any grant): DCM 110114 User Authentication with
//   subtypes DCM 110122 Login and IHE ITI-71 Get Access Token (IUA); outcome 0 when a token
//   was issued, 4 when refused, 8 when the gateway could not answer. One record per request,
//   so a failed login is recorded once, whether or not security.db's table keeps it too;
// - a revocation (POST /auth/revoke): DCM 110114 with DCM 110123 Logout;
// - the security events of the login code (security_events.hpp) that are facts of their
//   own: a lockout is a DCM 110113 Security Alert (subtype DCM 110137 User Security
//   Attributes Changed for a user, DCM 110126 Node Authentication for an address), an
//   offline login with a cached verifier a Security Alert with the gateway's own subtype
//   `urn:clinic-gateway:security-alert|offline-login` (no DICOM code says "the authority was
//   not asked"). A login failure event is the failed token request's record already;
// - the operator's changes to users and clients (the CLI): DCM 110113 with DCM 110136
//   Security Roles Changed (a user or client added with its roles) or DCM 110137 User
//   Security Attributes Changed (password, secret, disabled, enabled).
//
// Records name users and clients by username or client id and the caller by address; never
// a password, a secret or a token (an issued access token is named by its `jti`). A name
// that is not a well-formed username or client id is recorded as "(malformed)".
//
// Pure builders, plus a SecurityEventSink that passes each event on to another sink (the
// security.db table) and emits its record; thread-safe.

#include <atomic>
#include <optional>

#include "gateway/audit_emitter.hpp"
#include "gateway/security/security_events.hpp"

namespace cg::gateway {

inline constexpr std::string_view kGatewaySecurityAlert = "urn:clinic-gateway:security-alert";

// One request to the token endpoint and what became of it.
struct TokenAttempt {
  std::string grant;    // "password", "client_credentials", "refresh_token"; "" unread
  std::string subject;  // username or client id: as asked, or the token's `sub` once issued
  bool client = false;  // the subject is a client (an application), not a person
  std::vector<std::string> roles;  // of the issued token
  std::string scope;               // granted
  std::string token_id;            // the issued access token's jti
  std::string address;             // the caller's
  int status = 0;                  // the HTTP status answered
  std::string error;               // RFC 6749 error code and description when refused
};
boost::json::object token_event(const AuditSource& source, const TokenAttempt& attempt,
                                std::int64_t now_ms);

// One request to the revocation endpoint.
struct RevocationAttempt {
  std::string subject;     // the revoked access token's `sub`; "" for a refresh token
  std::string token_kind;  // "access token", "refresh token" (or one not known)
  std::string token_id;    // the access token's jti
  std::string address;
  int status = 0;
};
boost::json::object revocation_event(const AuditSource& source, const RevocationAttempt& attempt,
                                     std::int64_t now_ms);

// The record of a security event; nullopt for a login failure (see above).
std::optional<boost::json::object> security_event_record(const AuditSource& source,
                                                         const SecurityEvent& event,
                                                         std::int64_t now_ms);

// What the operator changed about a user or a client.
struct AccountChange {
  bool client = false;
  std::string subject;  // username or client id
  enum class What { kAdded, kPassword, kDisabled, kEnabled } what = What::kAdded;
  std::vector<std::string> roles;  // kAdded: the roles it was given
  std::string operator_name;       // who ran the command (the Unix user), "" unknown
};
boost::json::object account_change_event(const AuditSource& source, const AccountChange& change,
                                         std::int64_t now_ms);

// A SecurityEventSink in front of another: every event goes on to `next` (the security.db
// table), and its record (when it has one) to the emitter once set_emitter() gave one.
class AuditedSecurityEvents final : public SecurityEventSink {
 public:
  explicit AuditedSecurityEvents(SecurityEventSink& next) : next_(next) {}
  // `emitter` (null: none) must outlive this sink's use.
  void set_emitter(AuditEmitter* emitter) { emitter_.store(emitter); }
  void record(const SecurityEvent& event) override;

 private:
  SecurityEventSink& next_;
  std::atomic<AuditEmitter*> emitter_{nullptr};
};

}  // namespace cg::gateway
