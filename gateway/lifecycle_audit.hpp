#pragma once
// The audit records of the gateway's own life (docs/atna.md, "What the gateway records
// about itself"), in the DICOM vocabulary:
// - start and stop: DCM 110100 Application Activity with 110120 Application Start or
//   110121 Application Stop; agents the gateway (DCM 110150 Application) and the operating
//   system user that launched it (DCM 110151 Application Launcher);
// - a configuration reload (SIGHUP: TLS certificates and the log level): DCM 110113
//   Security Alert with 110129 Security Configuration, outcome 0, or 4 naming what could not
//   be reloaded.
// The daemon writes start and stop with AuditEmitter::emit_and_wait(), so a stop record is
// in audit.db before the process ends. Pure builders; thread-safe.

#include <string>
#include <string_view>

#include "gateway/balp_events.hpp"

namespace cg::gateway {

struct ApplicationActivity {
  bool start = true;
  std::string launcher;  // the operating system user that runs the gateway; "" unknown
  std::string version;   // the gateway's version
  int outcome = 0;
  std::string description;  // why a start or stop failed, or was not clean
};
boost::json::object application_event(const AuditSource& source,
                                      const ApplicationActivity& activity, std::int64_t now_ms);

// `problems`: what could not be reloaded, "" when everything was.
boost::json::object reload_event(const AuditSource& source, std::string_view problems,
                                 std::int64_t now_ms);

}  // namespace cg::gateway
