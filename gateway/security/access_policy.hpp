#pragma once
// The authorization decision: whether the scopes of a verified token cover a FHIR
// interaction (decide) or a non-FHIR route (check_route), and under which conditions.
//
// FHIR interactions need SMART permissions on the resource type (docs/security.md, "Scopes
// and what they allow", has the table): read/vread r; search s; create c; update/patch u;
// delete d; history r+s; conditional create/update/delete also s; operations per a fixed
// table, unknown operations denied. A patient/ scope grants only inside the compartment of
// the token's patient, and a granular scope only resources matching its parameters; the
// decision hands those conditions to the caller, which must enforce them (filter a search,
// check a read resource, check a resource before and after a write).
//
// Routes other than the FHIR API carry a RoutePolicy; a default-constructed one means "no
// policy" and is refused, so a route registered without one fails closed and a test that
// enumerates routes can find it. Pure functions over values; thread-safe.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/security/scopes.hpp"

namespace cg::gateway {

enum class FhirInteraction {
  kCapabilities,  // GET metadata: public
  kRead,
  kVread,
  kSearch,  // resource_type "" for a system-level search (the _type parameter narrows it)
  kCreate,
  kUpdate,
  kPatch,
  kDelete,
  kHistoryInstance,
  kHistoryType,
  kHistorySystem,
  kOperation,  // `operation` names it, without the '$'
};
// A batch or transaction Bundle is not an interaction here: each entry is decided alone.

struct AccessRequest {
  FhirInteraction interaction = FhirInteraction::kRead;
  std::string resource_type;      // "" at system level
  std::string operation;          // kOperation: "everything", "validate", …
  bool conditional = false;       // create with If-None-Exist, update/delete with a search
  std::vector<ScopeParam> query;  // search: the query parameters (only _type is read here)
};

// One way the request may be allowed. Every condition of it must hold.
struct AccessCondition {
  std::string patient;            // non-empty: only resources in this Patient's compartment
  std::vector<ScopeParam> match;  // the resource must match each (a search ANDs them)
  bool operator==(const AccessCondition&) const = default;
};

struct AccessDecision {
  bool allowed = false;
  std::string reason;  // when denied: what was missing; no patient data, safe to return
  // When allowed: empty means unconditionally; otherwise the resource (each resource of a
  // search or history) must meet at least one of these.
  std::vector<AccessCondition> any_of;

  bool unconditional() const { return allowed && any_of.empty(); }
};

AccessDecision decide(const GrantedScopes& granted, const AccessRequest& request);

// Roles of a local user, device or peer node (stored with the identity, put in the token).
// kPatient: a person reading their own record (the user's fhirUser is their Patient).
enum class Role { kAdmin, kClinician, kDevice, kPeer, kPatient };
std::string_view role_name(Role role);
// nullopt when `name` ("admin", "clinician", "device", "peer", "patient") is not a role.
std::optional<Role> parse_role(std::string_view name);

// Who may use a non-FHIR route. Built only through the named factories.
class RoutePolicy {
 public:
  enum class Kind {
    kNone,           // no policy: every request refused (default; detectable by tests)
    kPublic,         // no token needed (/metadata, /health, discovery documents, /auth/token)
    kAuthenticated,  // any valid token
    kGranted,        // a token with `scope`, or whose holder has one of `roles`
    kFhir,           // the FHIR API: decided per interaction by decide()
  };

  RoutePolicy() = default;
  static RoutePolicy public_route() { return RoutePolicy(Kind::kPublic, {}, {}); }
  static RoutePolicy authenticated() { return RoutePolicy(Kind::kAuthenticated, {}, {}); }
  // Either the (opaque) scope or any of the roles suffices; an empty scope means roles only.
  static RoutePolicy granted(std::string scope, std::vector<Role> roles) {
    return RoutePolicy(Kind::kGranted, std::move(scope), std::move(roles));
  }
  static RoutePolicy fhir() { return RoutePolicy(Kind::kFhir, {}, {}); }

  Kind kind() const { return kind_; }
  bool is_set() const { return kind_ != Kind::kNone; }
  bool needs_token() const { return kind_ != Kind::kPublic; }
  const std::string& scope() const { return scope_; }
  const std::vector<Role>& roles() const { return roles_; }

 private:
  RoutePolicy(Kind kind, std::string scope, std::vector<Role> roles)
      : kind_(kind), scope_(std::move(scope)), roles_(std::move(roles)) {}

  Kind kind_ = Kind::kNone;
  std::string scope_;
  std::vector<Role> roles_;
};

// The decision for a request on a route, once a token (if the policy needs one) has been
// verified. kNone is always denied. kFhir is allowed when the token holds any clinical
// scope at all, as a first gate; the handler must still call decide() per interaction.
AccessDecision check_route(const RoutePolicy& policy, const GrantedScopes& granted,
                           std::span<const Role> roles);

}  // namespace cg::gateway
