// libFuzzer target: the OAuth2 token request parser and the SMART scope parser behind it.
// Input: an Authorization header value, a newline, then the form body (no newline: body
// only). Checks that
//   - a parsed request, written back as a form body with every field percent-encoded,
//     parses to the same fields (Basic credentials moved into the body);
//   - the body and the request's scope parse as scope strings without crashing, and
//     format_scopes() of the grant parses back to the same grant with nothing rejected;
//   - decide() on that grant never confines access to a patient other than the token's.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/security/access_policy.hpp"
#include "gateway/security/scopes.hpp"
#include "gateway/security/token_request.hpp"
#include "protocols/http/percent_encoding.hpp"

namespace {

using namespace cg::gateway;

void add(std::string& body, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  if (!body.empty()) body += '&';
  body += name;
  body += '=';
  body += cg::http::form_encode(value);
}

std::string_view grant_name(GrantType g) {
  switch (g) {
    case GrantType::kPassword:
      return "password";
    case GrantType::kClientCredentials:
      return "client_credentials";
    case GrantType::kRefreshToken:
      return "refresh_token";
  }
  return "password";
}

std::string reencode(const TokenRequest& r) {
  std::string body;
  add(body, "grant_type", grant_name(r.grant_type));
  add(body, "username", r.username);
  add(body, "password", r.password);
  add(body, "client_id", r.client_id);
  add(body, "client_secret", r.client_secret);
  add(body, "client_assertion_type", r.client_assertion_type);
  add(body, "client_assertion", r.client_assertion);
  add(body, "refresh_token", r.refresh_token);
  add(body, "scope", r.scope);
  return body;
}

bool same_fields(const TokenRequest& a, const TokenRequest& b) {
  return a.grant_type == b.grant_type && a.username == b.username && a.password == b.password &&
         a.client_id == b.client_id && a.client_secret == b.client_secret &&
         a.client_assertion_type == b.client_assertion_type &&
         a.client_assertion == b.client_assertion && a.refresh_token == b.refresh_token &&
         a.scope == b.scope;
}

void check_decisions(const GrantedScopes& granted) {
  using I = FhirInteraction;
  for (I interaction : {I::kRead, I::kSearch, I::kCreate, I::kUpdate, I::kDelete, I::kHistoryType,
                        I::kHistorySystem, I::kOperation}) {
    for (std::string_view type : {"Observation", "Patient", ""}) {
      AccessRequest request{interaction, std::string(type), "everything", false, {}};
      auto d = decide(granted, request);
      if (d.allowed != d.reason.empty()) __builtin_trap();
      for (const auto& c : d.any_of) {
        if (!c.patient.empty() && c.patient != granted.patient) __builtin_trap();
      }
    }
  }
}

void check_scopes(std::string_view text) {
  auto parsed = parse_scopes(text);
  if (!parsed) return;
  parsed->granted.patient = "p1";
  check_decisions(parsed->granted);
  parsed->granted.patient.clear();
  auto again = parse_scopes(format_scopes(parsed->granted));
  if (!again || !again->rejected.empty() || !(again->granted == parsed->granted)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  std::string_view authorization =
      newline == std::string_view::npos ? std::string_view() : input.substr(0, newline);
  std::string_view body = newline == std::string_view::npos ? input : input.substr(newline + 1);

  check_scopes(body);
  auto request = parse_token_request(body, authorization);
  if (!request) {
    if (oauth_error_code(request.error()).empty()) __builtin_trap();
    return 0;
  }
  if (request->basic_auth != !authorization.empty()) __builtin_trap();
  auto again = parse_token_request(reencode(*request));
  if (!again || !same_fields(*request, *again)) __builtin_trap();
  check_scopes(request->scope);
  return 0;
}
