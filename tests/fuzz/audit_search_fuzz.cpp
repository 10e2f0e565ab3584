// libFuzzer target: the ITI-81 query string of /fhir/AuditEvent. Whatever parses must give a
// page size within the limits, a non-empty alternative list for every criterion, and a
// recorded range read from the date values only; the `used` query string it writes for the
// Bundle's links must parse to the same search again.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/audit_search.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cg;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto params = fhir::parse_query(text);
  if (!params) return 0;
  const gateway::AuditSearchLimits limits{50, 1000};
  for (bool strict : {false, true}) {
    auto search = gateway::parse_audit_search(*params, strict, limits, 1'790'000'000'000);
    if (!search) continue;
    if (search->query.count > limits.max_count) __builtin_trap();
    for (const auto& c : search->query.all_of) {
      if (c.any_of.empty()) __builtin_trap();
    }
    auto again_params = fhir::parse_query(search->used);
    if (!again_params) __builtin_trap();
    auto again = gateway::parse_audit_search(*again_params, strict, limits, 1'790'000'000'000);
    if (!again || again->used != search->used ||
        again->query.all_of.size() != search->query.all_of.size() ||
        again->query.recorded_from_ms != search->query.recorded_from_ms ||
        again->query.recorded_to_ms != search->query.recorded_to_ms) {
      __builtin_trap();
    }
  }
  return 0;
}
