#include "gateway/audit_destinations.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <fstream>

#include "protocols/atna/syslog_timestamp.hpp"
#include "protocols/atna/syslog_writer.hpp"
#include "protocols/fhir/model/json.hpp"

namespace cg::gateway {
namespace {

// IHE ITI TF-2 3.20.4.1.2 (ITI-20): facility 10 (security/authorization), severity 5 (notice).
constexpr int kAuditFacility = 10;
constexpr int kAuditSeverity = 5;

std::string header_safe(std::string_view text, std::size_t max_length) {
  std::string out(text.substr(0, max_length));
  for (char& c : out) {
    if (c < 33 || c > 126) c = '-';
  }
  return out;
}

bool is_audit_xml(const storage::AuditRecord& record) {
  return record.format == "dicom" || record.format == "rfc3881";
}

// "201 Created" → 201; nullopt when the entry has no status line.
std::optional<int> entry_status(const boost::json::value& entry) {
  const auto* object = entry.if_object();
  const auto* response = object ? object->if_contains("response") : nullptr;
  const auto* fields = response ? response->if_object() : nullptr;
  const auto* status = fields ? fields->if_contains("status") : nullptr;
  if (!status || !status->is_string()) return std::nullopt;
  const auto& text = status->get_string();
  int code = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (ec != std::errc() || end != text.data() + std::min<std::size_t>(3, text.size())) {
    return std::nullopt;
  }
  return code;
}

}  // namespace

Result<std::string> forwarded_syslog_message(const storage::StoredAudit& stored,
                                             std::string_view hostname) {
  const storage::AuditRecord& record = stored.record;
  atna::SyslogMessage message;
  message.format = atna::SyslogFormat::kRfc5424;
  message.facility = kAuditFacility;
  message.severity = kAuditSeverity;
  message.timestamp = atna::format_rfc5424_timestamp(record.received_ms);
  message.hostname = header_safe(hostname, atna::kHostnameField.max_length);
  message.app_name = std::string(kSyslogAppName);
  if (is_audit_xml(record)) {
    message.msgid = std::string(kIheAuditMsgId);
    message.msg = record.raw;
  } else {
    message.msg = record.resource_json;
  }
  return atna::format_rfc5424(message);
}

SyslogForwardDestination::SyslogForwardDestination(atna::SyslogClientConfig client,
                                                   std::string hostname, Sender send)
    : client_(std::move(client)), hostname_(std::move(hostname)), send_(std::move(send)) {}

std::string SyslogForwardDestination::describe() const {
  return "syslog " + atna::to_url(client_.destination);
}

Delivery SyslogForwardDestination::deliver(std::span<const storage::StoredAudit> records,
                                           std::stop_token stop) {
  std::vector<std::string> messages;
  messages.reserve(records.size());
  for (const storage::StoredAudit& record : records) {
    auto message = forwarded_syslog_message(record, hostname_);
    if (!message) {
      Delivery unusable;  // cannot happen with stored records; refused alone, not retried
      unusable.split = true;
      return unusable;
    }
    messages.push_back(std::move(*message));
  }
  atna::SyslogClientConfig client = client_;
  client.stop = std::move(stop);
  Status sent = send_(client, messages);
  if (!sent) return Delivery::failed(sent.take_error());
  return Delivery::all(records.size());
}

std::string audit_batch_bundle(std::span<const storage::StoredAudit> records) {
  // The stored AuditEvents are JSON that passed validation when they were stored; they are
  // spliced in as they are rather than parsed and written again.
  std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[)";
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0) bundle += ',';
    bundle += R"({"resource":)";
    bundle += records[i].record.resource_json;
    bundle += R"(,"request":{"method":"POST","url":"AuditEvent"}})";
  }
  bundle += "]}";
  return bundle;
}

Delivery judge_batch_answer(const http::FormAnswer& answer,
                            std::span<const storage::StoredAudit> records) {
  if (answer.status == 413) {
    Delivery too_large;
    too_large.split = true;
    return too_large;
  }
  if (answer.status < 200 || answer.status > 299) {
    return Delivery::failed(
        Error::unavailable("the upstream answered HTTP " + std::to_string(answer.status)));
  }
  auto parsed = fhir::parse_json(answer.body);
  const boost::json::object* bundle = parsed ? parsed->if_object() : nullptr;
  const boost::json::value* entries = bundle ? bundle->if_contains("entry") : nullptr;
  if (!entries || !entries->is_array()) return Delivery::all(records.size());
  Delivery delivery;
  const boost::json::array& answers = entries->get_array();
  for (std::size_t i = 0; i < records.size() && i < answers.size(); ++i) {
    const std::optional<int> status = entry_status(answers[i]);
    const bool refused = status && *status >= 400 && *status <= 499 && *status != 429;
    if (!status || (!refused && (*status < 200 || *status > 299))) {
      delivery.taken = i;
      delivery.problem = Error::unavailable(
          "the upstream answered " + (status ? std::to_string(*status) : std::string("nothing")) +
          " for AuditEvent " + std::to_string(records[i].id));
      return delivery;
    }
    if (refused) delivery.refused.push_back(records[i].id);
  }
  delivery.taken = records.size();
  return delivery;
}

FhirForwardDestination::FhirForwardDestination(http::BodyPost request,
                                               std::optional<std::filesystem::path> token_file,
                                               Poster post)
    : request_(std::move(request)), token_file_(std::move(token_file)), post_(std::move(post)) {
  request_.content_type = "application/fhir+json";
  request_.accept = "application/fhir+json";
}

std::string FhirForwardDestination::describe() const {
  return std::string("FHIR ") + (request_.url.tls ? "https://" : "http://") +
         http::host_header(request_.url) + request_.url.target;
}

Result<std::string> FhirForwardDestination::authorization() const {
  if (!token_file_) return std::string();
  std::ifstream in(*token_file_);
  std::string token;
  if (!in || !std::getline(in, token)) {
    return Error::unavailable("cannot read the token file " + token_file_->string());
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty())
    return Error::unavailable("the token file " + token_file_->string() + " is empty");
  return "Bearer " + token;
}

Delivery FhirForwardDestination::deliver(std::span<const storage::StoredAudit> records,
                                         std::stop_token stop) {
  auto authorization_value = authorization();
  if (!authorization_value) return Delivery::failed(authorization_value.take_error());
  http::BodyPost post = request_;
  post.authorization = std::move(*authorization_value);
  post.body = audit_batch_bundle(records);
  post.stop = std::move(stop);
  auto answer = post_(post);
  if (!answer) return Delivery::failed(answer.take_error());
  return judge_batch_answer(*answer, records);
}

}  // namespace cg::gateway
