#include "protocols/fhir/rest/outcome.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::fhir;

TEST_CASE("each error kind has its HTTP status") {
  CHECK(http_status(ErrorKind::kInvalid) == 400);
  CHECK(http_status(ErrorKind::kUnauthorized) == 401);
  CHECK(http_status(ErrorKind::kForbidden) == 403);
  CHECK(http_status(ErrorKind::kNotFound) == 404);
  CHECK(http_status(ErrorKind::kNotAllowed) == 405);
  CHECK(http_status(ErrorKind::kNotAcceptable) == 406);
  CHECK(http_status(ErrorKind::kConflict) == 409);
  CHECK(http_status(ErrorKind::kGone) == 410);
  CHECK(http_status(ErrorKind::kVersionConflict) == 412);
  CHECK(http_status(ErrorKind::kMultipleMatches) == 412);
  CHECK(http_status(ErrorKind::kTooLarge) == 413);
  CHECK(http_status(ErrorKind::kUnsupported) == 415);
  CHECK(http_status(ErrorKind::kInternal) == 500);
  CHECK(http_status(ErrorKind::kUnavailable) == 503);
}

TEST_CASE("an error becomes an OperationOutcome naming the path") {
  auto oo = operation_outcome(Error::invalid("bad date", "Patient.birthDate"));
  CHECK(oo.at("resourceType") == "OperationOutcome");
  const auto& issue = oo.at("issue").as_array().at(0).as_object();
  CHECK(issue.at("severity") == "error");
  CHECK(issue.at("code") == "invalid");
  CHECK(issue.at("diagnostics") == "bad date");
  CHECK(issue.at("expression").as_array().at(0) == "Patient.birthDate");
}
