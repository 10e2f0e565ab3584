#include "gateway/security/scopes.hpp"

#include <algorithm>
#include <optional>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/http/percent_encoding.hpp"

namespace cg::gateway {
namespace {

constexpr std::string_view kPermissionLetters = "cruds";

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
bool is_scope_char(unsigned char c) {
  return c >= 0x21 && c <= 0x7E && c != '"' && c != '\\';
}

// Characters format_scope escapes in restriction names and values: everything that is not
// a scope character, and the three that structure the restriction.
bool needs_escape(unsigned char c) {
  return !is_scope_char(c) || c == '%' || c == '&' || c == '=';
}

std::string escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (!needs_escape(c)) {
      out += ch;
      continue;
    }
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

// v2 letters must appear at most once each and in "cruds" order (SMART 2.0 §Scopes for
// requesting FHIR resources): "rs" is valid, "sr" and "rr" are not.
std::optional<Permissions> parse_v2_permissions(std::string_view text) {
  Permissions out;
  std::size_t next = 0;  // letters before this index are no longer allowed
  for (char c : text) {
    auto pos = kPermissionLetters.find(c, next);
    if (pos == std::string_view::npos) return std::nullopt;
    out = out.with(static_cast<Permission>(1u << pos));
    next = pos + 1;
  }
  if (out.bits == 0) return std::nullopt;
  return out;
}

std::optional<Permissions> parse_permissions(std::string_view text) {
  using P = Permission;
  if (text == "read") return Permissions{}.with(P::kRead).with(P::kSearch);
  if (text == "write") return Permissions{}.with(P::kCreate).with(P::kUpdate).with(P::kDelete);
  if (text == "*") return Permissions{0x1F};
  return parse_v2_permissions(text);
}

// "name=value&name=value"; both parts non-empty and percent-decoded.
std::optional<std::vector<ScopeParam>> parse_restriction(std::string_view text) {
  std::vector<ScopeParam> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto amp = std::min(text.find('&', pos), text.size());
    std::string_view pair = text.substr(pos, amp - pos);
    pos = amp + 1;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto name = http::percent_decode(pair.substr(0, eq), false);
    auto value = http::percent_decode(pair.substr(eq + 1), false);
    if (!name || !value || name->empty() || value->empty()) return std::nullopt;
    out.push_back({std::move(*name), std::move(*value)});
  }
  return out;
}

std::optional<ScopeContext> parse_context(std::string_view prefix) {
  if (prefix == "patient") return ScopeContext::kPatient;
  if (prefix == "user") return ScopeContext::kUser;
  if (prefix == "system") return ScopeContext::kSystem;
  return std::nullopt;
}

// "<type>.<permissions>" of a clinical scope.
Status parse_type_and_permissions(std::string_view head, ResourceScope& scope) {
  auto dot = head.find('.');
  if (dot == std::string_view::npos)
    return Error::invalid("a clinical scope needs '.<permissions>' after the resource type");
  scope.resource_type = std::string(head.substr(0, dot));
  if (scope.resource_type != "*" && !fhir::is_resource_type(scope.resource_type))
    return Error::invalid("'" + scope.resource_type + "' is not a FHIR R4 resource type");
  auto permissions = parse_permissions(head.substr(dot + 1));
  if (!permissions)
    return Error::invalid("permissions must be read, write, * or an ordered subset of cruds");
  scope.permissions = *permissions;
  return ok_status();
}

// A token already known to start with a clinical context; the error says what is wrong.
Result<ResourceScope> parse_resource_scope(std::string_view token) {
  ResourceScope scope;
  auto slash = token.find('/');
  scope.context = *parse_context(token.substr(0, slash));
  std::string_view rest = token.substr(slash + 1);
  auto question = rest.find('?');
  if (auto head = parse_type_and_permissions(rest.substr(0, question), scope); !head)
    return head.take_error();
  if (question != std::string_view::npos) {
    auto restriction = parse_restriction(rest.substr(question + 1));
    if (!restriction)
      return Error::invalid("a granular restriction must be name=value pairs joined by '&'");
    scope.restriction = std::move(*restriction);
  }
  return scope;
}

bool is_clinical(std::string_view token) {
  auto slash = token.find('/');
  return slash != std::string_view::npos && parse_context(token.substr(0, slash)).has_value();
}

// Sets the flag a well-known scope names; false when `token` is not one of them.
bool set_flag(std::string_view token, GrantedScopes& g) {
  bool* flag = token == "openid"           ? &g.openid
               : token == "fhirUser"       ? &g.fhir_user
               : token == "profile"        ? &g.profile
               : token == "launch"         ? &g.launch
               : token == "launch/patient" ? &g.launch_patient
               : token == "offline_access" ? &g.offline_access
               : token == "online_access"  ? &g.online_access
                                           : nullptr;
  if (flag) *flag = true;
  return flag != nullptr;
}

void add_token(std::string_view token, ParsedScopes& out) {
  if (!std::all_of(token.begin(), token.end(),
                   [](char c) { return is_scope_char(static_cast<unsigned char>(c)); })) {
    out.rejected.push_back({std::string(token), "contains a character not allowed in a scope"});
    return;
  }
  if (set_flag(token, out.granted)) return;
  auto& g = out.granted;
  if (!is_clinical(token)) {
    if (std::find(g.opaque.begin(), g.opaque.end(), token) == g.opaque.end())
      g.opaque.emplace_back(token);
    return;
  }
  auto scope = parse_resource_scope(token);
  if (!scope) {
    out.rejected.push_back({std::string(token), scope.take_error().message});
  } else if (std::find(g.resources.begin(), g.resources.end(), *scope) == g.resources.end()) {
    g.resources.push_back(std::move(*scope));
  }
}

std::string_view context_name(ScopeContext c) {
  switch (c) {
    case ScopeContext::kPatient:
      return "patient";
    case ScopeContext::kUser:
      return "user";
    case ScopeContext::kSystem:
      return "system";
  }
  return "patient";
}

}  // namespace

std::string Permissions::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < kPermissionLetters.size(); ++i) {
    if (bits & (1u << i)) out += kPermissionLetters[i];
  }
  return out;
}

bool GrantedScopes::has_opaque(std::string_view scope) const {
  return std::find(opaque.begin(), opaque.end(), scope) != opaque.end();
}

Result<ParsedScopes> parse_scopes(std::string_view scope_string) {
  if (scope_string.size() > kMaxScopeStringBytes)
    return Error::too_large("the scope string is longer than " +
                            std::to_string(kMaxScopeStringBytes) + " bytes");
  ParsedScopes out;
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos < scope_string.size()) {
    auto space = std::min(scope_string.find(' ', pos), scope_string.size());
    std::string_view token = scope_string.substr(pos, space - pos);
    pos = space + 1;
    if (token.empty()) continue;
    if (++count > kMaxScopeCount)
      return Error::too_large("more than " + std::to_string(kMaxScopeCount) + " scopes");
    add_token(token, out);
  }
  return out;
}

std::string format_scope(const ResourceScope& scope) {
  std::string out(context_name(scope.context));
  out += '/';
  out += scope.resource_type;
  out += '.';
  out += scope.permissions.to_string();
  for (std::size_t i = 0; i < scope.restriction.size(); ++i) {
    out += i == 0 ? '?' : '&';
    out += escape(scope.restriction[i].name);
    out += '=';
    out += escape(scope.restriction[i].value);
  }
  return out;
}

std::string format_scopes(const GrantedScopes& g) {
  std::vector<std::string> tokens;
  const std::pair<bool, std::string_view> flags[] = {{g.openid, "openid"},
                                                     {g.fhir_user, "fhirUser"},
                                                     {g.profile, "profile"},
                                                     {g.launch, "launch"},
                                                     {g.launch_patient, "launch/patient"},
                                                     {g.offline_access, "offline_access"},
                                                     {g.online_access, "online_access"}};
  for (const auto& [set, name] : flags) {
    if (set) tokens.emplace_back(name);
  }
  for (const auto& scope : g.resources) tokens.push_back(format_scope(scope));
  tokens.insert(tokens.end(), g.opaque.begin(), g.opaque.end());
  std::string out;
  for (const auto& token : tokens) {
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

}  // namespace cg::gateway
