#include "protocols/fhir/rest/transaction.hpp"

#include <map>
#include <set>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/rest/resource_io.hpp"

namespace cg::fhir {
namespace {

Error entry_error(std::size_t index, const Error& e) {
  Error out = e;
  out.message = "Bundle.entry[" + std::to_string(index) + "]: " + e.message;
  if (out.location.empty()) out.location = "Bundle.entry[" + std::to_string(index) + "]";
  return out;
}

std::string str(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Splits "Type/id[/_history/vid]" or "Type?query" (a leading base URL is not allowed).
Status parse_entry_url(TransactionEntry& e, const std::string& url,
                       const std::string& if_none_exist) {
  auto q = url.find('?');
  std::string path = url.substr(0, q);
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  std::vector<std::string> seg;
  for (std::size_t pos = 0; pos <= path.size();) {
    auto slash = path.find('/', pos);
    seg.push_back(path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos));
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  if (seg.empty() || !is_resource_type(seg[0])) {
    return Error::invalid("request.url '" + url + "' does not start with a resource type");
  }
  e.type = seg[0];
  if (q != std::string::npos) {
    if (seg.size() != 1) return Error::invalid("conditional request.url must be [type]?criteria");
    auto c = parse_criteria(e.type, std::string_view(url).substr(q + 1));
    if (!c) return c.take_error();
    e.criteria = std::move(*c);
  } else if (seg.size() == 2) {
    e.id = seg[1];
  } else if (seg.size() == 4 && seg[2] == "_history") {
    e.id = seg[1];
    e.version = seg[3];
  } else if (seg.size() != 1) {
    return Error::invalid("request.url '" + url + "' is not supported in a transaction");
  }
  if (!if_none_exist.empty()) {
    auto c = parse_criteria(e.type, std::string_view(if_none_exist));
    if (!c) return c.take_error();
    e.criteria = std::move(*c);
  }
  return ok_status();
}

Status check_entry_shape(const TransactionEntry& e) {
  const bool has_resource = e.resource.has_value();
  if (e.method == "POST") {
    if (!e.id.empty() || !has_resource)
      return Error::invalid("POST needs request.url [type] and a resource");
  } else if (e.method == "PUT") {
    if (!has_resource || (e.id.empty() && !e.criteria)) {
      return Error::invalid("PUT needs request.url [type]/[id] or [type]?criteria and a resource");
    }
  } else if (e.method == "DELETE") {
    if (e.id.empty() && !e.criteria)
      return Error::invalid("DELETE needs [type]/[id] or [type]?criteria");
  } else if (e.method == "GET") {
    if (e.id.empty())
      return Error::invalid("only read and vread GETs are supported in a transaction");
  } else {
    return Error::invalid("request.method '" + e.method + "' is not supported in a transaction");
  }
  if (has_resource && str(*e.resource, "resourceType") != e.type) {
    return Error::invalid("resource type does not match request.url");
  }
  if (e.method == "PUT" && !e.id.empty() && str(*e.resource, "id") != e.id) {
    return Error::invalid("resource.id must equal the id in request.url");
  }
  return ok_status();
}

Result<TransactionEntry> plan_entry(std::size_t index, boost::json::value& raw) {
  TransactionEntry e;
  e.index = index;
  auto* entry = raw.if_object();
  if (!entry) return Error::invalid("entry is not an object");
  const auto* request = entry->if_contains("request");
  if (!request || !request->is_object())
    return Error::invalid("entry.request is required in a transaction");
  const auto& req = request->get_object();
  e.method = str(req, "method");
  e.full_url = str(*entry, "fullUrl");
  if (auto* res = entry->if_contains("resource"); res && res->is_object()) {
    e.resource = std::move(res->as_object());
  }
  if (auto s = parse_entry_url(e, str(req, "url"), str(req, "ifNoneExist")); !s)
    return s.take_error();
  if (auto m = str(req, "ifMatch"); !m.empty()) {
    auto v = parse_version_tag(m);
    if (!v) return v.take_error();
    e.if_match = *v;
  }
  if (auto s = check_entry_shape(e); !s) return s.take_error();
  return e;
}

int method_rank(const std::string& m) {
  if (m == "DELETE") return 0;
  if (m == "POST") return 1;
  if (m == "PUT") return 2;
  return 3;
}

using ReferenceMap = std::map<std::string, std::string>;

// Resolves one reference string: an entry's fullUrl, or a conditional "Type?query".
Result<std::optional<std::string>> resolve_reference(storage::WriteContext& ctx,
                                                     const ReferenceMap& map,
                                                     const std::string& ref) {
  if (auto it = map.find(ref); it != map.end()) return std::optional<std::string>(it->second);
  auto q = ref.find('?');
  if (q == std::string::npos || !is_resource_type(ref.substr(0, q)))
    return std::optional<std::string>();
  auto criteria = parse_criteria(ref.substr(0, q), std::string_view(ref).substr(q + 1));
  if (!criteria) return criteria.take_error();
  auto matches = find_matches(ctx, *criteria);
  if (!matches) return matches.take_error();
  if (matches->size() != 1) {
    Error e = matches->empty()
                  ? Error::not_found("conditional reference matches no resource")
                  : Error::multiple_matches("conditional reference matches more than one resource");
    e.message += " (" + criteria->type + ")";
    return e;
  }
  return std::optional<std::string>(criteria->type + "/" + matches->front());
}

Status rewrite_references(storage::WriteContext& ctx, const ReferenceMap& map,
                          boost::json::value& v) {
  if (auto* arr = v.if_array()) {
    for (auto& item : *arr) {
      if (auto s = rewrite_references(ctx, map, item); !s) return s;
    }
    return ok_status();
  }
  auto* obj = v.if_object();
  if (!obj) return ok_status();
  for (auto& kv : *obj) {
    if (kv.key() == "reference" && kv.value().is_string()) {
      auto resolved = resolve_reference(ctx, map, std::string(kv.value().get_string()));
      if (!resolved) return resolved.take_error();
      if (*resolved) kv.value() = **resolved;
    } else if (auto s = rewrite_references(ctx, map, kv.value()); !s) {
      return s;
    }
  }
  return ok_status();
}

// Decides the final id of every POST / PUT entry and records fullUrl → Type/id.
Status assign_identities(storage::WriteContext& ctx, TransactionPlan& plan, ReferenceMap& map) {
  std::set<std::string> targets;
  for (auto& e : plan.entries) {
    if (e.method == "POST") {
      std::optional<std::string> existing;
      if (e.criteria) {
        auto matches = find_matches(ctx, *e.criteria);
        if (!matches) return entry_error(e.index, matches.error());
        if (matches->size() > 1)
          return entry_error(e.index,
                             Error::multiple_matches("ifNoneExist matches several resources"));
        if (matches->size() == 1) existing = matches->front();
      }
      e.id = existing ? *existing : new_resource_id();
      e.matched_existing = existing.has_value();
    } else if (e.method == "PUT" && e.criteria) {
      auto matches = find_matches(ctx, *e.criteria);
      if (!matches) return entry_error(e.index, matches.error());
      if (matches->size() > 1)
        return entry_error(e.index,
                           Error::multiple_matches("conditional update matches several resources"));
      std::string body_id = str(*e.resource, "id");
      e.id = matches->empty() ? (body_id.empty() ? new_resource_id() : body_id) : matches->front();
      e.criteria.reset();
    }
    if (e.method == "GET") continue;
    if (!e.id.empty() && e.method != "DELETE" && !targets.insert(e.type + "/" + e.id).second) {
      return entry_error(e.index, Error::invalid("two entries write " + e.type + "/" + e.id));
    }
    if (!e.full_url.empty() && !e.id.empty()) map[e.full_url] = e.type + "/" + e.id;
  }
  return ok_status();
}

Result<WriteOutcome> run_entry(storage::WriteContext& ctx, TransactionEntry& e) {
  if (e.method == "DELETE") {
    if (e.criteria) return apply_conditional_delete(ctx, *e.criteria);
    auto r = apply_delete(ctx, e.type, e.id, e.if_match);
    if (!r && r.error().kind == ErrorKind::kNotFound) return WriteOutcome{204, std::nullopt};
    return r;
  }
  if (e.method == "POST") {
    if (e.matched_existing) {
      auto head = ctx.head(e.type, e.id);
      if (!head) return head.take_error();
      if (!*head) return Error::internal("matched resource vanished within the transaction");
      return WriteOutcome{200, std::move(**head)};
    }
    return apply_create(ctx, e.type, e.id, std::move(*e.resource), std::nullopt);
  }
  if (e.method == "PUT") return apply_update(ctx, e.type, e.id, std::move(*e.resource), e.if_match);
  auto found = e.version.empty() ? ctx.head(e.type, e.id)
                                 : ctx.version(e.type, e.id, std::atoll(e.version.c_str()));
  if (!found) return found.take_error();
  if (!*found) return Error::not_found(e.type + "/" + e.id + " does not exist");
  if ((*found)->deleted) return Error::gone(e.type + "/" + e.id + " is deleted");
  return WriteOutcome{200, std::move(**found)};
}

}  // namespace

Result<TransactionPlan> plan_transaction(boost::json::object bundle, std::size_t max_entries) {
  TransactionPlan plan;
  auto* entries = bundle.if_contains("entry");
  if (!entries) return plan;
  if (!entries->is_array()) return Error::invalid("Bundle.entry must be an array");
  auto& arr = entries->as_array();
  if (arr.size() > max_entries) {
    return Error::too_large("the Bundle has " + std::to_string(arr.size()) +
                            " entries; the limit is " + std::to_string(max_entries));
  }
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto e = plan_entry(i, arr[i]);
    if (!e) return entry_error(i, e.error());
    plan.entries.push_back(std::move(*e));
  }
  return plan;
}

Status execute_transaction(storage::WriteContext& ctx, TransactionPlan& plan) {
  // R4 processes DELETE entries first (then POST, PUT, GET): run them before any
  // conditional match (ifNoneExist, conditional updates and references), so those never
  // pick a resource this transaction deletes.
  for (auto& e : plan.entries) {
    if (e.method != "DELETE") continue;
    auto r = run_entry(ctx, e);
    if (!r) return entry_error(e.index, r.error());
    e.outcome = std::move(*r);
  }
  ReferenceMap map;
  if (auto s = assign_identities(ctx, plan, map); !s) return s;
  for (auto& e : plan.entries) {
    if (!e.resource) continue;
    boost::json::value v(std::move(*e.resource));
    if (auto s = rewrite_references(ctx, map, v); !s) return entry_error(e.index, s.error());
    e.resource = std::move(v.as_object());
  }
  std::vector<TransactionEntry*> order;
  for (auto& e : plan.entries) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return method_rank(a->method) < method_rank(b->method);
  });
  for (auto* e : order) {
    if (e->method == "DELETE") continue;  // already done
    auto r = run_entry(ctx, *e);
    if (!r) return entry_error(e->index, r.error());
    e->outcome = std::move(*r);
  }
  return ok_status();
}

}  // namespace cg::fhir
