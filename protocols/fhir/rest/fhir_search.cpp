// FhirApi search interactions: type, system and compartment search. The parameters are
// parsed and checked against the R4 definitions (protocols/fhir/search), planned into an
// index query, run on the store's typed index in one snapshot, and answered as a searchset
// Bundle with `match` and `include` entries and cursor-based `next` links that stay correct
// while other clients write.

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/summary.hpp"
#include "protocols/fhir/rest/api_call.hpp"
#include "protocols/fhir/rest/bundle_writer.hpp"
#include "protocols/fhir/rest/outcome.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/responses.hpp"
#include "protocols/fhir/search/compartment_criteria.hpp"
#include "protocols/fhir/search/search_plan.hpp"
#include "protocols/fhir/search/search_query.hpp"

namespace cg::fhir {
namespace {

// Percent-encodes an opaque cursor for a query string.
std::string encode_component(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

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
  // A total unless the client opts out with _total=none: FHIR clients (and the Android FHIR
  // SDK's progress display) rely on Bundle.total.
  query->total =
      count_only || request->total.value_or(search::Total::kAccurate) != search::Total::kNone;
  auto page = store_.search_index(*query);
  if (!page) return error_response(page.error(), f.response_format, f.pretty);

  std::string self = call.base + (call.path.empty() ? "" : "/" + call.path);
  BundleWriter w("searchset", new_resource_id(), now_instant());
  if (page->total >= 0) w.total(page->total);
  w.link("self", self + "?" + request->self_query());
  if (page->next_cursor && !count_only) {
    std::string rest = request->self_query(false);
    w.link("next", self + "?" + rest + (rest.empty() ? "" : "&") +
                       "_cursor=" + encode_component(*page->next_cursor));
  }
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
