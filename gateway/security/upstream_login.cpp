#include "gateway/security/upstream_login.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>

#include "gateway/security/access_policy.hpp"
#include "gateway/security/jwt.hpp"
#include "protocols/http/percent_encoding.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

UpstreamVerdict unreachable(std::string detail) {
  return {UpstreamVerdictKind::kUnreachable, {}, std::move(detail)};
}

bool same_username(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string string_member(const json::object& object, std::string_view name) {
  const json::value* v = object.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The roles claim of an access token that is a JWT, kept to the roles this gateway knows;
// nullopt when the token's sub names someone other than `username`.
std::optional<std::vector<std::string>> token_roles(std::string_view token,
                                                    std::string_view username) {
  std::vector<std::string> roles;
  auto jws = parse_jwt(token);
  if (!jws) return roles;  // an opaque token: the upstream says nothing about roles
  const std::string sub = string_member(jws->payload, "sub");
  if (!sub.empty() && !same_username(sub, username)) return std::nullopt;
  const json::value* claim = jws->payload.if_contains("roles");
  if (!claim || !claim->is_array()) return roles;
  for (const json::value& role : claim->as_array()) {
    if (!role.is_string() || !parse_role(role.as_string())) continue;
    std::string name(role.as_string());
    if (std::find(roles.begin(), roles.end(), name) == roles.end()) roles.push_back(name);
  }
  return roles;
}

std::string basic_credentials(const UpstreamLoginConfig& config) {
  // RFC 6749 §2.3.1: both parts form-encoded before Base64.
  const std::string pair =
      http::form_encode(config.client_id) + ":" + http::form_encode(config.client_secret);
  return "Basic " + base64_encode(pair);
}

}  // namespace

UpstreamVerdict judge_token_answer(const http::FormAnswer& answer, std::string_view username) {
  boost::system::error_code ec;
  json::value body = json::parse(answer.body, ec);
  const json::object* object = ec ? nullptr : body.if_object();
  const std::string status = "HTTP " + std::to_string(answer.status);
  if (answer.status == 200) {
    const std::string token = object ? string_member(*object, "access_token") : std::string();
    if (token.empty()) return unreachable("the upstream's answer has no access_token");
    auto roles = token_roles(token, username);
    if (!roles) return unreachable("the upstream's token is for another user");
    return {UpstreamVerdictKind::kAccepted, std::move(*roles), {}};
  }
  const std::string error = object ? string_member(*object, "error") : std::string();
  if ((answer.status == 400 || answer.status == 401) && error == "invalid_grant") {
    // The upstream's lockout (clinic-gateway answers it with invalid_grant too) is about
    // recent failures, not about this password: the cached verifier stays usable.
    const std::string description = string_member(*object, "error_description");
    if (description.find("too many failed") != std::string::npos) {
      return unreachable("the upstream refuses logins for now (too many failed logins)");
    }
    return {UpstreamVerdictKind::kRefused, {}, "refused by the upstream"};
  }
  if (error == "invalid_client") {
    return unreachable(
        "the upstream refused this gateway's client credentials "
        "(upstream.client_id, upstream.client_secret_file)");
  }
  if (!error.empty()) return unreachable("the upstream answered " + status + " " + error);
  return unreachable("the upstream answered " + status);
}

TokenEndpointLogin::TokenEndpointLogin(UpstreamLoginConfig config, Poster post)
    : config_(std::move(config)), post_(std::move(post)) {}

UpstreamVerdict TokenEndpointLogin::check(std::string_view username, std::string_view password) {
  http::FormPost post;
  post.url = config_.token_url;
  post.fields = {{"grant_type", "password"},
                 {"username", std::string(username)},
                 {"password", std::string(password)}};
  if (!config_.scope.empty()) post.fields.emplace_back("scope", config_.scope);
  if (!config_.client_id.empty() && config_.client_secret.empty()) {
    post.fields.emplace_back("client_id", config_.client_id);
  }
  if (!config_.client_secret.empty()) post.authorization = basic_credentials(config_);
  post.timeout = config_.timeout;
  post.tls_ca = config_.tls_ca;
  auto answer = post_(post);
  if (!answer) return unreachable(answer.error().message);
  return judge_token_answer(*answer, username);
}

}  // namespace cg::gateway
