#include "protocols/fhir/rest/fhir_api.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>
#include <vector>

#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/api_call.hpp"
#include "protocols/fhir/rest/bundle_writer.hpp"
#include "protocols/fhir/rest/capability.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "protocols/fhir/rest/outcome.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/responses.hpp"
#include "protocols/fhir/rest/search_params.hpp"
#include "protocols/fhir/rest/transaction.hpp"
#include "protocols/fhir/rest/write_ops.hpp"

namespace cg::fhir {

namespace {

namespace json = boost::json;

// Threads that run one batch Bundle's entries at once.
constexpr std::size_t kBatchParallelism = 8;

std::string location_of(const std::string& base, const storage::StoredVersion& v) {
  return base + "/" + v.type + "/" + v.id + "/_history/" + std::to_string(v.version);
}

void set_version_headers(http::Response& r, const storage::StoredVersion& v) {
  r.set_header("ETag", version_tag(v.version));
  r.set_header("Last-Modified", http_date(v.last_updated_ms));
}

// Response to a successful write, shaped by Prefer: return=.
http::Response written_response(const FhirRequest& f, const std::string& base, int status,
                                const storage::StoredVersion& v) {
  http::Response r;
  if (f.prefer_return == PreferReturn::kMinimal || v.deleted) {
    r.status = status;
  } else if (f.prefer_return == PreferReturn::kOperationOutcome) {
    r = object_response(status,
                        information_outcome("stored " + v.type + "/" + v.id + " version " +
                                            std::to_string(v.version)),
                        f.response_format, f.pretty);
  } else {
    r = body_response(status, render_stored(v, f.response_format, f.pretty), f.response_format);
  }
  set_version_headers(r, v);
  if (status == 201) r.set_header("Location", location_of(base, v));
  return r;
}

// Runs `fn(ctx)` as one store job and waits for the durable commit. The call's auditor
// records the write inside the same job.
template <class Fn>
Result<WriteOutcome> run_write(storage::ResourceStore& store, const FhirApi::Call& call, Fn fn) {
  const WriteAuditor* auditor = call.auditor;
  const http::Request& http = call.http;
  const FhirRequest& f = call.fhir;
  std::optional<Result<WriteOutcome>> result;
  Status s = store.write([&](storage::WriteContext& ctx) -> Status {
    result.emplace(fn(ctx));
    if (!*result) return result->error();
    if (auditor == nullptr) return ok_status();
    const WriteOutcome& out = **result;
    const storage::StoredVersion* stored = out.stored ? &*out.stored : nullptr;
    WrittenResource written{
        http.method, f.type,
        stored != nullptr ? std::string_view(stored->id) : std::string_view(f.id), stored,
        out.status};
    return auditor->record(ctx, std::span(&written, 1));
  });
  if (!s) return s.take_error();
  return std::move(*result);
}

Result<std::optional<std::int64_t>> if_match_of(const http::Request& req) {
  std::string_view tag = req.header("If-Match");
  if (tag.empty()) return std::optional<std::int64_t>();
  auto v = parse_version_tag(tag);
  if (!v) return Error::invalid("If-Match: " + v.error().message);
  return std::optional<std::int64_t>(*v);
}

std::string entry_request_method(const storage::StoredVersion& v) {
  if (v.deleted) return "DELETE";
  return v.version == 1 ? "POST" : "PUT";
}

}  // namespace

FhirApi::FhirApi(storage::ResourceStore& store, FhirApiConfig config)
    : store_(store), config_(std::move(config)) {}

http::Response FhirApi::handle(const http::Request& request, std::string_view path,
                               std::string_view query, std::string_view base_url,
                               const WriteAuditor* auditor) {
  auto parsed = parse_fhir_request(request, path, query);
  if (!parsed) return error_response(parsed.error(), Format::kJson, false);
  Call call{request,           std::move(*parsed), std::string(base_url),
            std::string(path), std::string(query), auditor};
  http::Response r = dispatch(call);
  if (request.method == "HEAD") r.body.clear();
  return r;
}

http::Response FhirApi::dispatch(Call& call) {
  switch (call.fhir.interaction) {
    case Interaction::kCapabilities:
      return capabilities(call);
    case Interaction::kBatch:
      return bundle(call);
    case Interaction::kHistorySystem:
    case Interaction::kHistoryType:
    case Interaction::kHistoryInstance:
      return history(call);
    case Interaction::kSearchType:
    case Interaction::kSearchSystem:
      return search(call);
    case Interaction::kSearchCompartment:
      // Patient/123/* spans every type of the compartment, like $everything.
      return call.fhir.type.empty() ? everything(call) : search(call);
    case Interaction::kEverything:
      return everything(call);
    case Interaction::kCreate:
      return create(call);
    case Interaction::kConditionalUpdate:
      return conditional_update(call);
    case Interaction::kConditionalDelete:
      return conditional_remove(call);
    case Interaction::kRead:
      return read(call);
    case Interaction::kUpdate:
      return update(call);
    case Interaction::kDelete:
      return remove(call);
    case Interaction::kVread:
      return vread(call);
  }
  return error_response(Error::internal("unhandled interaction"), Format::kJson, false);
}

http::Response FhirApi::read(Call& call) {
  const auto& f = call.fhir;
  auto head = store_.head(f.type, f.id);
  if (!head) return error_response(head.error(), f.response_format, f.pretty);
  if (!*head)
    return error_response(Error::not_found(f.type + "/" + f.id + " is not known"),
                          f.response_format, f.pretty);
  const auto& v = **head;
  if (v.deleted) {
    auto r = error_response(Error::gone(f.type + "/" + f.id + " was deleted"), f.response_format,
                            f.pretty);
    set_version_headers(r, v);
    return r;
  }
  if (call.http.header("If-None-Match") == version_tag(v.version)) {
    http::Response r;
    r.status = 304;
    set_version_headers(r, v);
    return r;
  }
  auto r = body_response(200, render_stored(v, f.response_format, f.pretty), f.response_format);
  set_version_headers(r, v);
  return r;
}

http::Response FhirApi::vread(Call& call) {
  const auto& f = call.fhir;
  auto version = parse_version_tag(f.version);
  if (!version)
    return error_response(Error::not_found("version '" + f.version + "' is not known"),
                          f.response_format, f.pretty);
  auto found = store_.version(f.type, f.id, *version);
  if (!found) return error_response(found.error(), f.response_format, f.pretty);
  if (!*found) {
    return error_response(Error::not_found(f.type + "/" + f.id + " has no version " + f.version),
                          f.response_format, f.pretty);
  }
  if ((*found)->deleted) {
    auto r = error_response(
        Error::gone(f.type + "/" + f.id + " version " + f.version + " is a deletion"),
        f.response_format, f.pretty);
    set_version_headers(r, **found);
    return r;
  }
  auto r =
      body_response(200, render_stored(**found, f.response_format, f.pretty), f.response_format);
  set_version_headers(r, **found);
  return r;
}

namespace {

// Parses, type-checks and structurally validates the request body as a `type` resource.
Result<json::object> body_resource(const http::Request& req, const std::string& type) {
  auto format = request_body_format(req);
  if (!format) return format.take_error();
  return parse_checked_resource(req.body, *format, type);
}

}  // namespace

http::Response FhirApi::create(Call& call) {
  const auto& f = call.fhir;
  auto resource = body_resource(call.http, f.type);
  if (!resource) return error_response(resource.error(), f.response_format, f.pretty);
  resource->erase("id");  // create ignores a client id; the server assigns one
  std::optional<Criteria> if_none_exist;
  if (auto q = call.http.header("If-None-Exist"); !q.empty()) {
    auto c = parse_criteria(f.type, q.starts_with("?") ? q.substr(1) : q);
    if (!c) return error_response(c.error(), f.response_format, f.pretty);
    if_none_exist = std::move(*c);
  }
  std::string id = new_resource_id();
  PrecomputedIndex index = index_for(*resource);
  auto out = run_write(store_, call, [&](storage::WriteContext& ctx) {
    return apply_create(ctx, f.type, id, std::move(*resource), if_none_exist, std::move(index));
  });
  if (!out) return error_response(out.error(), f.response_format, f.pretty);
  return written_response(f, call.base, out->status, *out->stored);
}

http::Response FhirApi::update(Call& call) {
  const auto& f = call.fhir;
  auto resource = body_resource(call.http, f.type);
  if (!resource) return error_response(resource.error(), f.response_format, f.pretty);
  const auto* id = resource->if_contains("id");
  if (!id || !id->is_string() || id->get_string() != f.id) {
    return error_response(
        Error::invalid(
            "the resource id must be present and equal the id in the URL ('" + f.id + "')", "id"),
        f.response_format, f.pretty);
  }
  auto if_match = if_match_of(call.http);
  if (!if_match) return error_response(if_match.error(), f.response_format, f.pretty);
  PrecomputedIndex index = index_for(*resource);
  auto out = run_write(store_, call, [&](storage::WriteContext& ctx) {
    return apply_update(ctx, f.type, f.id, std::move(*resource), *if_match, std::move(index));
  });
  if (!out) return error_response(out.error(), f.response_format, f.pretty);
  return written_response(f, call.base, out->status, *out->stored);
}

http::Response FhirApi::conditional_update(Call& call) {
  const auto& f = call.fhir;
  auto criteria = parse_criteria(f.type, f.params);
  if (!criteria) return error_response(criteria.error(), f.response_format, f.pretty);
  auto resource = body_resource(call.http, f.type);
  if (!resource) return error_response(resource.error(), f.response_format, f.pretty);
  auto if_match = if_match_of(call.http);
  if (!if_match) return error_response(if_match.error(), f.response_format, f.pretty);
  std::string new_id = new_resource_id();
  PrecomputedIndex index = index_for(*resource);
  auto out = run_write(store_, call, [&](storage::WriteContext& ctx) {
    return apply_conditional_update(ctx, *criteria, new_id, std::move(*resource), *if_match,
                                    std::move(index));
  });
  if (!out) return error_response(out.error(), f.response_format, f.pretty);
  return written_response(f, call.base, out->status, *out->stored);
}

http::Response FhirApi::remove(Call& call) {
  const auto& f = call.fhir;
  auto if_match = if_match_of(call.http);
  if (!if_match) return error_response(if_match.error(), f.response_format, f.pretty);
  auto out = run_write(store_, call, [&](storage::WriteContext& ctx) {
    return apply_delete(ctx, f.type, f.id, *if_match);
  });
  if (!out) return error_response(out.error(), f.response_format, f.pretty);
  http::Response r;
  if (f.prefer_return == PreferReturn::kOperationOutcome) {
    r = object_response(200, information_outcome("deleted " + f.type + "/" + f.id),
                        f.response_format, f.pretty);
  } else {
    r.status = 204;
  }
  if (out->stored) r.set_header("ETag", version_tag(out->stored->version));
  return r;
}

http::Response FhirApi::conditional_remove(Call& call) {
  const auto& f = call.fhir;
  auto criteria = parse_criteria(f.type, f.params);
  if (!criteria) return error_response(criteria.error(), f.response_format, f.pretty);
  auto out = run_write(store_, call, [&](storage::WriteContext& ctx) {
    return apply_conditional_delete(ctx, *criteria);
  });
  if (!out) return error_response(out.error(), f.response_format, f.pretty);
  http::Response r;
  r.status = 204;
  if (out->stored) r.set_header("ETag", version_tag(out->stored->version));
  return r;
}

http::Response FhirApi::history(Call& call) {
  const auto& f = call.fhir;
  storage::HistoryQuery q;
  q.type = f.type;
  q.id = f.id;
  q.count = config_.default_page_size;
  if (auto c = first_param(f.params, "_count")) {
    auto n = parse_count(*c, config_.max_page_size);
    if (!n) return error_response(n.error(), f.response_format, f.pretty);
    q.count = *n;
  }
  if (auto since = first_param(f.params, "_since")) {
    auto range = parse_time_range(*since);
    if (!range)
      return error_response(Error::invalid("_since: " + range.error().message), f.response_format,
                            f.pretty);
    q.since_ms = range->begin_ms;
  }
  if (auto cursor = first_param(f.params, "_cursor")) {
    auto v = parse_version_tag(*cursor);
    if (!v)
      return error_response(Error::invalid("_cursor is malformed"), f.response_format, f.pretty);
    q.at_most_seq = *v;
  }
  if (!f.type.empty() && !f.id.empty()) {
    auto head = store_.head(f.type, f.id);
    if (!head) return error_response(head.error(), f.response_format, f.pretty);
    if (!*head)
      return error_response(Error::not_found(f.type + "/" + f.id + " is not known"),
                            f.response_format, f.pretty);
  }
  auto page = store_.history(q);
  if (!page) return error_response(page.error(), f.response_format, f.pretty);

  std::string path_url = call.base + "/" + call.path;
  std::string keep = "_count=" + std::to_string(q.count);
  if (auto since = first_param(f.params, "_since")) keep += "&_since=" + std::string(*since);
  BundleWriter w("history", new_resource_id(), now_instant());
  w.link("self", path_url + (call.query.empty() ? "" : "?" + call.query));
  if (page->next_at_most_seq) {
    w.link("next", path_url + "?" + keep + "&_cursor=" + std::to_string(*page->next_at_most_seq));
  }
  for (const auto& v : page->items) {
    BundleWriter::Entry e;
    e.full_url = call.base + "/" + v.type + "/" + v.id;
    if (!v.deleted) e.resource_json = v.json;
    std::string method = entry_request_method(v);
    e.request = {{"method", method}, {"url", method == "POST" ? v.type : v.type + "/" + v.id}};
    e.response = {
        {"status", v.deleted ? "204 No Content" : (v.version == 1 ? "201 Created" : "200 OK")},
        {"etag", version_tag(v.version)},
        {"lastModified", v.last_updated}};
    w.entry(e);
  }
  return bundle_response(200, w.finish(), f.response_format, f.pretty);
}

http::Response FhirApi::bundle(Call& call) {
  const auto& f = call.fhir;
  auto format = request_body_format(call.http);
  if (!format) return error_response(format.error(), f.response_format, f.pretty);
  auto bundle = parse_resource(call.http.body, *format);
  if (!bundle) return error_response(bundle.error(), f.response_format, f.pretty);
  const auto* rt = bundle->if_contains("resourceType");
  if (!rt || *rt != "Bundle") {
    return error_response(Error::invalid("POST to the base needs a Bundle", "resourceType"),
                          f.response_format, f.pretty);
  }
  const auto* type = bundle->if_contains("type");
  std::string t = type && type->is_string() ? std::string(type->get_string()) : "";
  if (t == "transaction") {
    // All or nothing: the whole Bundle, entry resources included, must be valid.
    if (auto s = check_structure(*bundle); !s)
      return error_response(s.error(), f.response_format, f.pretty);
    return transaction(call, std::move(*bundle));
  }
  if (t == "batch") {
    // Entries are independent: each resource is validated by its own entry's request.
    json::object shell = *bundle;
    if (auto* entries = shell.if_contains("entry"); entries && entries->is_array()) {
      for (auto& e : entries->as_array()) {
        if (auto* o = e.if_object()) o->erase("resource");
      }
    }
    if (auto s = check_structure(shell); !s)
      return error_response(s.error(), f.response_format, f.pretty);
    return batch(call, std::move(*bundle));
  }
  return error_response(
      Error::invalid(
          "POST to the base needs a Bundle of type batch or transaction, not '" + t + "'",
          "Bundle.type"),
      f.response_format, f.pretty);
}

http::Response FhirApi::transaction(Call& call, boost::json::object bundle) {
  const auto& f = call.fhir;
  auto plan = plan_transaction(std::move(bundle), config_.max_bundle_entries);
  if (!plan) return error_response(plan.error(), f.response_format, f.pretty);
  Status s = store_.write([&](storage::WriteContext& ctx) -> Status {
    if (auto done = execute_transaction(ctx, *plan); !done) return done;
    if (call.auditor == nullptr) return ok_status();
    std::vector<WrittenResource> written;
    for (const auto& e : plan->entries) {
      if (e.method == "GET") continue;  // reads are audited by the caller, from the response
      const storage::StoredVersion* stored = e.outcome.stored ? &*e.outcome.stored : nullptr;
      written.push_back({e.method, e.type,
                         stored != nullptr ? std::string_view(stored->id) : std::string_view(e.id),
                         stored, e.outcome.status});
    }
    return call.auditor->record(ctx, written);
  });
  if (!s) return error_response(s.error(), f.response_format, f.pretty);

  BundleWriter w("transaction-response", new_resource_id(), now_instant());
  for (const auto& e : plan->entries) {
    BundleWriter::Entry out;
    json::object response{{"status", status_line(e.outcome.status)}};
    if (const auto& v = e.outcome.stored) {
      if (e.method != "DELETE") {
        out.full_url = call.base + "/" + v->type + "/" + v->id;
        response["location"] = v->type + "/" + v->id + "/_history/" + std::to_string(v->version);
        if (f.prefer_return == PreferReturn::kRepresentation && !v->deleted)
          out.resource_json = v->json;
      }
      response["etag"] = version_tag(v->version);
      response["lastModified"] = v->last_updated;
    }
    out.response = std::move(response);
    w.entry(out);
  }
  return bundle_response(200, w.finish(), f.response_format, f.pretty);
}

http::Response FhirApi::batch(Call& call, boost::json::object bundle) {
  const auto& f = call.fhir;
  auto* entries = bundle.if_contains("entry");
  std::size_t n = entries && entries->is_array() ? entries->as_array().size() : 0;
  if (n > config_.max_bundle_entries) {
    return error_response(
        Error::too_large("the Bundle has " + std::to_string(n) + " entries; the limit is " +
                         std::to_string(config_.max_bundle_entries)),
        f.response_format, f.pretty);
  }
  BundleWriter w("batch-response", new_resource_id(), now_instant());
  // Batch entries are independent (FHIR lets a server process them in any order), so a few
  // threads run them at once and their writes share group commits instead of paying one
  // fsync each. The response keeps the request's order.
  std::vector<BundleWriter::Entry> results(n);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < n; i = next++)
      results[i] = batch_entry(call, entries->as_array()[i]);
  };
  {
    std::vector<std::jthread> helpers;
    for (std::size_t t = 1; t < std::min(kBatchParallelism, n); ++t) helpers.emplace_back(work);
    work();
  }  // joins the helpers
  for (const auto& e : results) w.entry(e);
  return bundle_response(200, w.finish(), f.response_format, f.pretty);
}

}  // namespace cg::fhir

namespace cg::fhir {

// A batch entry is an independent request: it goes through the same dispatch as a plain
// REST call (always answered in JSON), and its response becomes the entry.
BundleWriter::Entry FhirApi::batch_entry(Call& call, const boost::json::value& raw) {
  BundleWriter::Entry out;
  auto fail = [&](const Error& e) {
    out.response = {{"status", std::to_string(http_status(e.kind))},
                    {"outcome", operation_outcome(e)}};
    return out;
  };
  const auto* entry = raw.if_object();
  const auto* req = entry ? entry->if_contains("request") : nullptr;
  if (!req || !req->is_object())
    return fail(Error::invalid("entry.request is required in a batch"));
  const auto& r = req->get_object();
  auto text = [&](std::string_view k) {
    const auto* v = r.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  http::Request sub;
  sub.method = text("method");
  sub.target = text("url");
  sub.remote_address = call.http.remote_address;
  sub.secure = call.http.secure;
  sub.headers = {{"Accept", "application/fhir+json"},
                 {"Content-Type", "application/fhir+json"},
                 {"Prefer", std::string(call.http.header("Prefer"))}};
  for (auto [k, h] : {std::pair{"ifMatch", "If-Match"},
                      {"ifNoneExist", "If-None-Exist"},
                      {"ifNoneMatch", "If-None-Match"}}) {
    if (auto v = text(k); !v.empty()) sub.headers.emplace_back(h, v);
  }
  if (const auto* res = entry->if_contains("resource")) sub.body = serialize_json(*res);
  auto q = sub.target.find('?');
  std::string path = sub.target.substr(0, q);
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  if (path.empty() && sub.method == "POST")
    return fail(Error::invalid("nested batch or transaction Bundles are not supported"));
  std::string query = q == std::string::npos ? "" : sub.target.substr(q + 1);
  http::Response resp = handle(sub, path, query, call.base, call.auditor);

  json::object response{{"status", status_line(resp.status)}};
  if (auto loc = resp.header("Location"); !loc.empty()) {
    response["location"] = std::string(loc.substr(std::min(loc.size(), call.base.size() + 1)));
  }
  if (auto etag = resp.header("ETag"); !etag.empty()) response["etag"] = std::string(etag);
  bool is_error = resp.status >= 400;
  if (!resp.body.empty()) {
    auto body = parse_json(resp.body);
    if (body && body->is_object()) {
      if (is_error) {
        response["outcome"] = std::move(body->as_object());
      } else {
        out.resource_json = std::move(resp.body);
      }
    }
  }
  out.response = std::move(response);
  return out;
}

http::Response FhirApi::capabilities(Call& call) {
  const auto& f = call.fhir;
  return object_response(200, capability_statement(call.base, config_.software_version),
                         f.response_format, f.pretty);
}

}  // namespace cg::fhir
