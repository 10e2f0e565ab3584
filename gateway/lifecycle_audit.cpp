#include "gateway/lifecycle_audit.hpp"

namespace cg::gateway {
namespace {

Coding dicom(std::string code, std::string display) {
  return {std::string(codes::kDicom), std::move(code), std::move(display)};
}

// The gateway as the application the event is about.
AuditAgent application_agent(const AuditSource& source, std::string_view version) {
  AuditAgent a = gateway_agent(source);
  a.type = dicom("110150", "Application");
  if (!version.empty()) a.roles = {"clinic-gateway " + std::string(version)};
  return a;
}

}  // namespace

boost::json::object application_event(const AuditSource& source,
                                      const ApplicationActivity& activity, std::int64_t now_ms) {
  AuditEventSpec spec;
  spec.type = dicom("110100", "Application Activity");
  spec.subtypes.push_back(activity.start ? dicom("110120", "Application Start")
                                         : dicom("110121", "Application Stop"));
  spec.action = 'E';
  spec.outcome = activity.outcome;
  spec.outcome_description = activity.description;
  spec.agents.push_back(application_agent(source, activity.version));
  if (!activity.launcher.empty()) {
    AuditAgent launcher;
    launcher.type = dicom("110151", "Application Launcher");
    launcher.who_identifier = activity.launcher;
    launcher.requestor = true;
    spec.agents.push_back(std::move(launcher));
  }
  return build_audit_event(source, spec, now_ms);
}

boost::json::object reload_event(const AuditSource& source, std::string_view problems,
                                 std::int64_t now_ms) {
  AuditEventSpec spec;
  spec.type = dicom("110113", "Security Alert");
  spec.subtypes.push_back(dicom("110129", "Security Configuration"));
  spec.action = 'E';
  spec.outcome = problems.empty() ? 0 : 4;
  spec.outcome_description = problems.empty()
                                 ? "configuration reloaded: TLS certificates and the log level"
                                 : "configuration reloaded with problems: " + std::string(problems);
  spec.agents.push_back(application_agent(source, ""));
  return build_audit_event(source, spec, now_ms);
}

}  // namespace cg::gateway
