// Fuzzes the search-query parser: parse_search over arbitrary parameter names and values
// (strict and lenient), the self link it builds, and compartment_criteria.
// Input layout: first line = resource type ("" = system search), rest = name=value pairs
// separated by '&' (not percent-decoded: the parser receives decoded bytes in production).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "protocols/fhir/search/compartment_criteria.hpp"
#include "protocols/fhir/search/search_query.hpp"

namespace search = cg::fhir::search;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string_view type = input.substr(0, nl);
  std::string_view query = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  std::vector<search::ParamView> params;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    params.push_back({pair.substr(0, eq),
                      eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1)});
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  search::SearchLimits limits;
  for (bool strict : {false, true}) {
    auto r = search::parse_search(type, std::span<const search::ParamView>(params), limits, strict,
                                  1767225600000);
    if (r) {
      (void)r->self_query();
      (void)r->self_query(false);
    }
  }
  if (!params.empty()) (void)search::compartment_criteria(type, params[0].value, params[0].name);
  return 0;
}
