#pragma once
// The identities the gateway knows, as IdentityStore (identity_store.hpp) hands them out.
// None holds a password or secret hash, so each may be printed, logged or audited as is.
// Thread-safety: plain values.

#include <optional>
#include <string>
#include <vector>

#include "gateway/security/security_db.hpp"

namespace cg::gateway {

struct User {
  std::string username;
  // For a bridged user: the roles the upstream gave at its last accepted login, which hold
  // offline as long as the verifier does.
  std::vector<std::string> roles;
  bool disabled = false;
  TimePoint created_at;
  TimePoint updated_at;
  std::optional<std::string> fhir_user;  // e.g. "Practitioner/123", the SMART fhirUser claim
  bool bridged = false;  // origin "upstream": logs in through the upstream's token endpoint
  // Bridged users: when the upstream last accepted their password (unset once the upstream
  // refused it). The cached verifier holds until this plus the configured cached_login_ttl.
  std::optional<TimePoint> verified_at;
};

// An OAuth client: a device or an application.
struct Client {
  std::string client_id;
  std::string name;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;  // the most it may be granted, SMART v2 syntax
  bool disabled = false;
  bool has_secret = false;          // client_secret authentication
  std::optional<std::string> jwks;  // public JWK Set, for private_key_jwt
  TimePoint created_at;
  TimePoint updated_at;
};

// What add_client() returns: the secret is shown to the operator this once.
struct NewClient {
  std::string client_id;
  std::string secret;  // empty for a client that authenticates with a key
};

// Another gateway node.
struct Peer {
  std::string node_id;
  std::string cert_sha256;  // lowercase hex fingerprint of its TLS certificate
  std::vector<std::string> roles;
  bool disabled = false;
  TimePoint created_at;
};

}  // namespace cg::gateway
