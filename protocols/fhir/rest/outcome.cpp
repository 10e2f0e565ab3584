#include "protocols/fhir/rest/outcome.hpp"

#include <boost/json/array.hpp>

namespace cg::fhir {

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalid:
      return 400;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kGone:
      return 410;
    case ErrorKind::kConflict:
      return 409;
    case ErrorKind::kVersionConflict:
      return 412;
    case ErrorKind::kMultipleMatches:
      return 412;
    case ErrorKind::kUnsupported:
      return 415;
    case ErrorKind::kNotAllowed:
      return 405;
    case ErrorKind::kNotAcceptable:
      return 406;
    case ErrorKind::kTooLarge:
      return 413;
    case ErrorKind::kUnauthorized:
      return 401;
    case ErrorKind::kForbidden:
      return 403;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kInternal:
      return 500;
  }
  return 500;
}

std::string_view issue_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalid:
      return "invalid";
    case ErrorKind::kNotFound:
      return "not-found";
    case ErrorKind::kGone:
      return "deleted";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kVersionConflict:
      return "conflict";
    case ErrorKind::kMultipleMatches:
      return "multiple-matches";
    case ErrorKind::kUnsupported:
      return "not-supported";
    case ErrorKind::kNotAllowed:
      return "not-supported";
    case ErrorKind::kNotAcceptable:
      return "not-supported";
    case ErrorKind::kTooLarge:
      return "too-costly";
    case ErrorKind::kUnauthorized:
      return "login";
    case ErrorKind::kForbidden:
      return "forbidden";
    case ErrorKind::kUnavailable:
      return "transient";
    case ErrorKind::kInternal:
      return "exception";
  }
  return "exception";
}

boost::json::object operation_outcome(const std::vector<OutcomeIssue>& issues) {
  boost::json::array list;
  for (const auto& i : issues) {
    boost::json::object issue{{"severity", i.severity}, {"code", i.code}};
    if (!i.diagnostics.empty()) issue["diagnostics"] = i.diagnostics;
    if (!i.expression.empty()) issue["expression"] = boost::json::array{i.expression};
    list.push_back(std::move(issue));
  }
  return {{"resourceType", "OperationOutcome"}, {"issue", std::move(list)}};
}

boost::json::object operation_outcome(const Error& error) {
  OutcomeIssue issue;
  issue.severity = error.kind == ErrorKind::kInternal ? "fatal" : "error";
  issue.code = std::string(issue_type(error.kind));
  issue.diagnostics = error.message;
  issue.expression = error.location;
  return operation_outcome(std::vector<OutcomeIssue>{issue});
}

boost::json::object information_outcome(std::string_view message) {
  OutcomeIssue issue{"information", "informational", std::string(message), {}};
  return operation_outcome(std::vector<OutcomeIssue>{issue});
}

}  // namespace cg::fhir
