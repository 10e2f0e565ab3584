#pragma once
// FhirApi::Call: one request as the FhirApi member functions see it (internal to
// protocols/fhir/rest; the handlers of one class live in several files).

#include <string>

#include "protocols/fhir/rest/fhir_api.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "protocols/fhir/rest/write_audit.hpp"

namespace cg::fhir {

struct FhirApi::Call {
  const http::Request& http;
  FhirRequest fhir;
  std::string base;
  std::string path;
  std::string query;
  const WriteAuditor* auditor = nullptr;  // records each write inside its job
};

}  // namespace cg::fhir
