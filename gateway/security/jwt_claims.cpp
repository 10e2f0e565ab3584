#include "gateway/security/jwt_claims.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

namespace cg::gateway {
namespace {

// A NumericDate (seconds since the epoch, possibly fractional) as whole seconds; nullopt
// when it is not a number or beyond what a clock can mean.
std::optional<std::int64_t> numeric_date(const boost::json::value& v) {
  constexpr std::int64_t kMax = std::int64_t{1} << 53;  // far beyond any real date
  if (v.is_int64() && v.get_int64() >= 0 && v.get_int64() <= kMax) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(kMax)) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double() && v.get_double() >= 0 && v.get_double() <= static_cast<double>(kMax)) {
    return static_cast<std::int64_t>(std::floor(v.get_double()));
  }
  return std::nullopt;
}

Status time_window(const boost::json::object& payload, const ClaimChecks& checks) {
  const std::int64_t now = checks.now.time_since_epoch().count();
  const std::int64_t leeway = checks.leeway.count();
  const auto* exp_member = payload.if_contains("exp");
  if (!exp_member) return Error::unauthorized("the token has no exp claim");
  auto exp = numeric_date(*exp_member);
  if (!exp) return Error::unauthorized("the token's exp is not a NumericDate");
  if (*exp <= now - leeway) return Error::unauthorized("the token has expired");
  if (checks.max_lifetime && *exp > now + checks.max_lifetime->count() + leeway) {
    return Error::unauthorized("the token's exp is further ahead than allowed");
  }
  for (const char* name : {"nbf", "iat"}) {
    const auto* member = payload.if_contains(name);
    if (!member) continue;
    auto when = numeric_date(*member);
    if (!when)
      return Error::unauthorized(std::string("the token's ") + name + " is not a NumericDate");
    if (*when > now + leeway) {
      return Error::unauthorized(std::string("the token's ") + name + " lies in the future");
    }
  }
  return ok_status();
}

bool string_claim_is(const boost::json::object& payload, const char* name,
                     const std::string& expected) {
  const auto* member = payload.if_contains(name);
  return member && member->is_string() && member->get_string() == expected;
}

bool audience_contains(const boost::json::object& payload, const std::string& expected) {
  const auto* aud = payload.if_contains("aud");
  if (!aud) return false;
  if (aud->is_string()) return aud->get_string() == expected;
  if (!aud->is_array()) return false;
  for (const auto& item : aud->get_array()) {
    if (item.is_string() && item.get_string() == expected) return true;
  }
  return false;
}

}  // namespace

Status validate_claims(const boost::json::object& payload, const ClaimChecks& checks) {
  if (auto window = time_window(payload, checks); !window) return window;
  if (checks.issuer && !string_claim_is(payload, "iss", *checks.issuer)) {
    return Error::unauthorized("the token's iss is not the expected issuer");
  }
  if (checks.audience && !audience_contains(payload, *checks.audience)) {
    return Error::unauthorized("the token's aud does not name this gateway");
  }
  if (checks.subject && !string_claim_is(payload, "sub", *checks.subject)) {
    return Error::unauthorized("the token's sub is not the expected subject");
  }
  if (checks.require_jti) {
    const auto* jti = payload.if_contains("jti");
    if (!jti || !jti->is_string() || jti->get_string().empty()) {
      return Error::unauthorized("the token has no jti");
    }
  }
  return ok_status();
}

}  // namespace cg::gateway
