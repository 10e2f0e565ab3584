#pragma once
// The FHIR half of the authorization point: whether an access token's scopes allow a parsed
// FHIR request (security/access_policy.hpp decides; this maps the request to what it asks).
//
// What is enforced today: a request is allowed when every decision it needs is
// **unconditional** (user/ or system/ scopes on the type or `*`). A decision that would
// allow it only under conditions — a patient/ scope (the token's patient compartment) or a
// granular scope (`?category=…`) — is refused with 403 until the FHIR layer can confine a
// request to them: refusing is the safe side of "not yet". A batch or transaction Bundle is
// allowed when every entry is allowed on its own (unconditionally); an entry that cannot be
// read is refused, never skipped. Pure; thread-safe.

#include "gateway/security/access_policy.hpp"
#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"

namespace cg::gateway {

// The access request a FHIR request makes (for a batch: none; its entries are decided).
AccessRequest access_request_of(const fhir::FhirRequest& request, const http::Request& http);

// ok, or kForbidden with what is missing (no patient data in the text).
Status authorize_fhir(const GrantedScopes& granted, const fhir::FhirRequest& request,
                      const http::Request& http);

}  // namespace cg::gateway
