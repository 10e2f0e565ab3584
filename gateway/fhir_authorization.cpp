#include "gateway/fhir_authorization.hpp"

#include <algorithm>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/rest/resource_io.hpp"

namespace cg::gateway {
namespace {

using fhir::Interaction;

std::vector<ScopeParam> query_of(const fhir::FhirRequest& request) {
  std::vector<ScopeParam> out;
  for (const auto& p : request.params) out.push_back({p.name, p.value});
  return out;
}

// A type a search reaches beyond the one it searches, and how: _include and _revinclude
// return resources of it (read), chained parameters and _has filter on it (search).
struct Reach {
  FhirInteraction how = FhirInteraction::kRead;
  std::string type;  // "*" when it cannot be narrowed
  std::string parameter;
};

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto at = text.find(sep, start);
    out.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// The types a reference parameter of `type` points at; {"*"} when unknown or unrestricted.
std::vector<std::string> targets_of(std::string_view type, std::string_view param) {
  const auto* def = type == "*" ? nullptr : fhir::find_search_parameter(type, param);
  if (def == nullptr || def->target.empty()) return {"*"};
  return {def->target.begin(), def->target.end()};
}

// _include=Source:param[:Target] returns the targets; _revinclude=Source:param the sources.
void reached_by_include(const fhir::QueryParam& p, bool reverse, std::vector<Reach>& out) {
  auto parts = split(p.value, ':');
  std::vector<std::string> types;
  if (parts.size() < 2 || parts[0] == "*" || parts[1] == "*") {
    types = reverse && parts[0] != "*" ? std::vector<std::string>{std::string(parts[0])}
                                       : std::vector<std::string>{"*"};
  } else if (reverse) {
    types = {std::string(parts[0])};
  } else if (parts.size() >= 3) {
    types = {std::string(parts[2])};
  } else {
    types = targets_of(parts[0], parts[1]);
  }
  for (auto& t : types) out.push_back({FhirInteraction::kRead, std::move(t), p.name});
}

// subject:Patient.organization.name: every hop but the last names the next type.
void reached_by_chain(const fhir::QueryParam& p, std::vector<std::string> types,
                      std::vector<Reach>& out) {
  auto hops = split(p.name, '.');
  for (std::size_t i = 0; i + 1 < hops.size(); ++i) {
    auto param_and_type = split(hops[i], ':');
    std::vector<std::string> next;
    if (param_and_type.size() > 1) {
      next = {std::string(param_and_type[1])};
    } else {
      for (const auto& t : types) {
        for (auto& target : targets_of(t, param_and_type[0])) next.push_back(std::move(target));
      }
    }
    for (const auto& t : next) out.push_back({FhirInteraction::kSearch, t, p.name});
    types = std::move(next);
  }
}

// _has:Observation:patient:_has:AuditEvent:entity:agent=x: each named type is searched.
void reached_by_has(const fhir::QueryParam& p, std::vector<Reach>& out) {
  auto parts = split(p.name, ':');
  for (std::size_t i = 0; i + 1 < parts.size() && parts[i] == "_has"; i += 3) {
    out.push_back({FhirInteraction::kSearch, std::string(parts[i + 1]), p.name});
  }
}

std::vector<Reach> reached_types(const fhir::FhirRequest& r) {
  std::vector<std::string> searched;
  if (!r.type.empty()) {
    searched = {r.type};
  } else {
    for (auto list : fhir::param_values(r.params, "_type")) {
      for (auto t : split(list, ',')) searched.emplace_back(t);
    }
    if (searched.empty()) searched = {"*"};
  }
  std::vector<Reach> out;
  for (const auto& p : r.params) {
    if (p.name.starts_with("_include")) {
      reached_by_include(p, false, out);
    } else if (p.name.starts_with("_revinclude")) {
      reached_by_include(p, true, out);
    } else if (p.name.starts_with("_has:")) {
      reached_by_has(p, out);
    } else if (p.name.find('.') != std::string::npos) {
      reached_by_chain(p, searched, out);
    }
  }
  return out;
}

// Each type a search reaches must be allowed outright: what an _include returns or a chain
// filters on is not confined by the searched type's conditions.
Status authorize_reach(const GrantedScopes& granted, const fhir::FhirRequest& request) {
  for (const Reach& reach : reached_types(request)) {
    AccessRequest a;
    a.interaction = reach.how;
    a.resource_type = reach.type;  // "*" needs a scope on every type
    const AccessDecision d = decide(granted, a);
    if (!d.unconditional()) {
      return Error::forbidden("the parameter " + reach.parameter + " reaches " +
                              (reach.type == "*" ? std::string("every type") : reach.type) +
                              ", which the token may not " +
                              (reach.how == FhirInteraction::kRead ? "read" : "search") +
                              " outright");
    }
  }
  return ok_status();
}

std::string entry_text(const boost::json::object& request, std::string_view key) {
  const auto* v = request.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// One entry of a batch or transaction as the FHIR layer will run it (fhir_api.cpp's
// batch_entry and transaction.cpp read the same fields), decided on its own. Fail closed:
// an entry this cannot read is refused, never waved through to a parser that might read it.
Status authorize_entry(const GrantedScopes& granted, const boost::json::value& raw,
                       std::size_t index) {
  auto refuse = [&](std::string_view why) {
    return Error::forbidden("Bundle entry " + std::to_string(index) + ": " + std::string(why));
  };
  const auto* entry = raw.if_object();
  const auto* req = entry != nullptr ? entry->if_contains("request") : nullptr;
  if (req == nullptr || !req->is_object()) return refuse("it has no request to authorize");
  http::Request sub;
  sub.method = entry_text(req->get_object(), "method");
  sub.target = entry_text(req->get_object(), "url");
  if (auto v = entry_text(req->get_object(), "ifNoneExist"); !v.empty()) {
    sub.headers.emplace_back("If-None-Exist", v);
  }
  std::string_view target = sub.target;
  if (target.starts_with('/')) target.remove_prefix(1);
  auto q = target.find('?');
  auto parsed = fhir::parse_fhir_request(sub, target.substr(0, q),
                                         q == std::string_view::npos ? "" : target.substr(q + 1));
  if (!parsed) return refuse("its request cannot be read: " + parsed.error().message);
  if (parsed->interaction == Interaction::kBatch) return refuse("a nested Bundle");
  const AccessDecision decision = decide(granted, access_request_of(*parsed, sub));
  if (!decision.allowed) return refuse(decision.reason);
  if (!decision.unconditional()) {
    return refuse(
        "its scope allows it only within a patient compartment or for matching resources, "
        "which a Bundle entry cannot be confined to: send it as its own request");
  }
  return ok_status();
}

// Every entry of a batch or transaction Bundle must be allowed on its own. A body that is
// not a batch or transaction is the FHIR layer's to refuse (and it stores nothing).
Status authorize_bundle(const GrantedScopes& granted, const http::Request& http) {
  if (allows_every_interaction(granted)) return ok_status();
  auto format = fhir::request_body_format(http);
  if (!format) return ok_status();
  auto bundle = fhir::parse_resource(http.body, *format);
  if (!bundle) return ok_status();
  const auto* type = bundle->if_contains("type");
  if (type == nullptr || !type->is_string() ||
      (type->get_string() != "batch" && type->get_string() != "transaction")) {
    return ok_status();
  }
  const auto* entries = bundle->if_contains("entry");
  if (entries == nullptr || !entries->is_array()) return ok_status();
  for (std::size_t i = 0; i < entries->get_array().size(); ++i) {
    if (auto s = authorize_entry(granted, entries->get_array()[i], i); !s) return s;
  }
  return ok_status();
}

}  // namespace

bool allows_every_interaction(const GrantedScopes& granted) {
  Permissions all;
  for (Permission p : {Permission::kCreate, Permission::kRead, Permission::kUpdate,
                       Permission::kDelete, Permission::kSearch}) {
    all = all.with(p);
  }
  return std::any_of(granted.resources.begin(), granted.resources.end(), [&](const auto& s) {
    return s.context != ScopeContext::kPatient && s.resource_type == "*" &&
           s.permissions.covers(all) && s.restriction.empty();
  });
}

AccessRequest access_request_of(const fhir::FhirRequest& r, const http::Request& http) {
  AccessRequest a;
  a.resource_type = r.type;
  switch (r.interaction) {
    case Interaction::kCapabilities:
      a.interaction = FhirInteraction::kCapabilities;
      break;
    case Interaction::kSearchType:
    case Interaction::kSearchSystem:
      a.interaction = FhirInteraction::kSearch;
      a.query = query_of(r);
      break;
    case Interaction::kSearchCompartment:
      // Patient/1/Observation searches Observation ("" for Patient/1/*: every type).
      a.interaction = FhirInteraction::kSearch;
      a.query = query_of(r);
      break;
    case Interaction::kEverything:
      a.interaction = FhirInteraction::kOperation;
      a.operation = "everything";
      a.resource_type = "Patient";
      break;
    case Interaction::kCreate:
      a.interaction = FhirInteraction::kCreate;
      a.conditional = !http.header("If-None-Exist").empty();
      break;
    case Interaction::kConditionalUpdate:
      a.interaction = FhirInteraction::kUpdate;
      a.conditional = true;
      break;
    case Interaction::kConditionalDelete:
      a.interaction = FhirInteraction::kDelete;
      a.conditional = true;
      break;
    case Interaction::kHistorySystem:
      a.interaction = FhirInteraction::kHistorySystem;
      break;
    case Interaction::kHistoryType:
      a.interaction = FhirInteraction::kHistoryType;
      break;
    case Interaction::kHistoryInstance:
      a.interaction = FhirInteraction::kHistoryInstance;
      break;
    case Interaction::kRead:
      a.interaction = FhirInteraction::kRead;
      break;
    case Interaction::kVread:
      a.interaction = FhirInteraction::kVread;
      break;
    case Interaction::kUpdate:
      a.interaction = FhirInteraction::kUpdate;
      break;
    case Interaction::kDelete:
      a.interaction = FhirInteraction::kDelete;
      break;
    case Interaction::kBatch:
      break;  // handled by authorize_fhir()
  }
  return a;
}

std::optional<AccessCondition> merge_conditions(const std::vector<AccessCondition>& alternatives) {
  if (alternatives.empty()) return std::nullopt;
  if (alternatives.size() == 1) return alternatives.front();
  // patient/Observation.rs?category=a and ?category=b: one search with category=a,b (a
  // granular scope's value is in FHIR search syntax already, so it is joined as written).
  const AccessCondition& first = alternatives.front();
  if (first.match.size() != 1) return std::nullopt;
  AccessCondition merged{first.patient, {{first.match.front().name, {}}}};
  for (const AccessCondition& c : alternatives) {
    if (c.patient != first.patient || c.match.size() != 1 ||
        c.match.front().name != first.match.front().name) {
      return std::nullopt;
    }
    std::string& value = merged.match.front().value;
    if (!value.empty()) value += ',';
    value += c.match.front().value;
  }
  return merged;
}

Result<FhirGrant> authorize_fhir(const GrantedScopes& granted, const fhir::FhirRequest& request,
                                 const http::Request& http) {
  if (request.interaction == Interaction::kCapabilities) return FhirGrant{};
  if (request.interaction == Interaction::kBatch) {
    if (auto s = authorize_bundle(granted, http); !s) return s.take_error();
    return FhirGrant{};
  }
  const AccessDecision decision = decide(granted, access_request_of(request, http));
  if (!decision.allowed) return Error::forbidden(decision.reason);
  if (auto s = authorize_reach(granted, request); !s) return s.take_error();
  if (decision.unconditional()) return FhirGrant{};
  auto merged = merge_conditions(decision.any_of);
  if (!merged) {
    return Error::forbidden(
        "the token's scopes allow this request only under several different conditions, "
        "which one request cannot be confined to: ask for one patient/ or granular scope");
  }
  return FhirGrant{std::move(merged)};
}

}  // namespace cg::gateway
