#pragma once
// SMART App Launch 2.0 scopes: the parsed form of an OAuth2 `scope` string, as requested at
// the token endpoint and as carried in an access token. Clinical scopes are
// `<context>/<type>.<permissions>[?<param>=<value>[&…]]`: context patient/, user/ or system/;
// a FHIR R4 resource type or `*`; v2 permissions, an ordered subset of "cruds"
// (create read update delete search), or the v1 forms read (= rs), write (= cud) and
// * (= cruds); an optional granular restriction to resources matching search parameters.
// The identity, launch and lifetime scopes (openid, fhirUser, profile, launch,
// launch/patient, offline_access, online_access) are flags; anything else is kept opaque
// (the gateway's own route scopes, launch/encounter, vendor scopes).
//
// A scope that claims the clinical syntax but does not follow it is never widened or
// guessed at: it is reported in ParsedScopes::rejected and grants nothing, so the token
// endpoint can answer invalid_scope or issue the narrower set (RFC 6749 §3.3).
// Pure functions over values; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

enum class ScopeContext { kPatient, kUser, kSystem };

enum class Permission : std::uint8_t {
  kCreate = 1,
  kRead = 2,
  kUpdate = 4,
  kDelete = 8,
  kSearch = 16,
};

// A set of permissions; prints in SMART order ("cruds").
struct Permissions {
  std::uint8_t bits = 0;

  bool has(Permission p) const { return (bits & static_cast<std::uint8_t>(p)) != 0; }
  bool covers(Permissions other) const { return (bits & other.bits) == other.bits; }
  Permissions with(Permission p) const {
    return {static_cast<std::uint8_t>(bits | static_cast<std::uint8_t>(p))};
  }
  std::string to_string() const;
  bool operator==(const Permissions&) const = default;
};

// One search parameter of a granular scope, percent-decoded ("category",
// "http://terminology.hl7.org/CodeSystem/observation-category|laboratory").
struct ScopeParam {
  std::string name;
  std::string value;
  auto operator<=>(const ScopeParam&) const = default;
};

struct ResourceScope {
  ScopeContext context = ScopeContext::kPatient;
  std::string resource_type;  // an R4 resource type, or "*" for every type
  Permissions permissions;
  std::vector<ScopeParam> restriction;  // every one must match; empty: the whole type
  bool operator==(const ResourceScope&) const = default;
};

struct GrantedScopes {
  std::vector<ResourceScope> resources;
  bool openid = false;
  bool fhir_user = false;
  bool profile = false;
  bool launch = false;
  bool launch_patient = false;
  bool offline_access = false;
  bool online_access = false;
  std::vector<std::string> opaque;  // every other well-formed scope token, as written
  // The patient context (the token's `patient` claim), filled in by whoever verified the
  // token; patient/ scopes grant nothing without it. Not part of the scope string.
  std::string patient;

  bool has_opaque(std::string_view scope) const;
  bool operator==(const GrantedScopes&) const = default;
};

struct RejectedScope {
  std::string scope;   // as written (safe to echo: scopes hold no patient data)
  std::string reason;  // why, for the error_description
};

struct ParsedScopes {
  GrantedScopes granted;
  std::vector<RejectedScope> rejected;
};

// Limits on a whole scope string; over them parse_scopes fails with kTooLarge.
inline constexpr std::size_t kMaxScopeStringBytes = 8192;
inline constexpr std::size_t kMaxScopeCount = 100;

// Parses a space-separated scope string. Repeated spaces are tolerated; a duplicated scope
// counts once. Fails (kTooLarge) only when the string as a whole is over the limits above;
// a malformed single scope goes to `rejected` and the others still parse.
Result<ParsedScopes> parse_scopes(std::string_view scope_string);

// The v2 spelling of one clinical scope ("patient/Observation.rs?category=laboratory"),
// percent-encoding in restriction values only what would break the syntax (space, '&',
// '%', '=', and non-printable bytes).
std::string format_scope(const ResourceScope& scope);
// The whole set as a scope string (flags, clinical scopes in v2 spelling, opaque scopes),
// e.g. for the `scope` of a token response. parse_scopes(format_scopes(g)) gives g back
// apart from `patient`.
std::string format_scopes(const GrantedScopes& granted);

}  // namespace cg::gateway
