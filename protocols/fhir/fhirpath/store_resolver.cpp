#include "protocols/fhir/fhirpath/store_resolver.hpp"

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/reference.hpp"

namespace cg::fhirpath {
namespace {

// The stored version a literal reference names: 0 for the current one; nullopt for a
// version that is not a number.
std::optional<std::int64_t> version_of(std::string_view text) {
  std::int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > 1'000'000'000'000) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

const boost::json::value* StoreResolver::resolve(std::string_view reference) {
  if (auto it = by_reference_.find(reference); it != by_reference_.end()) return it->second;
  auto literal = fhir::parse_literal_reference(reference);
  auto version = literal ? version_of(literal->version) : std::nullopt;
  if (!literal || !version || held_.size() >= max_resources_) return nullptr;
  std::string type(literal->type), id(literal->id);
  auto found = *version ? store_.version(type, id, *version) : store_.head(type, id);
  const boost::json::value* result = nullptr;
  if (found && *found && !(*found)->deleted) {
    if (auto json = fhir::parse_json((*found)->json)) {
      held_.push_back(std::move(*json));
      result = &held_.back();
    }
  }
  by_reference_.emplace(std::string(reference), result);
  return result;
}

}  // namespace cg::fhirpath
