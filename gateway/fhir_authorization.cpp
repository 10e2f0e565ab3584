#include "gateway/fhir_authorization.hpp"

#include <algorithm>

namespace cg::gateway {
namespace {

using fhir::Interaction;

bool has_all_on_everything(const GrantedScopes& granted) {
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

std::vector<ScopeParam> query_of(const fhir::FhirRequest& request) {
  std::vector<ScopeParam> out;
  for (const auto& p : request.params) out.push_back({p.name, p.value});
  return out;
}

}  // namespace

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

Status authorize_fhir(const GrantedScopes& granted, const fhir::FhirRequest& request,
                      const http::Request& http) {
  if (request.interaction == Interaction::kCapabilities) return ok_status();
  if (request.interaction == Interaction::kBatch) {
    if (has_all_on_everything(granted)) return ok_status();
    return Error::forbidden(
        "a batch or transaction Bundle needs user/*.cruds or system/*.cruds for now");
  }
  const AccessDecision decision = decide(granted, access_request_of(request, http));
  if (!decision.allowed) return Error::forbidden(decision.reason);
  if (!decision.unconditional()) {
    return Error::forbidden(
        "this token allows the request only within a patient compartment or for matching "
        "resources, which the gateway does not enforce yet: use a user/ or system/ scope "
        "without parameters");
  }
  return ok_status();
}

}  // namespace cg::gateway
