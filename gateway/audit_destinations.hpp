#pragma once
// The two kinds of upstream an AuditForwarder sends to ([audit.forward] in gateway.toml):
//
// - SyslogForwardDestination: an audit record repository that speaks ITI-20 syslog. Each
//   record becomes one RFC 5424 message with PRI <85> (facility 10 security/authorization,
//   severity 5 notice, as IHE ITI TF-2 3.20.4.1.2 asks), APP-NAME "clinic-gateway", the
//   node's name as HOSTNAME and the time it was received as TIMESTAMP. A DICOM or RFC 3881
//   audit message goes as it was received, byte for byte, with MSGID "IHE+RFC-3881"; every
//   other record (FHIR AuditEvents: the ITI-20 RESTful feed, the gateway's own) goes as its
//   AuditEvent JSON with no MSGID (IHE defines none for it). A batch is one connection
//   (send_syslog_batch): taken whole, or not at all.
//
// - FhirForwardDestination: a FHIR server (another clinic-gateway, a district repository).
//   A batch is one `batch` Bundle POSTed to the FHIR base, one `POST AuditEvent` entry per
//   record, with the bearer token from token_file (read at each attempt, so a renewed
//   token needs no restart). The answer decides, entry by entry (judge_batch_answer).
//
// Both send in a blocking call on the forwarder's thread. The senders are injected so the
// message and Bundle building and the judging are tested without sockets.

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "gateway/audit_forwarder.hpp"
#include "protocols/atna/syslog_client.hpp"
#include "protocols/http/form_client.hpp"

namespace cg::gateway {

inline constexpr std::string_view kSyslogAppName = "clinic-gateway";
inline constexpr std::string_view kIheAuditMsgId = "IHE+RFC-3881";
// Their cursors in audit.db (AuditStore::cursor).
inline constexpr std::string_view kSyslogCursorName = "forward.syslog";
inline constexpr std::string_view kFhirCursorName = "forward.fhir";

// The RFC 5424 message that forwards `record`, from host `hostname` (made fit for the
// HOSTNAME field: characters outside printable ASCII become '-', at most 255).
Result<std::string> forwarded_syslog_message(const storage::StoredAudit& record,
                                             std::string_view hostname);

class SyslogForwardDestination : public AuditDestination {
 public:
  using Sender =
      std::function<Status(const atna::SyslogClientConfig&, std::span<const std::string>)>;
  SyslogForwardDestination(atna::SyslogClientConfig client, std::string hostname,
                           Sender send = atna::send_syslog_batch);
  std::string describe() const override;
  std::string cursor_name() const override { return std::string(kSyslogCursorName); }
  Delivery deliver(std::span<const storage::StoredAudit> records, std::stop_token stop) override;

 private:
  atna::SyslogClientConfig client_;
  std::string hostname_;
  Sender send_;
};

// The batch Bundle of `records`' AuditEvents, in order.
std::string audit_batch_bundle(std::span<const storage::StoredAudit> records);

// What the upstream's answer to the batch Bundle of `records` means:
// - 2xx: entry by entry in order; a 2xx entry is stored, a 4xx entry refused for good (the
//   upstream will not take that AuditEvent), and at the first other entry (5xx, 429, no
//   status) the rest waits for the next attempt. Entries the answer leaves out (or an
//   answer that is not a Bundle) count as stored: the upstream accepted the batch.
// - 413: the batch is too large, split it (a single record: refused for good).
// - anything else (401/403 credentials, 404 wrong fhir_url, 5xx, 3xx): the whole batch
//   waits, with the status in the problem.
Delivery judge_batch_answer(const http::FormAnswer& answer,
                            std::span<const storage::StoredAudit> records);

class FhirForwardDestination : public AuditDestination {
 public:
  using Poster = std::function<Result<http::FormAnswer>(const http::BodyPost&)>;
  // `request` holds the URL (the FHIR base), TLS files, timeout and response limit; its
  // body, media types and authorization are set per batch.
  FhirForwardDestination(http::BodyPost request, std::optional<std::filesystem::path> token_file,
                         Poster post = http::post_body);
  std::string describe() const override;
  std::string cursor_name() const override { return std::string(kFhirCursorName); }
  Delivery deliver(std::span<const storage::StoredAudit> records, std::stop_token stop) override;

 private:
  Result<std::string> authorization() const;

  http::BodyPost request_;
  std::optional<std::filesystem::path> token_file_;
  Poster post_;
};

}  // namespace cg::gateway
