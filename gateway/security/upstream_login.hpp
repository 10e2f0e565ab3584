#pragma once
// UpstreamLogin: asks the upstream (the district's gateway, [upstream] in gateway.toml)
// whether a username and password are right, for bridged logins (password_login.hpp).
// TokenEndpointLogin does it with the OAuth password grant at the upstream's token endpoint
// and reads the user's roles from the access token it answers with; the token itself is
// dropped.
//
// Why the upstream's signature on that token is not checked: the answer comes straight
// from the upstream over a connection this gateway opened to the configured URL, with the
// server's certificate verified (https). A JWKS would be fetched over the same connection
// from the same server, so checking against it adds nothing that TLS has not already
// established; and over plain http neither would stand up to an attacker on the path.
// Use https for any upstream that is not on the same host.
//
// Thread-safety: check() may be called from several worker threads at once; it blocks for
// up to the configured timeout.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/http/form_client.hpp"
#include "protocols/http/http_url.hpp"

namespace cg::gateway {

enum class UpstreamVerdictKind {
  kAccepted,     // the password is right; roles follow
  kRefused,      // invalid_grant: wrong password, or the user is unknown or disabled upstream
  kUnreachable,  // no usable answer: down, timed out, 5xx, misconfigured, locked out
};

struct UpstreamVerdict {
  UpstreamVerdictKind kind = UpstreamVerdictKind::kUnreachable;
  std::vector<std::string> roles;  // kAccepted: the roles this gateway knows, from the token
  std::string detail;              // why, for the log and security events; never a secret
};

class UpstreamLogin {
 public:
  virtual ~UpstreamLogin() = default;
  virtual UpstreamVerdict check(std::string_view username, std::string_view password) = 0;
};

struct UpstreamLoginConfig {
  http::HttpUrl token_url;
  std::string client_id;      // "" : this gateway does not authenticate as a client
  std::string client_secret;  // with client_id: sent with HTTP Basic (RFC 6749 §2.3.1)
  std::string scope;          // "" : none asked for
  std::chrono::milliseconds timeout{3000};
  std::optional<std::filesystem::path> tls_ca;
};

// What a token endpoint's answer means for a password login as `username` (pure). 200 with
// an access_token is kAccepted, with the token's "roles" claim (a JWT's payload; roles this
// gateway does not know are left out, and a token that is not a JWT gives none) — unless the
// token's "sub" names another user. 400/401 invalid_grant is kRefused, except the upstream's
// own lockout ("too many failed logins"), which says nothing about the password. Anything
// else is kUnreachable.
UpstreamVerdict judge_token_answer(const http::FormAnswer& answer, std::string_view username);

class TokenEndpointLogin final : public UpstreamLogin {
 public:
  using Poster = std::function<Result<http::FormAnswer>(const http::FormPost&)>;
  // `post` sends the form (tests pass a fake); by default http::post_form.
  explicit TokenEndpointLogin(UpstreamLoginConfig config, Poster post = http::post_form);

  UpstreamVerdict check(std::string_view username, std::string_view password) override;

 private:
  UpstreamLoginConfig config_;
  Poster post_;
};

}  // namespace cg::gateway
