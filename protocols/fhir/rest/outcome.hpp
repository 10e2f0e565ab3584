#pragma once
// The one place where error kinds become HTTP statuses and FHIR OperationOutcomes.
// Pure functions; thread-safe.

#include <boost/json/object.hpp>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::fhir {

struct OutcomeIssue {
  std::string severity = "error";  // fatal | error | warning | information
  std::string code;                // FHIR IssueType: invalid, structure, not-found, ...
  std::string diagnostics;
  std::string expression;  // element path, optional
};

int http_status(ErrorKind kind);
std::string_view issue_type(ErrorKind kind);

boost::json::object operation_outcome(const std::vector<OutcomeIssue>& issues);
boost::json::object operation_outcome(const Error& error);
// A single informational issue, e.g. for Prefer: return=OperationOutcome on success.
boost::json::object information_outcome(std::string_view message);

}  // namespace cg::fhir
