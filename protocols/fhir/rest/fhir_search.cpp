// FhirApi search interactions: type, system and compartment search. The parameters are
// parsed and checked against the R4 definitions (protocols/fhir/search), planned into an
// index query, run on the store's typed index in one snapshot, and answered as a searchset
// Bundle with `match` and `include` entries and cursor-based `next` links that stay correct
// while other clients write.

#include <algorithm>
#include <span>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/summary.hpp"
#include "protocols/fhir/rest/api_call.hpp"
#include "protocols/fhir/rest/bundle_writer.hpp"
#include "protocols/fhir/rest/code_subsumption.hpp"
#include "protocols/fhir/rest/outcome.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/responses.hpp"
#include "protocols/fhir/rest/search_params.hpp"
#include "protocols/fhir/rest/valueset_expansion.hpp"
#include "protocols/fhir/search/compartment_criteria.hpp"
#include "protocols/fhir/search/search_plan.hpp"
#include "protocols/fhir/search/search_query.hpp"

namespace cg::fhir {
namespace {

// How matches are shaped by _summary / _elements; nullopt: sent as stored.
struct Shaping {
  std::optional<SummaryMode> summary;
  const std::vector<std::string>* elements = nullptr;
};

Shaping shaping_of(const search::SearchRequest& r) {
  Shaping s;
  if (r.summary == search::Summary::kTrue) s.summary = SummaryMode::kTrue;
  if (r.summary == search::Summary::kText) s.summary = SummaryMode::kText;
  if (r.summary == search::Summary::kData) s.summary = SummaryMode::kData;
  if (!r.elements.empty()) s.elements = &r.elements;
  return s;
}

// The stored JSON, or its summary/elements subset (parsed only when shaping is asked for).
Result<std::string> shaped_json(const storage::StoredVersion& v, const Shaping& shaping) {
  if (!shaping.summary && !shaping.elements) return v.json;
  auto value = parse_json(v.json);
  if (!value || !value->is_object()) return v.json;
  auto& resource = value->as_object();
  if (shaping.summary) apply_summary(resource, *shaping.summary);
  if (shaping.elements) {
    if (auto s = apply_elements(resource, *shaping.elements); !s) return s.take_error();
  }
  return serialize_json(resource);
}

Status add_entries(BundleWriter& w, const std::string& base,
                   const std::vector<storage::StoredVersion>& items, std::string_view mode,
                   const Shaping& shaping) {
  for (const auto& v : items) {
    BundleWriter::Entry e;
    e.full_url = base + "/" + v.type + "/" + v.id;
    auto json = shaped_json(v, shaping);
    if (!json) return json.take_error();
    e.resource_json = std::move(*json);
    e.search = {{"mode", mode}};
    w.entry(e);
  }
  return ok_status();
}

// The compartment criteria of Patient/123/Observation, checked for existence first.
Result<std::vector<search::Criterion>> compartment_of(const FhirRequest& f) {
  auto criteria = search::compartment_criteria(f.compartment_type, f.compartment_id, f.type);
  if (!criteria) return criteria.take_error();
  return std::move(*criteria);
}

}  // namespace

http::Response FhirApi::search(Call& call) {
  const auto& f = call.fhir;
  search::SearchLimits limits;
  limits.max_count = config_.max_page_size;
  auto request = search::parse_search(f.type, f.params, limits, f.strict_handling);
  if (!request) return error_response(request.error(), f.response_format, f.pretty);
  if (auto s = expand_valueset_criteria(*request, store_); !s) {
    return error_response(s.error(), f.response_format, f.pretty);
  }
  if (auto s = expand_subsumption_criteria(*request, store_); !s) {
    return error_response(s.error(), f.response_format, f.pretty);
  }
  search::PlanOptions options;
  options.default_count = config_.default_page_size;
  if (f.interaction == Interaction::kSearchCompartment) {
    auto c = compartment_of(f);
    if (!c) return error_response(c.error(), f.response_format, f.pretty);
    options.compartment = std::move(*c);
  }
  auto query = search::plan_search(*request, options);
  if (!query) return error_response(query.error(), f.response_format, f.pretty);
  bool count_only = request->summary == search::Summary::kCount;
  // Bundle.total: always for _summary=count and _total=accurate|estimate; by default on the
  // first page only (clients read it there), never on cursor pages, where counting every
  // match again would cost more than the page itself (an SDK download pages thousands of
  // times); _total=none skips it everywhere.
  const bool first_page = request->cursor.empty();
  query->total =
      count_only || (request->total ? *request->total != search::Total::kNone : first_page);
  auto page = store_.search_index(*query);
  if (!page) return error_response(page.error(), f.response_format, f.pretty);

  std::string self = call.base + (call.path.empty() ? "" : "/" + call.path);
  BundleWriter w("searchset", new_resource_id(), now_instant());
  if (page->total >= 0) w.total(page->total);
  w.link("self", self + "?" + request->self_query());
  std::string rest = request->self_query(false);
  auto paged = [&](const std::string& cursor) {
    return self + "?" + rest + (rest.empty() ? "" : "&") +
           "_cursor=" + search::encode_query_value(cursor);
  };
  if (page->next_cursor && !count_only) w.link("next", paged(*page->next_cursor));
  if (page->previous_cursor && !count_only) w.link("previous", paged(*page->previous_cursor));
  // _elements applies to the matches only; included resources go out whole (R4 §3.1.1.5.8).
  Shaping shaping = shaping_of(*request);
  if (auto s = add_entries(w, call.base, page->matches, "match", shaping); !s) {
    return error_response(s.error(), f.response_format, f.pretty);
  }
  if (auto s = add_entries(w, call.base, page->included, "include", {}); !s) {
    return error_response(s.error(), f.response_format, f.pretty);
  }
  return bundle_response(200, w.finish(), f.response_format, f.pretty);
}

}  // namespace cg::fhir

namespace cg::fhir {
namespace {

// Resource types that can belong to `compartment` (restricted to `only` when non-empty),
// the compartment's own type first, then by name: the order $everything pages through.
std::vector<std::string> compartment_member_types(std::string_view compartment,
                                                  const std::vector<std::string>& only) {
  std::vector<std::string> types;
  for (auto t : resource_types()) {
    bool member = t == compartment || !compartment_params(compartment, t).empty();
    bool wanted = only.empty() || std::find(only.begin(), only.end(), t) != only.end();
    if (member && wanted) types.emplace_back(t);
  }
  std::stable_partition(types.begin(), types.end(),
                        [&](const std::string& t) { return t == compartment; });
  return types;
}

struct EverythingParams {
  std::size_t count = 0;
  std::string since;               // _since, as written ("" = none)
  std::vector<std::string> types;  // _type
  std::string cursor_type;         // where the previous page stopped
  std::string cursor;              // inner cursor within cursor_type
};

Result<EverythingParams> everything_params(const QueryParams& params, std::size_t default_count,
                                           std::size_t max_count) {
  EverythingParams p;
  p.count = default_count;
  for (const auto& q : params) {
    if (q.name == "_count") {
      auto n = parse_count(q.value, max_count);
      if (!n) return n.take_error();
      p.count = std::max<std::size_t>(*n, 1);  // a page must make progress
    } else if (q.name == "_since") {
      if (!parse_time_range(q.value))
        return Error::invalid("_since: '" + q.value + "' is not a valid instant", "_since");
      p.since = q.value;
    } else if (q.name == "_type") {
      for (auto t : search::split_unescaped(q.value, ',')) {
        if (!is_resource_type(t))
          return Error::invalid("_type: '" + std::string(t) + "' is not a resource type", "_type");
        p.types.emplace_back(t);
      }
    } else if (q.name == "_cursor") {
      auto colon = q.value.find(':');
      p.cursor_type = q.value.substr(0, colon);
      p.cursor = colon == std::string::npos ? "" : q.value.substr(colon + 1);
    }
  }
  return p;
}

// One type's slice of the compartment: the planned index query for `type`.
Result<storage::IndexQuery> compartment_query(const FhirRequest& f, const std::string& type,
                                              const EverythingParams& p) {
  auto criteria = search::compartment_criteria(f.compartment_type, f.compartment_id, type);
  if (!criteria) return criteria.take_error();
  std::vector<search::ParamView> params;
  std::string since = "ge" + p.since;
  if (!p.since.empty()) params.push_back({"_lastUpdated", since});
  auto request = search::parse_search(type, std::span<const search::ParamView>(params), {}, false);
  if (!request) return request.take_error();
  search::PlanOptions options;
  options.compartment = std::move(*criteria);
  return search::plan_search(*request, options);
}

}  // namespace

// Patient/[id]/$everything (and Patient/[id]/*): the patient and every resource in its
// compartment, type by type, with _since, _type, _count and a cursor naming the type and
// the position within it, so paging stays stable while others write.
http::Response FhirApi::everything(Call& call) {
  const auto& f = call.fhir;
  auto p = everything_params(f.params, config_.default_page_size, config_.max_page_size);
  if (!p) return error_response(p.error(), f.response_format, f.pretty);
  auto head = store_.head(f.compartment_type, f.compartment_id);
  if (!head) return error_response(head.error(), f.response_format, f.pretty);
  if (!*head || (*head)->deleted) {
    return error_response(
        Error::not_found(f.compartment_type + "/" + f.compartment_id + " is not known"),
        f.response_format, f.pretty);
  }
  auto types = compartment_member_types(f.compartment_type, p->types);
  auto start = std::find(types.begin(), types.end(), p->cursor_type);
  if (!p->cursor_type.empty() && start == types.end()) {
    return error_response(Error::invalid("_cursor does not belong to this $everything", "_cursor"),
                          f.response_format, f.pretty);
  }
  std::vector<storage::StoredVersion> matches;
  // The compartment's owner belongs to it by definition (R4's Patient compartment lists
  // Patient only through `link`): it opens the first page.
  // _type and _since apply to it as to everything else.
  bool owner_wanted = p->types.empty() || std::find(p->types.begin(), p->types.end(),
                                                    f.compartment_type) != p->types.end();
  if (!p->since.empty())
    owner_wanted &= (*head)->last_updated_ms >= parse_time_range(p->since)->begin_ms;
  if (p->cursor_type.empty() && owner_wanted) matches.push_back(**head);
  std::string next;
  for (auto it = p->cursor_type.empty() ? types.begin() : start; it != types.end(); ++it) {
    if (matches.size() >= p->count) {
      next = *it + ":";
      break;
    }
    auto query = compartment_query(f, *it, *p);
    if (!query) return error_response(query.error(), f.response_format, f.pretty);
    query->count = p->count - matches.size();
    if (it == start) query->cursor = p->cursor;
    auto page = store_.search_index(*query);
    if (!page) return error_response(page.error(), f.response_format, f.pretty);
    for (auto& v : page->matches) {
      bool owner = v.type == f.compartment_type && v.id == f.compartment_id;
      if (!owner) matches.push_back(std::move(v));
    }
    if (page->next_cursor) {
      next = *it + ":" + *page->next_cursor;
      break;
    }
  }
  std::string self = call.base + "/" + call.path;
  BundleWriter w("searchset", new_resource_id(), now_instant());
  w.link("self", self + (call.query.empty() ? "" : "?" + call.query));
  if (!next.empty()) {
    std::string keep = "_count=" + std::to_string(p->count);
    if (!p->since.empty()) keep += "&_since=" + search::encode_query_value(p->since);
    for (const auto& t : p->types) keep += "&_type=" + t;
    w.link("next", self + "?" + keep + "&_cursor=" + search::encode_query_value(next));
  }
  if (auto s = add_entries(w, call.base, matches, "match", {}); !s) {
    return error_response(s.error(), f.response_format, f.pretty);
  }
  return bundle_response(200, w.finish(), f.response_format, f.pretty);
}

}  // namespace cg::fhir
