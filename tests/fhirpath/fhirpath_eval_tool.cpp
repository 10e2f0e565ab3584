// Test-only CLI over the FHIRPath engine, used by tests/clients/fhirpath_crosscheck.mjs to
// compare with fhirpath.js. Reads JSON lines {"file": "<path>", "expression": "<text>"}
// from stdin and writes one JSON line per request: {"result": [...]} with every item as
// to_json() renders it, or {"error": "<message>"}. Input files are FHIR JSON, read once.
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "protocols/fhir/fhirpath/fhirpath.hpp"
#include "protocols/fhir/model/json.hpp"

namespace {

namespace json = boost::json;

const json::value* load(std::map<std::string, json::value>& cache, const std::string& path) {
  auto it = cache.find(path);
  if (it != cache.end()) return &it->second;
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::ostringstream ss;
  ss << in.rdbuf();
  auto parsed = cg::fhir::parse_json(ss.str());
  if (!parsed) return nullptr;
  return &cache.emplace(path, std::move(*parsed)).first->second;
}

std::string answer(std::map<std::string, json::value>& cache,
                   cg::fhirpath::ExpressionCache& expressions, std::string_view line) {
  json::object out;
  boost::system::error_code ec;
  json::value request = json::parse(line, ec);
  if (ec || !request.is_object()) {
    out["error"] = "bad request line";
    return json::serialize(out);
  }
  const json::object& r = request.get_object();
  const json::value* file = r.if_contains("file");
  const json::value* expression = r.if_contains("expression");
  if (!file || !file->is_string() || !expression || !expression->is_string()) {
    out["error"] = "request needs file and expression";
    return json::serialize(out);
  }
  const json::value* resource = load(cache, std::string(file->get_string()));
  if (!resource) {
    out["error"] = "cannot read " + std::string(file->get_string());
    return json::serialize(out);
  }
  auto compiled = expressions.get(std::string_view(expression->get_string()));
  if (!compiled) {
    out["error"] = compiled.error().message;
    return cg::fhir::serialize_json(out);
  }
  auto result = cg::fhirpath::evaluate(**compiled, *resource);
  if (!result) {
    out["error"] = result.error().message;
    return cg::fhir::serialize_json(out);
  }
  json::array items;
  for (const cg::fhirpath::Item& item : *result) items.push_back(cg::fhirpath::to_json(item));
  out["result"] = std::move(items);
  return cg::fhir::serialize_json(out);
}

}  // namespace

int main() {
  std::map<std::string, json::value> cache;
  cg::fhirpath::ExpressionCache expressions(4096);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::cout << answer(cache, expressions, line) << '\n';
  }
  return 0;
}
