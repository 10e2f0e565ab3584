#include "gateway/security/access_policy.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <iterator>
#include <tuple>

namespace cg::gateway {
namespace {

using Alternatives = std::vector<AccessCondition>;

// Combining granular scopes multiplies alternatives; past this the request is refused
// rather than evaluated slowly (no real token comes near it).
constexpr std::size_t kMaxCombinations = 1024;
constexpr std::string_view kEveryType = "*";

// What a request needs: every permission in `permissions` on every type in `types`
// ("*" = only scopes on every type count).
struct Requirement {
  Permissions permissions;
  std::vector<std::string> types;
};

struct OperationRule {
  std::string_view name;
  std::uint8_t permissions;
  bool every_type;  // the operation returns resources of any type
};

constexpr std::uint8_t kR = static_cast<std::uint8_t>(Permission::kRead);
constexpr std::uint8_t kS = static_cast<std::uint8_t>(Permission::kSearch);
constexpr std::uint8_t kU = static_cast<std::uint8_t>(Permission::kUpdate);

// The table of docs/security.md. $everything returns a whole compartment, so only scopes
// on every type can cover it; terminology operations and $validate/$meta read.
constexpr std::array<OperationRule, 10> kOperations{{
    {"everything", kR | kS, true},
    {"validate", kR, false},
    {"meta", kR, false},
    {"meta-add", kU, false},
    {"meta-delete", kU, false},
    {"expand", kR, false},
    {"lookup", kR, false},
    {"validate-code", kR, false},
    {"subsumes", kR, false},
    {"translate", kR, false},
}};

AccessDecision denied(std::string reason) {
  return {false, std::move(reason), {}};
}

bool subsumes(const AccessCondition& wide, const AccessCondition& narrow) {
  if (!wide.patient.empty() && wide.patient != narrow.patient) return false;
  return std::includes(narrow.match.begin(), narrow.match.end(), wide.match.begin(),
                       wide.match.end());
}

// Drops alternatives another one already allows (conditions' `match` kept sorted).
Alternatives simplify(Alternatives in) {
  std::sort(in.begin(), in.end(), [](const auto& a, const auto& b) {
    return std::tie(a.patient, a.match) < std::tie(b.patient, b.match);
  });
  in.erase(std::unique(in.begin(), in.end()), in.end());
  std::vector<bool> redundant(in.size(), false);
  for (std::size_t i = 0; i < in.size(); ++i) {
    for (std::size_t j = 0; j < in.size() && !redundant[i]; ++j)
      redundant[i] = j != i && !redundant[j] && subsumes(in[j], in[i]);
  }
  Alternatives out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!redundant[i]) out.push_back(std::move(in[i]));
  }
  return out;
}

// Both sides must hold: every pair of alternatives, merged; pairs confined to two
// different patients allow nothing.
Alternatives both(const Alternatives& a, const Alternatives& b) {
  Alternatives out;
  for (const auto& x : a) {
    for (const auto& y : b) {
      if (!x.patient.empty() && !y.patient.empty() && x.patient != y.patient) continue;
      AccessCondition merged{x.patient.empty() ? y.patient : x.patient, {}};
      std::set_union(x.match.begin(), x.match.end(), y.match.begin(), y.match.end(),
                     std::back_inserter(merged.match));
      out.push_back(std::move(merged));
    }
  }
  return simplify(std::move(out));
}

bool scope_covers(const ResourceScope& s, std::string_view type, Permission p) {
  if (!s.permissions.has(p)) return false;
  return s.resource_type == kEveryType || (type != kEveryType && s.resource_type == type);
}

// The ways `granted` allows permission `p` on `type`. Sets *needs_patient when a patient/
// scope would have covered it but the token has no patient context.
Alternatives alternatives(const GrantedScopes& granted, std::string_view type, Permission p,
                          bool* needs_patient) {
  Alternatives out;
  for (const auto& scope : granted.resources) {
    if (!scope_covers(scope, type, p)) continue;
    bool confined = scope.context == ScopeContext::kPatient;
    if (confined && granted.patient.empty()) {
      *needs_patient = true;
      continue;
    }
    AccessCondition c{confined ? granted.patient : std::string(), scope.restriction};
    std::sort(c.match.begin(), c.match.end());
    c.match.erase(std::unique(c.match.begin(), c.match.end()), c.match.end());
    out.push_back(std::move(c));
  }
  return simplify(std::move(out));
}

std::string missing(Permission p, std::string_view type, bool needs_patient) {
  std::string what = "the token's scopes do not grant '" + Permissions{}.with(p).to_string() +
                     "' on " +
                     (type == kEveryType ? std::string("every resource type") : std::string(type));
  if (needs_patient) what += " (its patient/ scopes need a patient context, and it has none)";
  return what;
}

AccessDecision evaluate(const GrantedScopes& granted, const Requirement& need) {
  Alternatives result{AccessCondition{}};  // "allowed unconditionally" until narrowed
  for (const auto& type : need.types) {
    for (std::uint8_t bit = 1; bit <= 16; bit <<= 1) {
      auto p = static_cast<Permission>(bit);
      if (!need.permissions.has(p)) continue;
      bool needs_patient = false;
      auto ways = alternatives(granted, type, p, &needs_patient);
      if (ways.empty()) return denied(missing(p, type, needs_patient));
      if (result.size() * ways.size() > kMaxCombinations)
        return denied("too many granular scopes to combine");
      result = both(result, ways);
      if (result.empty()) return denied("no combination of the token's scopes covers the request");
    }
  }
  bool unconditional = result.size() == 1 && result[0] == AccessCondition{};
  return {true, {}, unconditional ? Alternatives{} : std::move(result)};
}

// The _type list of a system-level search ("Patient,Observation", possibly repeated);
// every type when absent.
std::vector<std::string> searched_types(const AccessRequest& request) {
  if (!request.resource_type.empty()) return {request.resource_type};
  std::vector<std::string> types;
  for (const auto& param : request.query) {
    if (param.name != "_type") continue;
    std::size_t pos = 0;
    while (pos <= param.value.size()) {
      auto comma = std::min(param.value.find(',', pos), param.value.size());
      if (comma > pos) types.push_back(param.value.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  if (types.empty()) types.emplace_back(kEveryType);
  return types;
}

Permissions of(std::initializer_list<Permission> ps) {
  Permissions out;
  for (auto p : ps) out = out.with(p);
  return out;
}

// Requirement of an instance- or type-level interaction; conditional ones also search.
std::optional<Requirement> typed_requirement(const AccessRequest& r, Permissions permissions) {
  if (r.resource_type.empty()) return std::nullopt;
  if (r.conditional) permissions = permissions.with(Permission::kSearch);
  return Requirement{permissions, {r.resource_type}};
}

std::optional<Requirement> operation_requirement(const AccessRequest& r) {
  for (const auto& rule : kOperations) {
    if (rule.name != r.operation) continue;
    bool every = rule.every_type || r.resource_type.empty();
    return Requirement{Permissions{rule.permissions},
                       {every ? std::string(kEveryType) : r.resource_type}};
  }
  return std::nullopt;
}

std::optional<Requirement> requirement(const AccessRequest& r) {
  using I = FhirInteraction;
  using P = Permission;
  switch (r.interaction) {
    case I::kCapabilities:
      return Requirement{};
    case I::kRead:
    case I::kVread:
      return typed_requirement(r, of({P::kRead}));
    case I::kSearch:
      return Requirement{of({P::kSearch}), searched_types(r)};
    case I::kCreate:
      return typed_requirement(r, of({P::kCreate}));
    case I::kUpdate:
    case I::kPatch:
      return typed_requirement(r, of({P::kUpdate}));
    case I::kDelete:
      return typed_requirement(r, of({P::kDelete}));
    case I::kHistoryInstance:
    case I::kHistoryType:
      return typed_requirement(r, of({P::kRead, P::kSearch}));
    case I::kHistorySystem:
      return Requirement{of({P::kRead, P::kSearch}), {std::string(kEveryType)}};
    case I::kOperation:
      return operation_requirement(r);
  }
  return std::nullopt;
}

bool has_role(std::span<const Role> held, const std::vector<Role>& wanted) {
  return std::any_of(wanted.begin(), wanted.end(),
                     [&](Role w) { return std::find(held.begin(), held.end(), w) != held.end(); });
}

}  // namespace

AccessDecision decide(const GrantedScopes& granted, const AccessRequest& request) {
  auto need = requirement(request);
  if (!need) {
    return denied(request.interaction == FhirInteraction::kOperation
                      ? "operation $" + request.operation + " has no access rule"
                      : std::string("the interaction needs a resource type"));
  }
  return evaluate(granted, *need);
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kClinician:
      return "clinician";
    case Role::kDevice:
      return "device";
    case Role::kPeer:
      return "peer";
    case Role::kPatient:
      return "patient";
  }
  return "admin";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role role : {Role::kAdmin, Role::kClinician, Role::kDevice, Role::kPeer, Role::kPatient}) {
    if (role_name(role) == name) return role;
  }
  return std::nullopt;
}

AccessDecision check_route(const RoutePolicy& policy, const GrantedScopes& granted,
                           std::span<const Role> roles) {
  using K = RoutePolicy::Kind;
  switch (policy.kind()) {
    case K::kNone:
      return denied("the route has no access policy");
    case K::kPublic:
    case K::kAuthenticated:
      return {true, {}, {}};
    case K::kGranted:
      if ((!policy.scope().empty() && granted.has_opaque(policy.scope())) ||
          has_role(roles, policy.roles())) {
        return {true, {}, {}};
      }
      return denied("the token has neither the route's scope nor one of its roles");
    case K::kFhir:
      if (!granted.resources.empty()) return {true, {}, {}};
      return denied("the token has no FHIR resource scopes");
  }
  return denied("the route has no access policy");
}

}  // namespace cg::gateway
