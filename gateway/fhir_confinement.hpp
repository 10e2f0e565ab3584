#pragma once
// Serving a FHIR request that a token allows only under a condition (fhir_authorization.hpp):
// within the compartment of the token's patient (patient/ scopes) and/or for resources
// matching a granular scope's search parameters. The FHIR layer itself stays unaware of
// tokens; the request is reshaped or checked around it:
//
// - type search T?q            → compartment search Patient/P/T?q&<match> (T?q&<match>
//                                 without a patient); _include, _revinclude, _has and chained
//                                 parameters are refused (they reach other resources);
// - compartment search          → only the token's own compartment, plus <match>;
// - $everything                 → only the token's own patient, without a granular match;
// - read, vread, instance history, delete, update
//                               → the stored resource is checked first with a search
//                                 (Patient/P/T?_id=id&<match>); outside the condition: 404,
//                                 so the answer does not reveal that it exists;
// - create, and update's new content
//                               → the submitted resource must be in the compartment (one of
//                                 its compartment references names P; a Patient must be P)
//                                 and match each granular token parameter; otherwise 403;
// - system search, type or system history, conditional writes, granular parameters a write
//   cannot be checked against → 403.
//
// Thread-safety: as FhirApi::handle — called concurrently from the HTTP worker threads.

#include <string_view>

#include "gateway/security/access_policy.hpp"
#include "protocols/fhir/rest/fhir_api.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"

namespace cg::gateway {

// Serves `request` (`sub`: its path below the FHIR base; `query`: its raw query; `parsed`:
// both parsed) through `api`, confined to `condition`.
http::Response serve_confined(fhir::FhirApi& api, const http::Request& request,
                              std::string_view sub, std::string_view query,
                              const fhir::FhirRequest& parsed, const AccessCondition& condition,
                              std::string_view base_url,
                              const fhir::WriteAuditor* auditor = nullptr);

// Whether the resource in `body` (FHIR JSON or XML, as the request's Content-Type says) of
// `type` meets `condition`; kForbidden saying why not, kInvalid when it cannot be read.
// `id`: the id it is written under (update), "" for a create.
Status resource_meets(const http::Request& request, std::string_view type, std::string_view id,
                      const AccessCondition& condition);

}  // namespace cg::gateway
