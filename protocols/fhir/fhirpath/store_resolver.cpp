#include "protocols/fhir/fhirpath/store_resolver.hpp"

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/json.hpp"

namespace cg::fhirpath {
namespace {

struct LocalReference {
  std::string type;
  std::string id;
  std::int64_t version = 0;  // 0: current
};

// "Type/id", "Type/id/_history/v" or ".../Type/id[/_history/v]" → its parts.
std::optional<LocalReference> parse_reference(std::string_view ref) {
  LocalReference out;
  if (auto h = ref.find("/_history/"); h != std::string_view::npos) {
    std::string_view v = ref.substr(h + 10);
    for (char c : v) {
      if (c < '0' || c > '9') return std::nullopt;
      out.version = out.version * 10 + (c - '0');
    }
    ref = ref.substr(0, h);
  }
  auto slash = ref.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view type = ref.substr(0, slash);
  if (auto prev = type.rfind('/'); prev != std::string_view::npos) type = type.substr(prev + 1);
  if (!fhir::is_resource_type(type) || slash + 1 >= ref.size()) return std::nullopt;
  out.type = std::string(type);
  out.id = std::string(ref.substr(slash + 1));
  return out;
}

}  // namespace

const boost::json::value* StoreResolver::resolve(std::string_view reference) {
  if (auto it = by_reference_.find(reference); it != by_reference_.end()) return it->second;
  auto local = parse_reference(reference);
  if (!local || held_.size() >= max_resources_) return nullptr;
  auto found = local->version ? store_.version(local->type, local->id, local->version)
                              : store_.head(local->type, local->id);
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
