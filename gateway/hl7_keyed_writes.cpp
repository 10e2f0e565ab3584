#include "gateway/hl7_keyed_writes.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <map>
#include <set>

#include "protocols/hl7v2/error.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

std::string reference_of(const json::value* holder) {
  if (holder == nullptr || !holder->is_object()) return {};
  const json::value* ref = holder->as_object().if_contains("reference");
  return ref && ref->is_string() ? std::string(ref->as_string()) : std::string();
}

// The patient a resource belongs to: subject (Encounter, Observation, DiagnosticReport),
// patient (Immunization), or the Patient among an Appointment's participants.
std::string patient_of(const json::object& resource) {
  for (const char* key : {"subject", "patient"}) {
    if (std::string ref = reference_of(resource.if_contains(key)); !ref.empty()) return ref;
  }
  if (const json::value* participants = resource.if_contains("participant");
      participants && participants->is_array()) {
    for (const json::value& p : participants->as_array()) {
      if (!p.is_object()) continue;
      std::string ref = reference_of(p.as_object().if_contains("actor"));
      if (ref.starts_with("Patient/") || ref.starts_with("urn:uuid:")) return ref;
    }
  }
  return {};
}

// The id of the one current resource matching `entry`'s criteria; "" for none (or several:
// the transaction reports those itself).
Result<std::string> existing_id(storage::WriteContext& ctx, const fhir::TransactionEntry& entry) {
  if (!entry.criteria) return std::string();
  auto ids = ctx.find_ids(entry.criteria->query);
  if (!ids) return ids.take_error();
  return ids->size() == 1 ? ids->front() : std::string();
}

Result<std::optional<json::object>> current(storage::WriteContext& ctx, const std::string& type,
                                            const std::string& id) {
  auto head = ctx.head(type, id);
  if (!head) return head.take_error();
  if (!*head || (*head)->deleted) return std::optional<json::object>();
  boost::system::error_code ec;
  json::value parsed = json::parse((*head)->json, ec);
  if (ec || !parsed.is_object()) return Error::internal("stored " + type + " is not JSON");
  return std::optional<json::object>(std::move(parsed.as_object()));
}

class KeyedWrites {
 public:
  KeyedWrites(storage::WriteContext& ctx, fhir::TransactionPlan& plan) : ctx_(ctx), plan_(plan) {}

  Status check() {
    // A Bundle of the Patient alone (the identity feed) has nothing to check: no lookups.
    if (std::none_of(plan_.entries.begin(), plan_.entries.end(), keyed)) return ok_status();
    for (auto& entry : plan_.entries) {
      if (!keyed(entry)) continue;
      auto id = existing_id(ctx_, entry);
      if (!id) return id.take_error();
      if (id->empty()) continue;
      existing_[entry.full_url] = entry.type + "/" + *id;
      auto stored = current(ctx_, entry.type, *id);
      if (!stored) return stored.take_error();
      if (!*stored) continue;
      // Only now is the message's Patient needed: a new order or visit has nothing to move.
      if (auto s = find_patient(); !s) return s;
      if (auto s = same_patient(entry, **stored); !s) return s;
      if (entry.type == "DiagnosticReport") reports_.push_back({&entry, std::move(**stored)});
    }
    for (auto& [entry, stored] : reports_) keep_earlier_results(*entry, stored);
    return ok_status();
  }

 private:
  // An entry updating whatever its identifier finds (not the Patient: the feed's own rules).
  static bool keyed(const fhir::TransactionEntry& entry) {
    return entry.type != "Patient" && entry.method == "PUT" && entry.criteria.has_value();
  }

  // The message's Patient: its fullUrl in the Bundle and, when it is stored, its reference.
  Status find_patient() {
    if (patient_found_) return ok_status();
    patient_found_ = true;
    for (const auto& entry : plan_.entries) {
      if (entry.type != "Patient") continue;
      patient_url_ = entry.full_url;
      auto id = existing_id(ctx_, entry);
      if (!id) return id.take_error();
      if (!id->empty()) patient_ = "Patient/" + *id;
      return ok_status();
    }
    return ok_status();
  }

  Status same_patient(const fhir::TransactionEntry& entry, const json::object& stored) const {
    if (patient_url_.empty() || !entry.resource) return ok_status();
    if (patient_of(*entry.resource) != patient_url_) return ok_status();  // not the message's
    const std::string before = patient_of(stored);
    if (before.empty() || before == patient_) return ok_status();
    return hl7v2::make_error(
        hl7v2::ErrorCode::kDuplicateKeyIdentifier,
        "the stored " + entry.type +
            " this message identifies belongs to another patient; a message never moves it "
            "between patients (if they are the same person, merge them with ADT^A40 first)");
  }

  // The stored report's results that this message does not send again stay listed.
  void keep_earlier_results(fhir::TransactionEntry& entry, const json::object& stored) {
    const json::value* before = stored.if_contains("result");
    if (!before || !before->is_array() || !entry.resource) return;
    std::set<std::string> sent;  // what the new results will be once the Bundle resolves
    json::array results;
    if (const json::value* now = entry.resource->if_contains("result"); now && now->is_array()) {
      results = now->as_array();
      for (const json::value& r : results) {
        std::string ref = reference_of(&r);
        auto known = existing_.find(ref);
        sent.insert(known == existing_.end() ? ref : known->second);
      }
    }
    for (const json::value& r : before->as_array()) {
      std::string ref = reference_of(&r);
      if (!ref.empty() && sent.insert(ref).second) results.push_back(r);
    }
    (*entry.resource)["result"] = std::move(results);
  }

  storage::WriteContext& ctx_;
  fhir::TransactionPlan& plan_;
  std::string patient_url_;     // the Patient entry's fullUrl
  std::string patient_;         // "Patient/<id>" when it is stored; "" when it is new
  bool patient_found_ = false;  // find_patient() has run
  std::map<std::string, std::string> existing_;  // entry fullUrl → its stored "Type/id"
  std::vector<std::pair<fhir::TransactionEntry*, json::object>> reports_;
};

}  // namespace

Status guard_keyed_writes(storage::WriteContext& ctx, fhir::TransactionPlan& plan) {
  return KeyedWrites(ctx, plan).check();
}

}  // namespace cg::gateway
