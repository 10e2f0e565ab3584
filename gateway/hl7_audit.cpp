#include "gateway/hl7_audit.hpp"

#include <set>

#include "gateway/hl7_handlers.hpp"
#include "protocols/hl7v2/query_params.hpp"

namespace cg::gateway {
namespace {

using hl7v2::AuditedMessage;
using hl7v2::MessageDisposition;

// Entities in one record at most: a message writes at most 2000 resources, an answer holds
// at most 100 patients; a record stays a few hundred KiB at worst.
constexpr std::size_t kMaxEntities = 1000;

constexpr std::string_view kV2Event = "http://terminology.hl7.org/CodeSystem/v2-0003";

// What a stored trigger event means for the audit trail. The IHE transaction is given only
// where IHE defines the trigger for it; the action follows IHE's rule for ITI-8 (C for the
// events that register a patient or visit, U for the rest).
struct FeedEvent {
  std::string_view trigger;
  char action;
  std::string_view transaction;
  std::string_view transaction_name;
};

constexpr FeedEvent kFeeds[] = {
    {"A01", 'C', "ITI-8", "Patient Identity Feed"},
    {"A04", 'C', "ITI-8", "Patient Identity Feed"},
    {"A05", 'C', "ITI-8", "Patient Identity Feed"},
    {"A08", 'U', "ITI-8", "Patient Identity Feed"},
    {"A40", 'U', "ITI-8", "Patient Identity Feed"},
    {"A28", 'C', "ITI-30", "Patient Identity Management"},
    {"A31", 'U', "ITI-30", "Patient Identity Management"},
    {"A02", 'U', "ITI-31", "Patient Encounter Management"},
    {"A03", 'U', "ITI-31", "Patient Encounter Management"},
    {"A06", 'U', "ITI-31", "Patient Encounter Management"},
    {"A07", 'U', "ITI-31", "Patient Encounter Management"},
    {"A11", 'U', "ITI-31", "Patient Encounter Management"},
    {"A13", 'U', "ITI-31", "Patient Encounter Management"},
    {"V04", 'C', "", ""},
    {"R01", 'C', "", ""},
    {"S12", 'C', "", ""},
};

FeedEvent feed_event(std::string_view trigger) {
  for (const auto& f : kFeeds) {
    if (f.trigger == trigger) return f;
  }
  return {trigger, 'U', "", ""};  // merges other than A40, schedule changes, …
}

Coding dicom(std::string code, std::string display) {
  return {std::string(codes::kDicom), std::move(code), std::move(display)};
}

Coding ihe(std::string_view transaction, std::string_view name) {
  return {std::string(codes::kIheEvent), std::string(transaction), std::string(name)};
}

AuditAgent sender_agent(const AuditedMessage& m) {
  AuditAgent a;
  a.type = dicom("110153", "Source Role ID");
  // IHE: the sending application and facility, as sent, joined by "|".
  a.who_identifier =
      std::string(m.message.raw("MSH-3")) + "|" + std::string(m.message.raw("MSH-4"));
  a.who_display = std::string(m.peer.subject);
  a.requestor = true;
  a.address = std::string(m.peer.address);
  return a;
}

// Collects the record's entities: distinct, bounded, patients carrying the control id.
class Entities {
 public:
  explicit Entities(std::string control_id) : control_id_(std::move(control_id)) {}

  void patient(std::string reference) {
    if (!seen_.insert(reference).second) return;
    add(patient_entity(std::move(reference)), true);
  }
  void identifier(std::string system, std::string value) {
    if (value.empty() || !seen_.insert(system + "|" + value).second) return;
    add(patient_identifier_entity(std::move(system), std::move(value)), true);
  }
  void resource(std::string reference) {
    if (!seen_.insert(reference).second) return;
    add(resource_entity(std::move(reference)), false);
  }
  void query(std::string qpd, std::string description) {
    add(query_entity(std::move(qpd), std::move(description)), true);
  }
  // The CX repetitions of `field` in every `segment_id` segment of `message`.
  void identifiers(const hl7v2::Message& message, std::string_view segment_id, int field,
                   const hl7v2::IdentifierSystems& systems) {
    for (int n = 1; const hl7v2::Segment* s = message.find(segment_id, n); ++n) {
      for (int rep = 1; rep <= s->repetition_count(field); ++rep) {
        identifier(hl7v2::identifier_system(s->get(field, rep, 4, 1), s->get(field, rep, 4, 2),
                                            s->get(field, rep, 4, 3), systems),
                   s->get(field, rep, 1));
      }
    }
  }

  std::vector<AuditEntity> take() { return std::move(entities_); }
  bool truncated() const { return truncated_; }

 private:
  void add(AuditEntity e, bool with_control_id) {
    if (entities_.size() == kMaxEntities) {
      truncated_ = true;
      return;
    }
    if (with_control_id && !control_id_.empty()) e.details.emplace_back("MSH-10", control_id_);
    entities_.push_back(std::move(e));
  }

  std::string control_id_;
  std::set<std::string> seen_;
  std::vector<AuditEntity> entities_;
  bool truncated_ = false;
};

// The QPD segment as sent: the query of a PDQ or PIX record.
std::string qpd_segment(const hl7v2::Message& m) {
  const hl7v2::Segment* qpd = m.find("QPD");
  if (qpd == nullptr) return {};
  std::string out = "QPD";
  for (int field = 1; field <= qpd->field_count(); ++field) {
    out.push_back(m.delimiters().field);
    out.append(qpd->raw(field));
  }
  return out;
}

std::string describe_outcome(const AuditedMessage& m, bool truncated) {
  std::string out(m.problem);
  auto add = [&out](std::string_view text) {
    out += (out.empty() ? "" : "; ") + std::string(text);
  };
  if (m.repeated) add("a duplicate: the archived answer was sent again");
  if (m.reprocessing) add("processed again as a rerun of the archived message");
  if (truncated)
    add("more than " + std::to_string(kMaxEntities) + " entities; the first are recorded");
  return out;
}

AuditEventSpec feed_spec(const AuditedMessage& m, const std::string& trigger,
                         const hl7v2::IdentifierSystems& systems, Entities& entities) {
  const FeedEvent event = feed_event(trigger);
  AuditEventSpec spec;
  spec.type = dicom("110110", "Patient Record");
  if (!event.transaction.empty())
    spec.subtypes.push_back(ihe(event.transaction, event.transaction_name));
  spec.action = event.action;
  for (const std::string& written : m.written) {
    if (written.starts_with("Patient/")) entities.patient(written);
  }
  entities.identifiers(m.message, "PID", 3, systems);
  entities.identifiers(m.message, "MRG", 1, systems);
  for (const std::string& written : m.written) {
    if (!written.starts_with("Patient/")) entities.resource(written);
  }
  return spec;
}

AuditEventSpec query_spec(const AuditedMessage& m, const std::string& trigger,
                          const hl7v2::IdentifierSystems& systems, Entities& entities) {
  AuditEventSpec spec;
  spec.type = dicom("110112", "Query");
  spec.subtypes.push_back(trigger == "Q23" ? ihe("ITI-9", "PIX Query")
                                           : ihe("ITI-21", "Patient Demographics Query"));
  spec.action = 'E';
  entities.query(qpd_segment(m.message), m.message.get("QPD-1"));
  if (trigger == "Q23") {
    // The identifier asked about, whether or not the answer found it.
    if (auto asked = hl7v2::pix_source_identifier(m.message, systems)) {
      entities.identifier(asked->system, asked->value);
    }
  }
  if (m.answer != nullptr) entities.identifiers(*m.answer, "PID", 3, systems);
  return spec;
}

}  // namespace

std::optional<AuditEventSpec> hl7_message_event(const AuditSource& source, const AuditedMessage& m,
                                                const hl7v2::IdentifierSystems& systems) {
  const std::string code = m.message.get("MSH-9");
  const std::string trigger = m.message.get("MSH-9.2");
  const bool query = code == "QBP";
  if (code == "QCN") return std::nullopt;
  Entities entities(m.message.get("MSH-10"));
  AuditEventSpec spec;
  if (m.disposition == MessageDisposition::kSenderRefused) {
    spec.type = dicom("110113", "Security Alert");
    spec.subtypes.push_back(dicom("110126", "Node Authentication"));
    spec.action = 'E';
  } else if (query) {
    spec = query_spec(m, trigger, systems, entities);
  } else {
    spec = feed_spec(m, trigger, systems, entities);
  }
  spec.subtypes.push_back({std::string(kV2Event), trigger, ""});
  // AA (CA) is success; AE and AR (CE, CR) are failures of the request: 4.
  spec.outcome = m.ack_code.size() == 2 && m.ack_code[1] == 'A' ? 0 : 4;
  spec.agents.push_back(sender_agent(m));
  spec.agents.push_back(gateway_agent(source));
  spec.entities = entities.take();
  spec.outcome_description = describe_outcome(m, entities.truncated());
  return spec;
}

hl7v2::MessageAuditHooks hl7_audit_hooks(AuditEmitter& emitter, const Hl7Settings& settings) {
  hl7v2::MessageAuditHooks hooks;
  hooks.in_job = [&emitter, systems = identifier_systems(settings)](
                     storage::WriteContext& ctx, const AuditedMessage& m) -> Status {
    auto spec = hl7_message_event(emitter.source(), m, systems);
    return spec ? emitter.stage(ctx, *spec) : ok_status();
  };
  hooks.after = [&emitter, systems = identifier_systems(settings)](const AuditedMessage& m) {
    if (auto spec = hl7_message_event(emitter.source(), m, systems)) emitter.emit(*spec);
  };
  return hooks;
}

}  // namespace cg::gateway
