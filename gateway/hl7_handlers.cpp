#include "gateway/hl7_handlers.hpp"

#include "gateway/hl7_keyed_writes.hpp"
#include "gateway/hl7_merge.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/transaction.hpp"
#include "protocols/hl7v2/appointment_map.hpp"
#include "protocols/hl7v2/encounter_map.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/fhir_bundle.hpp"
#include "protocols/hl7v2/immunization_map.hpp"
#include "protocols/hl7v2/observation_map.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

// One message's resources are a handful; a generous bound keeps a hostile message (thousands
// of OBX) from turning into an unbounded write.
constexpr std::size_t kMaxEntriesPerMessage = 2000;

// Runs what a message means as one transaction in one store job; the written resources
// ("Type/id") for the archive.
Result<hl7v2::HandlerOutcome> store_bundle(storage::ResourceStore& store, json::object bundle,
                                           const hl7v2::CommitHook& commit) {
  // The mappers build valid resources; checking anyway turns a mapping bug into an AE
  // instead of a stored resource that is not valid FHIR.
  if (auto* entries = bundle.if_contains("entry"); entries && entries->is_array()) {
    for (const auto& entry : entries->as_array()) {
      const auto* resource = entry.as_object().if_contains("resource");
      if (!resource || !resource->is_object()) continue;
      if (auto s = fhir::check_structure(resource->as_object()); !s) {
        return hl7v2::make_error(hl7v2::ErrorCode::kApplicationInternalError,
                                 "the message maps to an invalid resource: " + s.error().message);
      }
    }
  }
  auto plan = fhir::plan_transaction(std::move(bundle), kMaxEntriesPerMessage);
  if (!plan) return plan.take_error();
  hl7v2::HandlerOutcome outcome;
  Status status = store.write([&](storage::WriteContext& ctx) -> Status {
    if (auto guarded = guard_keyed_writes(ctx, *plan); !guarded) return guarded;
    if (auto executed = fhir::execute_transaction(ctx, *plan); !executed) return executed;
    outcome.written.clear();
    for (const auto& e : plan->entries) {
      if (e.outcome.stored)
        outcome.written.push_back(e.outcome.stored->type + "/" + e.outcome.stored->id);
    }
    return commit ? commit(ctx, outcome) : ok_status();
  });
  if (!status) {
    if (status.error().kind == ErrorKind::kMultipleMatches) {
      return hl7v2::make_error(hl7v2::ErrorCode::kDuplicateKeyIdentifier,
                               "the message's identifiers match more than one stored resource: " +
                                   status.error().message);
    }
    return status.take_error();
  }
  return outcome;
}

// The patient identity feed: the Patient that has one of PID-3's identifiers is replaced by
// the message's view of it, or created when there is none; a repeat updates the same one.
Result<hl7v2::HandlerOutcome> store_patient(storage::ResourceStore& store,
                                            const hl7v2::IdentifierSystems& systems,
                                            const hl7v2::Message& message,
                                            const hl7v2::CommitHook& commit) {
  auto mapped = hl7v2::map_patient(message, systems);
  if (!mapped) return mapped.take_error();
  hl7v2::TransactionBuilder bundle;
  bundle.upsert("Patient", std::move(mapped->resource), mapped->identifiers);
  return store_bundle(store, bundle.take_bundle(), commit);
}

// Immunizations: the Patient and one Immunization per order group, each updated in place by
// its identifiers (PID-3, ORC-3), so a resend or a correction changes what the first created.
Result<hl7v2::HandlerOutcome> store_immunizations(storage::ResourceStore& store,
                                                  const hl7v2::IdentifierSystems& systems,
                                                  const hl7v2::Message& message,
                                                  const hl7v2::CommitHook& commit) {
  auto bundle = hl7v2::map_vxu(message, systems);
  if (!bundle) return bundle.take_error();
  return store_bundle(store, std::move(*bundle), commit);
}

}  // namespace

hl7v2::IdentifierSystems identifier_systems(const Hl7Settings& settings) {
  hl7v2::IdentifierSystems systems;
  for (const auto& [authority, system] : settings.identifier_systems) {
    systems.by_namespace.emplace(authority, system);
  }
  return systems;
}

void register_hl7_handlers(hl7v2::MessageReceiver& receiver, storage::ResourceStore& store,
                           const Hl7Settings& settings) {
  const hl7v2::IdentifierSystems systems = identifier_systems(settings);
  auto patient_feed = [&store, systems](const hl7v2::Message& m, const hl7v2::CommitHook& c) {
    return store_patient(store, systems, m, c);
  };
  // The person events: add (A28) and update (A31).
  for (const char* event : {"ADT^A28", "ADT^A31"}) {
    receiver.handle(event, patient_feed);
  }
  receiver.handle("VXU^V04",
                  [&store, systems](const hl7v2::Message& m, const hl7v2::CommitHook& c) {
                    return store_immunizations(store, systems, m, c);
                  });
  // The visit events: the Patient and its Encounter (an A08 without a visit number updates
  // the Patient only).
  auto visit_feed = [&store, systems](const hl7v2::Message& m,
                                      const hl7v2::CommitHook& c) -> Result<hl7v2::HandlerOutcome> {
    auto bundle = hl7v2::map_adt_visit(m, systems);
    if (!bundle) return bundle.take_error();
    return store_bundle(store, std::move(*bundle), c);
  };
  for (const char* event : {"ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A05", "ADT^A06",
                            "ADT^A07", "ADT^A08", "ADT^A11", "ADT^A13"}) {
    receiver.handle(event, visit_feed);
  }
  // The merges (gateway/hl7_merge.hpp).
  auto merge_feed = [&store, systems](const hl7v2::Message& m,
                                      const hl7v2::CommitHook& c) -> Result<hl7v2::HandlerOutcome> {
    auto plan = hl7v2::map_merge(m, systems);
    if (!plan) return plan.take_error();
    return merge_patients(store, *plan, c);
  };
  for (const char* event : {"ADT^A30", "ADT^A34", "ADT^A39", "ADT^A40"}) {
    receiver.handle(event, merge_feed);
  }
  // Results: the Patient, a DiagnosticReport per order and an Observation per OBX, each
  // updated in place when the lab sends it again or corrects it.
  receiver.handle("ORU^R01",
                  [&store, systems](const hl7v2::Message& m,
                                    const hl7v2::CommitHook& c) -> Result<hl7v2::HandlerOutcome> {
                    auto bundle = hl7v2::map_oru(m, systems);
                    if (!bundle) return bundle.take_error();
                    return store_bundle(store, std::move(*bundle), c);
                  });
  // Scheduling: the Patient and one Appointment, keyed on SCH-2 so a reschedule (S13), a
  // change (S14) or a cancellation (S15) updates what the booking (S12) created.
  auto schedule_feed = [&store, systems](
                           const hl7v2::Message& m,
                           const hl7v2::CommitHook& c) -> Result<hl7v2::HandlerOutcome> {
    auto bundle = hl7v2::map_siu(m, systems);
    if (!bundle) return bundle.take_error();
    return store_bundle(store, std::move(*bundle), c);
  };
  for (const char* event : {"SIU^S12", "SIU^S13", "SIU^S14", "SIU^S15"}) {
    receiver.handle(event, schedule_feed);
  }
}

}  // namespace cg::gateway
