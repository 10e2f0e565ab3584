#include "gateway/rest_audit.hpp"

#include <algorithm>

namespace cg::gateway {
namespace {

namespace json = boost::json;
using fhir::Interaction;

struct InteractionCode {
  std::string_view code;  // http://hl7.org/fhir/restful-interaction
  char action;            // C R U D E
};

InteractionCode code_of(const fhir::FhirRequest& f, const http::Request& request) {
  switch (f.interaction) {
    case Interaction::kRead:
      return {"read", 'R'};
    case Interaction::kVread:
      return {"vread", 'R'};
    case Interaction::kSearchType:
    case Interaction::kSearchCompartment:
      return {"search-type", 'E'};
    case Interaction::kSearchSystem:
      return {"search-system", 'E'};
    case Interaction::kEverything:
      return {"operation", 'E'};
    case Interaction::kHistoryInstance:
      return {"history-instance", 'R'};
    case Interaction::kHistoryType:
      return {"history-type", 'R'};
    case Interaction::kHistorySystem:
      return {"history-system", 'R'};
    case Interaction::kCreate:
      return {"create", 'C'};
    case Interaction::kUpdate:
    case Interaction::kConditionalUpdate:
      return {"update", 'U'};
    case Interaction::kDelete:
    case Interaction::kConditionalDelete:
      return {"delete", 'D'};
    case Interaction::kBatch:
      // Bundle.type decides; a cheap look is enough for the record's subtype.
      return {request.body.find("\"transaction\"") != std::string::npos ? "transaction" : "batch",
              'E'};
    case Interaction::kCapabilities:
      break;
  }
  return {"capabilities", 'E'};
}

bool is_write(Interaction i) {
  return i == Interaction::kCreate || i == Interaction::kUpdate ||
         i == Interaction::kConditionalUpdate || i == Interaction::kDelete ||
         i == Interaction::kConditionalDelete;
}

std::string_view method_code(std::string_view method) {
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  return "delete";
}

char method_action(std::string_view method) {
  if (method == "POST") return 'C';
  if (method == "PUT") return 'U';
  return 'D';
}

AuditEventSpec rest_spec(std::string_view interaction, char action, int status,
                         const Principal& who, std::string_view address,
                         const AuditSource& source) {
  AuditEventSpec spec;
  spec.type = {std::string(codes::kEventType), "rest", "Restful Operation"};
  spec.subtypes.push_back({std::string(codes::kRestful), std::string(interaction), ""});
  spec.action = action;
  spec.outcome = outcome_of_status(status);
  spec.agents.push_back(requestor_agent(who, address));
  spec.agents.push_back(gateway_agent(source));
  return spec;
}

void add_patients(AuditEventSpec& spec, std::string_view text, std::string_view own) {
  if (!own.empty()) spec.entities.push_back(patient_entity(std::string(own)));
  auto mentioned = patients_mentioned(text, kMaxAuditedPatients);
  for (auto& p : mentioned.references) {
    if (p != own) spec.entities.push_back(patient_entity(std::move(p)));
  }
  if (mentioned.truncated) {
    spec.outcome_description = "more than " + std::to_string(kMaxAuditedPatients) +
                               " patients were named; the first are recorded";
  }
}

// The patient a request names in its path: Patient/[id]…, or a Patient compartment.
std::string path_patient(const fhir::FhirRequest& f) {
  if (f.compartment_type == "Patient" && !f.compartment_id.empty()) {
    return "Patient/" + f.compartment_id;
  }
  if (f.type == "Patient" && !f.id.empty()) return "Patient/" + f.id;
  return {};
}

}  // namespace

AuditAgent requestor_agent(const Principal& who, std::string_view address) {
  AuditAgent a;
  const auto has = [&](std::string_view role) {
    return std::find(who.roles.begin(), who.roles.end(), role) != who.roles.end();
  };
  if (has("admin") || has("clinician") || has("patient")) {
    a.type = {std::string(codes::kSecurityRole), "humanuser", "human user"};
  } else {
    a.type = {std::string(codes::kDicom), "110153", "Source Role ID"};
  }
  a.who_identifier = who.subject;
  if (has("patient") && !who.patient.empty()) a.who_reference = "Patient/" + who.patient;
  a.roles = who.roles;
  a.requestor = true;
  a.address = std::string(address);
  return a;
}

Status RestWriteAuditor::record(storage::WriteContext& ctx,
                                std::span<const fhir::WrittenResource> written) const {
  for (const auto& w : written) {
    AuditEventSpec spec = rest_spec(method_code(w.method), method_action(w.method), w.status, who_,
                                    request_.remote_address, emitter_.source());
    std::string own = w.type == "Patient" && !w.id.empty() ? "Patient/" + std::string(w.id) : "";
    std::string content;
    if (w.stored != nullptr) {
      spec.entities.push_back(resource_entity(w.stored->type + "/" + w.stored->id + "/_history/" +
                                              std::to_string(w.stored->version)));
      content = w.stored->json;
      if (w.stored->deleted && w.stored->version > 1) {
        // A deletion keeps no content: the version before it says whose record it was.
        auto before = ctx.version(w.stored->type, w.stored->id, w.stored->version - 1);
        if (!before) return before.take_error();
        if (*before) content = (*before)->json;
      }
    }
    add_patients(spec, content, own);
    if (auto s = emitter_.stage(ctx, spec); !s) return s;
  }
  return ok_status();
}

std::optional<AuditEventSpec> rest_access_event(const AuditSource& source, const Principal& who,
                                                const http::Request& request,
                                                const fhir::FhirRequest& f,
                                                const http::Response& response) {
  if (f.interaction == Interaction::kCapabilities) return std::nullopt;
  const bool audit_log = f.type == "AuditEvent";
  if (audit_log && f.interaction == Interaction::kCreate) return std::nullopt;
  if (is_write(f.interaction) && response.status < 400) return std::nullopt;  // staged

  const InteractionCode ic = code_of(f, request);
  AuditEventSpec spec =
      rest_spec(ic.code, ic.action, response.status, who, request.remote_address, source);
  if (audit_log) {
    spec.type = {std::string(codes::kDicom), "110101", "Audit Log Used"};
  }
  const auto q = request.target.find('?');
  const std::string_view path = std::string_view(request.target).substr(0, q);
  if (!f.id.empty()) {
    std::string reference = f.type + "/" + f.id;
    if (f.interaction == Interaction::kVread) reference += "/_history/" + f.version;
    spec.entities.push_back(resource_entity(std::move(reference)));
  }
  const bool searching =
      f.interaction == Interaction::kSearchType || f.interaction == Interaction::kSearchSystem ||
      f.interaction == Interaction::kSearchCompartment ||
      f.interaction == Interaction::kEverything || f.interaction == Interaction::kHistoryType ||
      f.interaction == Interaction::kHistorySystem;
  if (searching) {
    // The query as sent (a POST _search carries it in the body), and the path it went to.
    std::string query = q == std::string::npos ? "" : request.target.substr(q + 1);
    if (request.method == "POST" && !request.body.empty()) {
      query += (query.empty() ? "" : "&") + request.body;
    }
    spec.entities.push_back(query_entity(std::move(query), std::string(path)));
  }
  // Only a successful answer shows data; a refusal names what the path names.
  add_patients(spec, response.status < 300 ? std::string_view(response.body) : "", path_patient(f));
  return spec;
}

}  // namespace cg::gateway
