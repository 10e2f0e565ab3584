#include "gateway/security/token_request.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "protocols/fhir/model/base64.hpp"
#include "protocols/http/percent_encoding.hpp"

namespace cg::gateway {
namespace {

using Field = std::pair<std::string, std::string>;

// Control characters have no place in any token request value; refusing them keeps them
// out of logs, SQL parameters and C strings downstream.
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

Error invalid(std::string message, std::string parameter = {}) {
  return Error::invalid(std::move(message), std::move(parameter));
}

Result<Field> decode_pair(std::string_view pair) {
  auto eq = pair.find('=');
  auto name = http::percent_decode(pair.substr(0, eq), true);
  auto value = http::percent_decode(
      eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
  if (!name || !value) return invalid("malformed percent-encoding in the request body");
  if (name->empty()) return invalid("a parameter without a name");
  if (has_control(*name) || has_control(*value))
    return invalid("a control character in parameter " + *name, *name);
  return Field{std::move(*name), std::move(*value)};
}

// Every name=value of the body, each name at most once (RFC 6749 §3.2).
Result<std::vector<Field>> parse_form(std::string_view body) {
  if (body.size() > kMaxTokenRequestBytes)
    return Error::too_large("the token request is larger than " +
                            std::to_string(kMaxTokenRequestBytes) + " bytes");
  std::vector<Field> fields;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto amp = std::min(body.find('&', pos), body.size());
    std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) continue;
    auto field = decode_pair(pair);
    if (!field) return field.take_error();
    if (fields.size() == kMaxTokenRequestParams)
      return Error::too_large("more than " + std::to_string(kMaxTokenRequestParams) +
                              " parameters in the token request");
    for (const auto& [name, value] : fields) {
      if (name == field->first) return invalid("parameter " + name + " is repeated", name);
    }
    fields.push_back(std::move(*field));
  }
  return fields;
}

std::string take(std::vector<Field>& fields, std::string_view name) {
  for (auto& [n, value] : fields) {
    if (n == name) return std::move(value);
  }
  return {};
}

Result<GrantType> grant_type_of(std::string_view value) {
  if (value.empty()) return invalid("grant_type is required", "grant_type");
  if (value == "password") return GrantType::kPassword;
  if (value == "client_credentials") return GrantType::kClientCredentials;
  if (value == "refresh_token") return GrantType::kRefreshToken;
  return Error{ErrorKind::kUnsupported, "grant_type " + std::string(value) + " is not supported",
               "grant_type"};
}

Result<TokenRequest> from_fields(std::vector<Field> fields) {
  auto grant = grant_type_of(take(fields, "grant_type"));
  if (!grant) return grant.take_error();
  TokenRequest r;
  r.grant_type = *grant;
  r.username = take(fields, "username");
  r.password = take(fields, "password");
  r.client_id = take(fields, "client_id");
  r.client_secret = take(fields, "client_secret");
  r.client_assertion_type = take(fields, "client_assertion_type");
  r.client_assertion = take(fields, "client_assertion");
  r.refresh_token = take(fields, "refresh_token");
  r.scope = take(fields, "scope");
  return r;
}

Status check_client_authentication(const TokenRequest& r) {
  bool has_type = !r.client_assertion_type.empty(), has_assertion = !r.client_assertion.empty();
  if (has_type != has_assertion)
    return invalid("client_assertion and client_assertion_type go together",
                   has_type ? "client_assertion" : "client_assertion_type");
  if (has_type && r.client_assertion_type != kJwtBearerAssertionType)
    return invalid("client_assertion_type must be " + std::string(kJwtBearerAssertionType),
                   "client_assertion_type");
  if (has_assertion && !r.client_secret.empty())
    return invalid("a client authenticates with one method only", "client_assertion");
  if (!r.client_secret.empty() && r.client_id.empty())
    return invalid("client_secret needs client_id", "client_id");
  return ok_status();
}

Status check_grant(const TokenRequest& r) {
  switch (r.grant_type) {
    case GrantType::kPassword:
      if (r.username.empty()) return invalid("username is required", "username");
      if (r.password.empty()) return invalid("password is required", "password");
      break;
    case GrantType::kClientCredentials:
      if (r.client_secret.empty() && r.client_assertion.empty())
        return Error::unauthorized("client_credentials needs client authentication");
      break;
    case GrantType::kRefreshToken:
      if (r.refresh_token.empty()) return invalid("refresh_token is required", "refresh_token");
      break;
  }
  return ok_status();
}

// Folds Basic credentials into the request (RFC 6749 §2.3: one method per request).
Status apply_basic(TokenRequest& r, ClientCredentials basic) {
  if (!r.client_secret.empty() || !r.client_assertion.empty())
    return invalid("a client authenticates with one method only", "client_secret");
  if (!r.client_id.empty() && r.client_id != basic.client_id)
    return invalid("client_id differs from the Authorization header's", "client_id");
  r.client_id = std::move(basic.client_id);
  r.client_secret = std::move(basic.client_secret);
  r.basic_auth = true;
  return ok_status();
}

bool starts_with_basic(std::string_view header) {
  constexpr std::string_view kScheme = "basic ";
  return header.size() > kScheme.size() &&
         std::equal(kScheme.begin(), kScheme.end(), header.begin(), [](char a, char b) {
           return a == std::tolower(static_cast<unsigned char>(b));
         });
}

}  // namespace

Result<ClientCredentials> parse_basic_client_auth(std::string_view authorization) {
  if (!starts_with_basic(authorization))
    return Error::unauthorized("client authentication must use the Basic scheme");
  std::string_view encoded = authorization.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  auto decoded = base64_decode(encoded);
  auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos)
    return Error::unauthorized("the Basic credentials are not base64 of id:secret");
  auto id = http::percent_decode(std::string_view(*decoded).substr(0, colon), true);
  auto secret = http::percent_decode(std::string_view(*decoded).substr(colon + 1), true);
  if (!id || !secret || id->empty() || has_control(*id) || has_control(*secret))
    return Error::unauthorized("the Basic credentials are malformed");
  return ClientCredentials{std::move(*id), std::move(*secret)};
}

Result<TokenRequest> parse_token_request(std::string_view body) {
  return parse_token_request(body, {});
}

Result<TokenRequest> parse_token_request(std::string_view body, std::string_view authorization) {
  auto fields = parse_form(body);
  if (!fields) return fields.take_error();
  auto request = from_fields(std::move(*fields));
  if (!request) return request.take_error();
  if (!authorization.empty()) {
    auto basic = parse_basic_client_auth(authorization);
    if (!basic) return basic.take_error();
    if (auto applied = apply_basic(*request, std::move(*basic)); !applied)
      return applied.take_error();
  }
  if (auto client = check_client_authentication(*request); !client) return client.take_error();
  if (auto grant = check_grant(*request); !grant) return grant.take_error();
  return request;
}

Result<RevocationRequest> parse_revocation_request(std::string_view body) {
  auto fields = parse_form(body);
  if (!fields) return fields.take_error();
  RevocationRequest r;
  r.token = take(*fields, "token");
  r.token_type_hint = take(*fields, "token_type_hint");
  if (r.token.empty()) return invalid("token is required", "token");
  return r;
}

std::string_view oauth_error_code(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kUnsupported:
      return "unsupported_grant_type";
    case ErrorKind::kUnauthorized:
      return "invalid_client";
    default:
      return "invalid_request";
  }
}

}  // namespace cg::gateway
