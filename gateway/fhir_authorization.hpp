#pragma once
// The FHIR half of the authorization point: whether an access token's scopes allow a parsed
// FHIR request (security/access_policy.hpp decides; this maps the request to what it asks).
//
// A request is allowed unconditionally by user/ or system/ scopes on its type (or `*`), or
// under one condition: a patient/ scope confines it to the compartment of the token's
// patient, a granular scope (`?category=…`) to resources matching its parameters. The
// router then serves it through fhir_confinement.hpp. Several alternative conditions are
// merged into one when they differ only in the value of one parameter (an OR the search
// can express); otherwise the request is refused, the safe side. A batch or transaction
// Bundle is allowed when every entry is allowed on its own, unconditionally; an entry that
// cannot be read is refused, never skipped. Pure; thread-safe.

#include <optional>
#include <vector>

#include "gateway/security/access_policy.hpp"
#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"

namespace cg::gateway {

// The access request a FHIR request makes (for a batch: none; its entries are decided).
AccessRequest access_request_of(const fhir::FhirRequest& request, const http::Request& http);

// What the request may do: everything it asks (no `confine`), or only within `confine`.
struct FhirGrant {
  std::optional<AccessCondition> confine;
};

// The grant, or kForbidden with what is missing (no patient data in the text).
Result<FhirGrant> authorize_fhir(const GrantedScopes& granted, const fhir::FhirRequest& request,
                                 const http::Request& http);

// Whether `granted` holds every permission on every type without a condition (user/*.cruds,
// system/*.cruds): then every FHIR request is allowed outright, and need not be parsed to
// decide it (the hot path of backend clients and static tokens).
bool allows_every_interaction(const GrantedScopes& granted);

// The one condition equivalent to "any of `alternatives`", when there is one (see above).
std::optional<AccessCondition> merge_conditions(const std::vector<AccessCondition>& alternatives);

}  // namespace cg::gateway
