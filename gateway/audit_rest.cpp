#include "gateway/audit_rest.hpp"

#include <boost/json/object.hpp>
#include <charconv>
#include <chrono>
#include <optional>

#include "gateway/audit_keys.hpp"
#include "gateway/audit_search.hpp"
#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/bundle_writer.hpp"
#include "protocols/fhir/rest/outcome.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/responses.hpp"
#include "protocols/fhir/search/search_query.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;
using fhir::Interaction;

constexpr std::string_view kType = "AuditEvent";

// The stored record as the version FhirApi's renderers know: every audit record is
// version 1 of itself, last updated when it was received.
Result<storage::StoredVersion> as_version(const storage::StoredAudit& a) {
  auto parsed = fhir::parse_json(a.record.resource_json);
  if (!parsed || !parsed->is_object()) {
    return Error::internal("stored AuditEvent " + std::to_string(a.id) + " cannot be read");
  }
  storage::StoredVersion v;
  v.type = std::string(kType);
  v.id = std::to_string(a.id);
  v.version = 1;
  v.last_updated_ms = a.record.received_ms;
  v.last_updated = storage::format_instant(a.record.received_ms);
  json::object& o = parsed->as_object();
  o["id"] = v.id;
  json::object meta;
  if (const auto* m = o.if_contains("meta"); m != nullptr && m->is_object()) meta = m->as_object();
  meta["versionId"] = "1";
  meta["lastUpdated"] = v.last_updated;
  o["meta"] = std::move(meta);
  v.json = fhir::serialize_json(*parsed);
  return v;
}

void set_version_headers(http::Response& r, const storage::StoredVersion& v) {
  r.set_header("ETag", fhir::version_tag(1));
  r.set_header("Last-Modified", fhir::http_date(v.last_updated_ms));
}

Result<std::int64_t> parse_id(std::string_view id) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
  if (ec != std::errc() || end != id.data() + id.size() || n <= 0) {
    return Error::not_found("AuditEvent/" + std::string(id) + " does not exist");
  }
  return n;
}

// An AuditEvent as submitted, ready to store: structurally valid, without a client-chosen
// id or version (the repository assigns them).
Result<json::object> checked_event(Result<json::object> resource) {
  if (!resource) return resource.take_error();
  const auto* type = resource->if_contains("resourceType");
  if (type == nullptr || !type->is_string() || type->get_string() != kType) {
    return Error::invalid("the body must be an AuditEvent", "resourceType");
  }
  if (auto s = fhir::check_structure(*resource); !s) return s.take_error();
  resource->erase("id");
  if (auto* meta = resource->if_contains("meta"); meta != nullptr && meta->is_object()) {
    meta->as_object().erase("versionId");
    meta->as_object().erase("lastUpdated");
    if (meta->as_object().empty()) resource->erase("meta");
  }
  return resource;
}

// The AuditEvent in a create's body.
Result<json::object> submitted_event(const http::Request& request) {
  auto format = fhir::request_body_format(request);
  if (!format) return format.take_error();
  return checked_event(fhir::parse_resource(request.body, *format));
}

std::string_view text_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// POST AuditEvent (a full URL ending in /AuditEvent too).
bool is_audit_event_post(const json::value& entry) {
  const auto* e = entry.if_object();
  const auto* request = e != nullptr ? e->if_contains("request") : nullptr;
  if (request == nullptr || !request->is_object()) return false;
  std::string_view url = text_at(request->get_object(), "url");
  url = url.substr(0, url.find('?'));
  return text_at(request->get_object(), "method") == "POST" &&
         (url == "AuditEvent" || url.ends_with("/AuditEvent"));
}

Result<json::object> bundle_of(const http::Request& request) {
  auto format = fhir::request_body_format(request);
  if (!format) return format.take_error();
  auto bundle = fhir::parse_resource(request.body, *format);
  if (!bundle) return bundle.take_error();
  if (text_at(*bundle, "resourceType") != "Bundle") {
    return Error::invalid("a POST to the base takes a Bundle", "resourceType");
  }
  return bundle;
}

}  // namespace

AuditRestApi::AuditRestApi(storage::AuditStore& store, AuditRestConfig config)
    : store_(store), config_(std::move(config)) {
  if (!config_.clock_ms) config_.clock_ms = fhir::search::system_now_ms;
}

http::Response AuditRestApi::handle(const http::Request& request, std::string_view path,
                                    std::string_view query, std::string_view base_url) {
  auto parsed = fhir::parse_fhir_request(request, path, query);
  if (!parsed) return fhir::error_response(parsed.error(), fhir::Format::kJson, false);
  const fhir::FhirRequest& f = *parsed;
  const std::string base(base_url);
  switch (f.interaction) {
    case Interaction::kCreate:
      return create(request, f, base);
    case Interaction::kRead:
      return read(f, f.id);
    case Interaction::kVread:
      if (f.version != "1") {
        return fhir::error_response(
            Error::not_found("AuditEvent/" + f.id + " has no version " + f.version),
            f.response_format, f.pretty);
      }
      return read(f, f.id);
    case Interaction::kSearchType:
      return search(f, base);
    default:
      break;
  }
  return fhir::error_response(
      Error{ErrorKind::kNotAllowed,
            "audit records cannot be changed, deleted or versioned: only create, read and "
            "search are supported on AuditEvent",
            {}},
      f.response_format, f.pretty);
}

storage::AuditRecord AuditRestApi::record_of(const http::Request& request,
                                             const json::object& event, std::string raw) const {
  storage::AuditRecord record;
  record.received_ms = config_.clock_ms();
  record.transport = "rest";
  record.peer = request.remote_address;
  record.format = "fhir";
  record.raw = std::move(raw);
  set_audit_event(record, event);
  return record;
}

AuditRestApi::BundleKind AuditRestApi::classify_bundle(const http::Request& request) {
  // Most POSTs to the base never name an AuditEvent: no need to read them here.
  if (request.body.find("AuditEvent") == std::string::npos) return BundleKind::kOther;
  auto bundle = bundle_of(request);
  if (!bundle) return BundleKind::kOther;  // the FHIR API gives the error
  const auto* entries = bundle->if_contains("entry");
  if (entries == nullptr || !entries->is_array() || entries->get_array().empty()) {
    return BundleKind::kOther;
  }
  std::size_t audit = 0;
  for (const auto& e : entries->get_array()) audit += is_audit_event_post(e) ? 1 : 0;
  if (audit == 0) return BundleKind::kOther;
  return audit == entries->get_array().size() ? BundleKind::kAuditEvents : BundleKind::kMixed;
}

http::Response AuditRestApi::feed_bundle(const http::Request& request, std::string_view query,
                                         std::string_view base_url) {
  auto parsed = fhir::parse_fhir_request(request, "", query);
  if (!parsed) return fhir::error_response(parsed.error(), fhir::Format::kJson, false);
  const fhir::FhirRequest& f = *parsed;
  auto fail = [&](Error e) { return fhir::error_response(e, f.response_format, f.pretty); };
  if (classify_bundle(request) != BundleKind::kAuditEvents) {
    return fail(Error::invalid(
        "AuditEvent entries go to the audit record repository: send them in a Bundle of "
        "their own, without other entries",
        "Bundle.entry"));
  }
  auto bundle = bundle_of(request);
  if (!bundle) return fail(bundle.error());
  const std::string_view type = text_at(*bundle, "type");
  if (type != "batch" && type != "transaction") {
    return fail(Error::invalid("the Bundle type must be batch or transaction", "Bundle.type"));
  }
  const bool transaction = type == "transaction";
  auto& entries = bundle->at("entry").as_array();
  // Each entry: the error that refuses it, or nothing (its record is stored below).
  std::vector<std::optional<Error>> refused;
  std::vector<storage::AuditRecord> records;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& entry = entries[i].as_object();
    auto* resource = entry.if_contains("resource");
    Result<json::object> event =
        resource != nullptr && resource->is_object()
            ? checked_event(std::move(resource->as_object()))
            : Result<json::object>(Error::invalid("entry.resource is required"));
    if (!event) {
      if (transaction) {
        Error e = event.take_error();
        e.message = "entry " + std::to_string(i) + ": " + e.message;
        return fail(std::move(e));
      }
      refused.emplace_back(event.take_error());
      continue;
    }
    // An entry's raw form is its own JSON, which the record already serializes.
    records.push_back(record_of(request, *event, ""));
    records.back().raw = records.back().resource_json;
    refused.emplace_back(std::nullopt);
  }
  std::vector<std::int64_t> ids;
  if (!records.empty()) {
    auto stored = store_.append_and_wait(std::move(records));
    if (!stored) return fail(stored.error());
    ids = std::move(*stored);
  }
  fhir::BundleWriter w(transaction ? "transaction-response" : "batch-response",
                       fhir::new_resource_id(), fhir::now_instant());
  std::size_t next_id = 0;
  const std::string base(base_url);
  for (const auto& error : refused) {
    fhir::BundleWriter::Entry out;
    if (!error) {
      const std::string id = std::to_string(ids[next_id++]);
      out.full_url = base + "/AuditEvent/" + id;
      out.response = json::object{{"status", fhir::status_line(201)},
                                  {"location", "AuditEvent/" + id + "/_history/1"},
                                  {"etag", fhir::version_tag(1)}};
    } else {
      out.response = json::object{{"status", std::to_string(fhir::http_status(error->kind))},
                                  {"outcome", fhir::operation_outcome(*error)}};
    }
    w.entry(out);
  }
  return fhir::bundle_response(200, w.finish(), f.response_format, f.pretty);
}

http::Response AuditRestApi::create(const http::Request& request, const fhir::FhirRequest& f,
                                    const std::string& base) {
  auto event = submitted_event(request);
  if (!event) return fhir::error_response(event.error(), f.response_format, f.pretty);
  std::vector<storage::AuditRecord> records;
  records.push_back(record_of(request, *event, request.body));
  auto ids = store_.append_and_wait(std::move(records));
  if (!ids) return fhir::error_response(ids.error(), f.response_format, f.pretty);
  auto stored = store_.read(ids->front());
  if (!stored) return fhir::error_response(stored.error(), f.response_format, f.pretty);
  auto v = as_version(*stored);
  if (!v) return fhir::error_response(v.error(), f.response_format, f.pretty);
  http::Response r;
  if (f.prefer_return == fhir::PreferReturn::kMinimal) {
    r.status = 201;
  } else if (f.prefer_return == fhir::PreferReturn::kOperationOutcome) {
    r = fhir::object_response(201, fhir::information_outcome("stored AuditEvent/" + v->id),
                              f.response_format, f.pretty);
  } else {
    r = fhir::body_response(201, fhir::render_stored(*v, f.response_format, f.pretty),
                            f.response_format);
  }
  set_version_headers(r, *v);
  r.set_header("Location", base + "/AuditEvent/" + v->id + "/_history/1");
  return r;
}

http::Response AuditRestApi::read(const fhir::FhirRequest& f, std::string_view id) {
  auto n = parse_id(id);
  if (!n) return fhir::error_response(n.error(), f.response_format, f.pretty);
  auto stored = store_.read(*n);
  if (stored && !stored->record.problem.empty()) {
    // Kept as evidence, but there is no AuditEvent to show (docs/atna.md).
    stored = Error::not_found("AuditEvent/" + std::string(id) + " does not exist");
  }
  if (!stored) return fhir::error_response(stored.error(), f.response_format, f.pretty);
  auto v = as_version(*stored);
  if (!v) return fhir::error_response(v.error(), f.response_format, f.pretty);
  http::Response r = fhir::body_response(200, fhir::render_stored(*v, f.response_format, f.pretty),
                                         f.response_format);
  set_version_headers(r, *v);
  return r;
}

http::Response AuditRestApi::search(const fhir::FhirRequest& f, const std::string& base) {
  AuditSearchLimits limits{config_.default_page_size, config_.max_page_size};
  auto parsed = parse_audit_search(f.params, f.strict_handling, limits, config_.clock_ms());
  if (!parsed) return fhir::error_response(parsed.error(), f.response_format, f.pretty);
  storage::AuditQuery query = parsed->query;
  std::optional<std::int64_t> total;
  if (parsed->count_only || parsed->with_total) {
    auto n = store_.count(query);
    if (!n) return fhir::error_response(n.error(), f.response_format, f.pretty);
    total = *n;
  }
  const std::string self_url =
      base + "/AuditEvent" + (parsed->used.empty() ? "" : "?") + parsed->used;
  if (parsed->count_only) {
    fhir::BundleWriter counted("searchset", fhir::new_resource_id(), fhir::now_instant());
    counted.total(*total);
    counted.link("self", self_url);
    return fhir::bundle_response(200, counted.finish(), f.response_format, f.pretty);
  }
  const std::size_t page = query.count;
  query.count = page + 1;  // one more tells whether a next page exists
  auto found = store_.search(query);
  if (!found) return fhir::error_response(found.error(), f.response_format, f.pretty);
  const bool more = found->size() > page;
  if (more) found->resize(page);

  const std::string& self = self_url;
  fhir::BundleWriter bundle("searchset", fhir::new_resource_id(), fhir::now_instant());
  if (total) bundle.total(*total);
  bundle.link("self", self);
  if (more && !found->empty()) {
    bundle.link("next", self + (parsed->used.empty() ? "?" : "&") +
                            "_cursor=" + std::to_string(found->back().id));
  }
  for (const auto& a : *found) {
    auto v = as_version(a);
    if (!v) return fhir::error_response(v.error(), f.response_format, f.pretty);
    fhir::BundleWriter::Entry entry;
    entry.full_url = base + "/AuditEvent/" + v->id;
    entry.resource_json = std::move(v->json);
    entry.search = json::object{{"mode", "match"}};
    bundle.entry(entry);
  }
  return fhir::bundle_response(200, bundle.finish(), f.response_format, f.pretty);
}

}  // namespace cg::gateway
