#include "gateway/hl7_handlers.hpp"

#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/write_ops.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::gateway {
namespace {

// A token value for conditional criteria: FHIR search escapes for its delimiters.
std::string search_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == ',' || c == '|' || c == '$') out += '\\';
    out += c;
  }
  return out;
}

// Criteria matching a Patient that carries any of the message's identifiers.
Result<fhir::Criteria> patient_criteria(const std::vector<hl7v2::IdentifierKey>& identifiers) {
  std::string any_of;
  for (const auto& id : identifiers) {
    if (!any_of.empty()) any_of += ',';
    any_of += search_escaped(id.system) + "|" + search_escaped(id.value);
  }
  return fhir::parse_criteria("Patient", fhir::QueryParams{{"identifier", any_of}});
}

// The patient identity feed: the Patient that has one of PID-3's identifiers is replaced by
// the message's view of it, or created when there is none (idempotent: a repeat updates the
// same resource). Two Patients sharing the identifiers is a conflict the sender must resolve.
Result<hl7v2::HandlerOutcome> store_patient(storage::ResourceStore& store,
                                            const hl7v2::IdentifierSystems& systems,
                                            const hl7v2::Message& message) {
  auto mapped = hl7v2::map_patient(message, systems);
  if (!mapped) return mapped.take_error();
  auto criteria = patient_criteria(mapped->identifiers);
  if (!criteria) return criteria.take_error();
  auto index = fhir::index_for(mapped->resource);
  const std::string new_id = fhir::new_resource_id();
  std::string written;
  Status status = store.write([&](storage::WriteContext& ctx) -> Status {
    auto outcome = fhir::apply_conditional_update(
        ctx, *criteria, new_id, std::move(mapped->resource), std::nullopt, std::move(index));
    if (!outcome) return outcome.take_error();
    if (outcome->stored) written = "Patient/" + outcome->stored->id;
    return ok_status();
  });
  if (!status) {
    if (status.error().kind == ErrorKind::kMultipleMatches) {
      return hl7v2::make_error(hl7v2::ErrorCode::kDuplicateKeyIdentifier,
                               "PID-3 identifies more than one stored Patient",
                               {"PID", 1, 3, 0, 0, 0});
    }
    return status.take_error();
  }
  return hl7v2::HandlerOutcome{{written}};
}

}  // namespace

void register_hl7_handlers(hl7v2::MessageReceiver& receiver, storage::ResourceStore& store,
                           const Hl7Settings& settings) {
  hl7v2::IdentifierSystems systems;
  for (const auto& [authority, system] : settings.identifier_systems) {
    systems.by_namespace.emplace(authority, system);
  }
  auto patient_feed = [&store, systems](const hl7v2::Message& m) {
    return store_patient(store, systems, m);
  };
  // The person events: add (A28), update (A31) and update patient information (A08). Events
  // that carry a visit (A01, A04, …) wait for the Encounter mapping: accepting them now would
  // drop their PV1 behind an AA.
  for (const char* event : {"ADT^A08", "ADT^A28", "ADT^A31"}) {
    receiver.handle(event, patient_feed);
  }
}

}  // namespace cg::gateway
