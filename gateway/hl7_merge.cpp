#include "gateway/hl7_merge.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string_view>
#include <utility>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/write_ops.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/fhir_bundle.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;
using hl7v2::ErrorCode;

// The ids of the current Patients with any of `identifiers`, `other` left out; at most one
// more than the caller accepts.
Result<std::vector<std::string>> patients_with(storage::WriteContext& ctx,
                                               const std::vector<hl7v2::IdentifierKey>& identifiers,
                                               const std::string& other = {}) {
  std::string url = hl7v2::identifier_query("Patient", identifiers);
  auto criteria = fhir::parse_criteria("Patient", std::string_view(url).substr(url.find('?') + 1));
  if (!criteria) return criteria.take_error();
  criteria->query.count = 3;  // the one left out, one more, and a third: "several"
  auto ids = fhir::find_matches(ctx, *criteria);
  if (!ids) return ids.take_error();
  std::erase(*ids, other);
  return ids;
}

// The one Patient with those identifiers; nullopt when there is none.
Result<std::optional<std::string>> single_patient(
    storage::WriteContext& ctx, const std::vector<hl7v2::IdentifierKey>& identifiers,
    std::string_view which, const std::string& other = {}) {
  auto ids = patients_with(ctx, identifiers, other);
  if (!ids) return ids.take_error();
  if (ids->size() > 1) {
    return hl7v2::make_error(
        ErrorCode::kDuplicateKeyIdentifier,
        "the " + std::string(which) + " patient's identifiers match more than one Patient");
  }
  if (ids->empty()) return std::optional<std::string>{};
  return std::optional<std::string>{ids->front()};
}

// The current version of type/id as JSON; nullopt when it does not exist or is deleted.
Result<std::optional<json::object>> current(storage::WriteContext& ctx, const std::string& type,
                                            const std::string& id) {
  auto head = ctx.head(type, id);
  if (!head) return head.take_error();
  if (!*head || (*head)->deleted) return std::optional<json::object>{};
  auto parsed = fhir::parse_json((*head)->json);
  if (!parsed) return parsed.take_error();
  if (!parsed->is_object()) return Error::internal(type + "/" + id + " is not a JSON object");
  return std::optional<json::object>{std::move(parsed->as_object())};
}

json::object patient_link(const std::string& other_id, std::string_view type) {
  return json::object{{"other", json::object{{"reference", "Patient/" + other_id}}},
                      {"type", type}};
}

// `links` without those pointing to Patient/<other_id>.
json::array links_except(const json::object* patient, const std::string& other_id) {
  json::array out;
  if (patient == nullptr) return out;
  const auto* links = patient->if_contains("link");
  if (links == nullptr || !links->is_array()) return out;
  const std::string target = "Patient/" + other_id;
  for (const auto& link : links->as_array()) {
    const auto* other = link.is_object() ? link.as_object().if_contains("other") : nullptr;
    const auto* reference =
        other && other->is_object() ? other->as_object().if_contains("reference") : nullptr;
    if (reference && reference->is_string() && reference->as_string() == target) continue;
    out.push_back(link);
  }
  return out;
}

Status write(storage::WriteContext& ctx, const std::string& id, json::object patient,
             std::vector<std::string>& written) {
  if (auto valid = fhir::check_structure(patient); !valid) {
    return hl7v2::make_error(ErrorCode::kApplicationInternalError,
                             "the merge gives an invalid Patient: " + valid.error().message);
  }
  auto stored = fhir::apply_update(ctx, "Patient", id, std::move(patient), std::nullopt);
  if (!stored) return stored.take_error();
  written.push_back("Patient/" + id);
  return ok_status();
}

// Step 2: every resource referring to the merged Patient now refers to the survivor.
Status move_all_references(storage::WriteContext& ctx, const std::string& merged,
                           const std::string& survivor, std::vector<std::string>& written) {
  auto referring = ctx.referring_resources("Patient", merged, kMaxMovedReferences + 1);
  if (!referring) return referring.take_error();
  if (referring->size() > kMaxMovedReferences) {
    return hl7v2::make_error(ErrorCode::kApplicationInternalError,
                             "the merged patient has more than " +
                                 std::to_string(kMaxMovedReferences) +
                                 " referring resources; merge it on the FHIR side instead");
  }
  for (const auto& [type, id] : *referring) {
    if (type == "Patient" && (id == merged || id == survivor)) continue;
    auto resource = current(ctx, type, id);
    if (!resource) return resource.take_error();
    if (!*resource) continue;
    json::value holder(std::move(**resource));
    if (!move_references(holder, merged, survivor)) continue;
    auto stored = fhir::apply_update(ctx, type, id, std::move(holder.as_object()), std::nullopt);
    if (!stored) return stored.take_error();
    written.push_back(type + "/" + id);
  }
  return ok_status();
}

}  // namespace

bool move_references(json::value& value, const std::string& from, const std::string& to) {
  bool moved = false;
  if (value.is_object()) {
    for (auto& [key, child] : value.as_object()) {
      if (key == "reference" && child.is_string() && child.as_string() == "Patient/" + from) {
        child = "Patient/" + to;
        moved = true;
      } else {
        moved = move_references(child, from, to) || moved;
      }
    }
  } else if (value.is_array()) {
    for (auto& child : value.as_array()) moved = move_references(child, from, to) || moved;
  }
  return moved;
}

Result<std::vector<std::string>> apply_merge(storage::WriteContext& ctx,
                                             const hl7v2::MergePlan& plan) {
  auto found_survivor = single_patient(ctx, plan.survivor.identifiers, "surviving");
  if (!found_survivor) return found_survivor.take_error();
  const std::string survivor = found_survivor->value_or(fhir::new_resource_id());
  auto found_merged = single_patient(ctx, plan.merged, "merged", survivor);
  if (!found_merged) return found_merged.take_error();

  std::vector<std::string> written;
  auto stored_survivor = current(ctx, "Patient", survivor);
  if (!stored_survivor) return stored_survivor.take_error();
  json::object next = plan.survivor.resource;
  json::array links = links_except(stored_survivor->has_value() ? &**stored_survivor : nullptr,
                                   found_merged->value_or(""));

  if (*found_merged) {
    const std::string& merged = **found_merged;
    if (auto s = move_all_references(ctx, merged, survivor, written); !s) return s.take_error();
    auto replaced = current(ctx, "Patient", merged);
    if (!replaced) return replaced.take_error();
    json::object old = std::move(**replaced);
    json::array old_links = links_except(&old, survivor);
    old_links.push_back(patient_link(survivor, "replaced-by"));
    old["active"] = false;
    old["link"] = std::move(old_links);
    if (auto s = write(ctx, merged, std::move(old), written); !s) return s.take_error();
    links.push_back(patient_link(merged, "replaces"));
  }

  for (const auto& key : plan.merged) {
    bool known = std::find(plan.survivor.identifiers.begin(), plan.survivor.identifiers.end(),
                           key) != plan.survivor.identifiers.end();
    if (known) continue;
    json::object identifier = hl7v2::identifier_element(key);
    identifier["use"] = "old";
    json::value& list = next["identifier"];
    if (!list.is_array()) list = json::array();
    list.as_array().push_back(std::move(identifier));
  }
  if (!links.empty()) next["link"] = std::move(links);
  if (auto s = write(ctx, survivor, std::move(next), written); !s) return s.take_error();
  return written;
}

Result<hl7v2::HandlerOutcome> merge_patients(storage::ResourceStore& store,
                                             const hl7v2::MergePlan& plan,
                                             const hl7v2::CommitHook& commit) {
  hl7v2::HandlerOutcome outcome;
  Status status = store.write([&](storage::WriteContext& ctx) -> Status {
    auto written = apply_merge(ctx, plan);
    if (!written) return written.take_error();
    outcome.written = std::move(*written);
    return commit ? commit(ctx, outcome) : ok_status();
  });
  if (!status) return status.take_error();
  return outcome;
}

}  // namespace cg::gateway
