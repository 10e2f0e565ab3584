#pragma once
// The audit record repository's FHIR face, /fhir/AuditEvent over audit.db (docs/atna.md,
// "Searching audit records"):
//
//   POST [base]/AuditEvent             ITI-20 RESTful feed: store one AuditEvent (JSON or XML)
//   GET  [base]/AuditEvent/[id]        read (vread of version 1 too: records never change)
//   GET  [base]/AuditEvent?…           ITI-81 search, newest first; POST …/_search alike
//
// Audit records are evidence: update, delete and history are refused (405). Records whose
// payload could not be read are kept but have no AuditEvent; they are not found here (the
// `audit export --include-unreadable` command shows them). Search parameters: date (with
// prefixes), the tokens type, subtype, action, outcome, source, site, address,
// agent.identifier, entity.identifier, patient.identifier, entity-type, entity-role, and the
// references patient, agent, entity; _count and _format. An unknown parameter is ignored
// (listed nowhere, as FHIR's lenient handling allows) unless the client sent
// `Prefer: handling=strict`; a modifier is always refused, since ignoring one would widen
// the match.
//
// Thread-safety: handle() is called concurrently from the HTTP worker threads.

#include <cstddef>
#include <functional>
#include <string_view>

#include "protocols/fhir/rest/fhir_request.hpp"
#include "protocols/http/message.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {

struct AuditRestConfig {
  std::size_t default_page_size = 50;
  std::size_t max_page_size = 1000;
  // Wall clock in ms since the epoch; empty: the system clock. Tests inject one.
  std::function<std::int64_t()> clock_ms;
};

class AuditRestApi {
 public:
  AuditRestApi(storage::AuditStore& store, AuditRestConfig config);

  // `path`: below the FHIR base ("AuditEvent/12"); `base_url`: the absolute FHIR base.
  http::Response handle(const http::Request& request, std::string_view path, std::string_view query,
                        std::string_view base_url);

 private:
  http::Response create(const http::Request& request, const fhir::FhirRequest& f,
                        const std::string& base);
  http::Response read(const fhir::FhirRequest& f, std::string_view id);
  http::Response search(const fhir::FhirRequest& f, const std::string& base);

  storage::AuditStore& store_;
  AuditRestConfig config_;
};

}  // namespace cg::gateway
