#include "gateway/login_audit.hpp"

#include "gateway/security/identity_store.hpp"

namespace cg::gateway {
namespace {

Coding dicom(std::string code, std::string display) {
  return {std::string(codes::kDicom), std::move(code), std::move(display)};
}

// Only well-formed names reach a record: someone may type a password into the username
// field.
std::string safe_name(std::string_view name) {
  if (name.empty() || check_username(name)) return std::string(name);
  return "(malformed)";
}

AuditAgent person_or_client(std::string_view subject, bool client, std::string_view address) {
  AuditAgent a;
  a.type = client ? dicom("110153", "Source Role ID")
                  : Coding{std::string(codes::kSecurityRole), "humanuser", "human user"};
  a.who_identifier = safe_name(subject);
  a.requestor = true;
  a.address = std::string(address);
  return a;
}

// The user or client an event is about, as an entity (object role 11, Security User Entity).
AuditEntity account_entity(std::string_view subject, bool client) {
  AuditEntity e;
  e.type = client ? Coding{std::string(codes::kEntityType), "2", "System Object"}
                  : Coding{std::string(codes::kEntityType), "1", "Person"};
  e.role = {std::string(codes::kObjectRole), "11", "Security User Entity"};
  e.identifier_value = safe_name(subject);
  e.description = client ? "client" : "user";
  return e;
}

// A token, named by its id (never its value): object role 13, Security Resource.
AuditEntity token_entity(std::string name, std::string token_id, std::string description) {
  AuditEntity e;
  e.type = {std::string(codes::kEntityType), "2", "System Object"};
  e.role = {std::string(codes::kObjectRole), "13", "Security Resource"};
  e.identifier_value = std::move(token_id);
  e.name = std::move(name);
  e.description = std::move(description);
  return e;
}

// Details may quote another party (an upstream's error): printable and bounded.
std::string printable(std::string_view text) {
  constexpr std::size_t kMaxDetail = 300;
  std::string out(text.substr(0, kMaxDetail));
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  return out;
}

AuditEventSpec security_alert(Coding subtype, int outcome, std::string description) {
  AuditEventSpec spec;
  spec.type = dicom("110113", "Security Alert");
  spec.subtypes.push_back(std::move(subtype));
  spec.action = 'E';
  spec.outcome = outcome;
  spec.outcome_description = std::move(description);
  return spec;
}

}  // namespace

boost::json::object token_event(const AuditSource& source, const TokenAttempt& attempt,
                                std::int64_t now_ms) {
  AuditEventSpec spec;
  spec.type = dicom("110114", "User Authentication");
  spec.subtypes.push_back(dicom("110122", "Login"));
  spec.subtypes.push_back({std::string(codes::kIheEvent), "ITI-71", "Get Access Token"});
  spec.action = 'E';
  spec.outcome = outcome_of_status(attempt.status);
  spec.outcome_description = printable(attempt.error);
  AuditAgent who = person_or_client(attempt.subject, attempt.client, attempt.address);
  who.roles = attempt.roles;
  spec.agents.push_back(std::move(who));
  spec.agents.push_back(gateway_agent(source));
  const std::string grant = attempt.grant.empty() ? "(unread)" : attempt.grant;
  spec.entities.push_back(token_entity("grant_type=" + grant, attempt.token_id,
                                       attempt.scope.empty() ? "" : "scope: " + attempt.scope));
  return build_audit_event(source, spec, now_ms);
}

boost::json::object revocation_event(const AuditSource& source, const RevocationAttempt& attempt,
                                     std::int64_t now_ms) {
  AuditEventSpec spec;
  spec.type = dicom("110114", "User Authentication");
  spec.subtypes.push_back(dicom("110123", "Logout"));
  spec.action = 'E';
  spec.outcome = outcome_of_status(attempt.status);
  spec.agents.push_back(person_or_client(attempt.subject, false, attempt.address));
  spec.agents.push_back(gateway_agent(source));
  spec.entities.push_back(token_entity(attempt.token_kind, attempt.token_id, "revoked"));
  return build_audit_event(source, spec, now_ms);
}

std::optional<boost::json::object> security_event_record(const AuditSource& source,
                                                         const SecurityEvent& event,
                                                         std::int64_t now_ms) {
  AuditEventSpec spec;
  switch (event.kind) {
    case SecurityEventKind::kLoginFailure:
      return std::nullopt;
    case SecurityEventKind::kLockout:
      spec = event.subject.empty()
                 ? security_alert(dicom("110126", "Node Authentication"), 4,
                                  "logins from this address locked: " + printable(event.detail))
                 : security_alert(dicom("110137", "User Security Attributes Changed"), 4,
                                  "user locked: " + printable(event.detail));
      break;
    case SecurityEventKind::kOfflineLogin:
      spec = security_alert({std::string(kGatewaySecurityAlert), "offline-login",
                             "Offline login with a cached verifier"},
                            0, printable(event.detail));
      break;
  }
  spec.agents.push_back(person_or_client(event.subject, false, event.address));
  spec.agents.push_back(gateway_agent(source));
  if (!event.subject.empty()) spec.entities.push_back(account_entity(event.subject, false));
  return build_audit_event(source, spec, now_ms);
}

boost::json::object account_change_event(const AuditSource& source, const AccountChange& change,
                                         std::int64_t now_ms) {
  using What = AccountChange::What;
  const std::string kind = change.client ? "client" : "user";
  std::string description;
  switch (change.what) {
    case What::kAdded:
      description = kind + " added";
      break;
    case What::kPassword:
      description = change.client ? "client secret rotated" : "user password changed";
      break;
    case What::kDisabled:
      description = kind + " disabled";
      break;
    case What::kEnabled:
      description = kind + " enabled";
      break;
  }
  AuditEventSpec spec =
      change.what == What::kAdded
          ? security_alert(dicom("110136", "Security Roles Changed"), 0, description)
          : security_alert(dicom("110137", "User Security Attributes Changed"), 0, description);
  // The operator at the gateway's console made the change.
  AuditAgent op;
  op.type = {std::string(codes::kSecurityRole), "humanuser", "human user"};
  op.who_identifier = change.operator_name;
  op.who_display = "operator (command line)";
  op.requestor = true;
  spec.agents.push_back(std::move(op));
  spec.agents.push_back(gateway_agent(source));
  AuditEntity account = account_entity(change.subject, change.client);
  if (!change.roles.empty()) {
    std::string roles;
    for (const auto& r : change.roles) roles += (roles.empty() ? "" : " ") + r;
    account.description += "; roles: " + roles;
  }
  spec.entities.push_back(std::move(account));
  return build_audit_event(source, spec, now_ms);
}

void AuditedSecurityEvents::record(const SecurityEvent& event) {
  next_.record(event);
  AuditEmitter* emitter = emitter_.load();
  if (emitter == nullptr) return;
  if (auto audit = security_event_record(emitter->source(), event, emitter->now_ms())) {
    emitter->emit(*audit);
  }
}

}  // namespace cg::gateway
