#pragma once
// Checks of a verified JWT's registered claims (RFC 7519 §4.1): the time window with a
// leeway for clock skew, and issuer, audience, subject and jti as the caller asks. The clock
// is a parameter, so tests and the token endpoint decide what "now" is.
// Pure function over values; thread-safe.

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

// What validate_claims() checks besides the time window. Unset optionals are not checked.
struct ClaimChecks {
  std::chrono::sys_seconds now;
  std::chrono::seconds leeway{60};  // clock skew allowed on exp, nbf and iat
  std::optional<std::string> issuer;
  std::optional<std::string> audience;  // must equal "aud" or be one of its array items
  std::optional<std::string> subject;
  bool require_jti = false;
  // When set, exp may lie at most this far after `now` (SMART client assertions: 5 min).
  std::optional<std::chrono::seconds> max_lifetime;
};

// kUnauthorized naming the first failing claim (never echoing its value): exp is required
// and must be a NumericDate later than now - leeway; nbf and iat, when present, no later
// than now + leeway; then issuer, audience, subject and jti as asked.
Status validate_claims(const boost::json::object& payload, const ClaimChecks& checks);

}  // namespace cg::gateway
