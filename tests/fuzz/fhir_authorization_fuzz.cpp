// libFuzzer target: the FHIR half of the authorization point (gateway/fhir_authorization.hpp)
// on arbitrary requests. Input: a method line, a target line (below the FHIR base), then the
// body (a batch or transaction Bundle is read entry by entry). For each of a few fixed scope
// sets, checks that
//   - authorize_fhir never crashes, whatever the target's _include/_revinclude/chain/_has
//     parameters or the Bundle's entries hold;
//   - a grant it gives to patient/ scopes is always confined to the token's own patient;
//   - a scope set with nothing on any type never allows anything but the capabilities.
// (The capabilities are public; a Bundle is allowed when each entry is, so one with no
// entries, or one that is not a batch or transaction, is the FHIR layer's to refuse.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/fhir_authorization.hpp"

namespace {

using namespace cg;
using namespace cg::gateway;

GrantedScopes scopes_of(std::string_view text, std::string patient) {
  auto parsed = parse_scopes(text);
  if (!parsed) __builtin_trap();
  parsed->granted.patient = std::move(patient);
  return parsed->granted;
}

std::string_view next_line(std::string_view& rest) {
  auto nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const GrantedScopes kSets[] = {
      scopes_of("user/Patient.rs user/Observation.cruds", ""),
      scopes_of("patient/*.rs", "p1"),
      scopes_of("user/Observation.rs?category=laboratory user/Observation.rs?category=vital-signs",
                ""),
      scopes_of("openid fhirUser", ""),
  };
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  http::Request request;
  request.method = std::string(next_line(rest));
  std::string_view target = next_line(rest);
  request.body = std::string(rest);
  request.target = "/fhir/" + std::string(target);
  if (!request.body.empty()) request.headers.emplace_back("Content-Type", "application/fhir+json");
  auto q = target.find('?');
  auto parsed = fhir::parse_fhir_request(request, target.substr(0, q),
                                         q == std::string_view::npos ? "" : target.substr(q + 1));
  if (!parsed) return 0;
  const bool exempt = parsed->interaction == fhir::Interaction::kCapabilities ||
                      parsed->interaction == fhir::Interaction::kBatch;
  for (const GrantedScopes& granted : kSets) {
    auto grant = authorize_fhir(granted, *parsed, request);
    if (!grant || exempt) continue;
    if (granted.patient == "p1" && (!grant->confine || grant->confine->patient != "p1")) {
      __builtin_trap();  // a patient/ token reached beyond its patient
    }
    if (&granted == &kSets[3]) {
      __builtin_trap();  // no clinical scope, yet allowed
    }
  }
  return 0;
}
