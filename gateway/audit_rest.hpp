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

#include <boost/json/object.hpp>
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

  // What a POST to the FHIR base carries: a batch or transaction Bundle whose every entry is
  // POST AuditEvent (the feed of several records at once: an upstream forwarder's batches),
  // one that mixes AuditEvents with other entries (refused: the two go to different
  // stores), or anything else (the clinical FHIR API's).
  enum class BundleKind { kOther, kAuditEvents, kMixed };
  static BundleKind classify_bundle(const http::Request& request);
  // Stores a kAuditEvents Bundle: a batch entry by entry (the valid ones in one commit), a
  // transaction all or nothing. Answers the matching batch-/transaction-response. A kMixed
  // Bundle gets 400.
  http::Response feed_bundle(const http::Request& request, std::string_view query,
                             std::string_view base_url);

 private:
  http::Response create(const http::Request& request, const fhir::FhirRequest& f,
                        const std::string& base);
  http::Response read(const fhir::FhirRequest& f, std::string_view id);
  http::Response search(const fhir::FhirRequest& f, const std::string& base);
  storage::AuditRecord record_of(const http::Request& request, const boost::json::object& event,
                                 std::string raw) const;

  storage::AuditStore& store_;
  AuditRestConfig config_;
};

}  // namespace cg::gateway
