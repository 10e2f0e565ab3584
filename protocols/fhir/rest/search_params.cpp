#include "protocols/fhir/rest/search_params.hpp"

#include <charconv>
#include <string>

namespace cg::fhir {

Result<std::size_t> parse_count(std::string_view c, std::size_t max_count) {
  std::size_t n = 0;
  auto r = std::from_chars(c.data(), c.data() + c.size(), n);
  if (r.ec != std::errc() || r.ptr != c.data() + c.size()) {
    return Error::invalid("_count must be a non-negative integer");
  }
  if (n > max_count) {
    return Error::invalid("_count " + std::string(c) + " exceeds the maximum page size " +
                          std::to_string(max_count));
  }
  return n;
}

}  // namespace cg::fhir
