// Fuzzes everything the FHIR REST layer parses from a request before touching storage:
// the path and query (parse_fhir_request, parse_query), date ranges, conditional criteria,
// version tags, and transaction planning of an arbitrary JSON Bundle.
// Input layout: first line = "METHOD path?query", rest = body.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "protocols/fhir/rest/search_params.hpp"
#include "protocols/fhir/rest/transaction.hpp"
#include "protocols/fhir/rest/write_ops.hpp"
#include "protocols/fhir/search/search_query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto nl = input.find('\n');
  std::string_view line = input.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  auto space = line.find(' ');
  cg::http::Request request;
  request.method = std::string(line.substr(0, space));
  std::string_view target =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  request.body = std::string(body);
  request.headers = {{"Accept", std::string(body.substr(0, 40))}, {"Prefer", "handling=strict"}};

  auto parsed = cg::fhir::parse_fhir_request(request, path, query);
  if (parsed) {
    (void)cg::fhir::search::parse_search(parsed->type, parsed->params, {}, parsed->strict_handling);
    (void)cg::fhir::parse_criteria("Patient", parsed->params);
  }
  (void)cg::fhir::parse_time_range(path);
  (void)cg::fhir::parse_version_tag(query);
  (void)cg::fhir::parse_count(query, 1000);
  (void)cg::fhir::request_body_format(request);

  auto json = cg::fhir::parse_json(body);
  if (json && json->is_object()) (void)cg::fhir::plan_transaction(json->as_object(), 100);
  return 0;
}
