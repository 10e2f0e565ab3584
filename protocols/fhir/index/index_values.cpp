#include "protocols/fhir/index/index_values.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "protocols/fhir/index/string_normalize.hpp"
#include "protocols/fhir/index/ucum.hpp"
#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/reference.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;
using storage::IndexEntries;

constexpr std::string_view kUcum = "http://unitsofmeasure.org";
constexpr std::size_t kMaxIndexedString = 1024;  // longer strings are indexed by their prefix

std::string_view str(const json::value& v) {
  return v.is_string() && !is_decimal(v) ? std::string_view(v.get_string()) : std::string_view();
}

std::string_view member(const json::value& node, std::string_view key) {
  const auto* obj = node.if_object();
  const auto* v = obj ? obj->if_contains(key) : nullptr;
  return v ? str(*v) : std::string_view();
}

// Calls fn for the string value(s) of a member that may be single or repeated.
template <class Fn>
void each_string(const json::value& node, std::string_view key, Fn fn) {
  const auto* obj = node.if_object();
  const auto* v = obj ? obj->if_contains(key) : nullptr;
  if (!v) return;
  if (const auto* arr = v->if_array()) {
    for (const auto& item : *arr) {
      if (!str(item).empty()) fn(str(item));
    }
  } else if (!str(*v).empty()) {
    fn(str(*v));
  }
}

template <class Fn>
void each_object(const json::value& node, std::string_view key, Fn fn) {
  const auto* obj = node.if_object();
  const auto* v = obj ? obj->if_contains(key) : nullptr;
  if (!v) return;
  if (const auto* arr = v->if_array()) {
    for (const auto& item : *arr) {
      if (item.is_object()) fn(item);
    }
  } else if (v->is_object()) {
    fn(*v);
  }
}

bool is_string_like(std::string_view t) {
  return t == "string" || t == "markdown" || t == "code" || t == "id" || t == "uri" || t == "url" ||
         t == "canonical" || t == "oid" || t == "uuid";
}

// --- string --------------------------------------------------------------------------

void add_string(std::string_view code, std::string_view s, IndexEntries& out) {
  std::string_view cut = s.substr(0, kMaxIndexedString);
  out.strings.push_back({std::string(code), normalize_for_search(cut), std::string(cut)});
}

void string_values(std::string_view code, std::string_view t, const json::value& node,
                   IndexEntries& out) {
  auto add = [&](std::string_view s) { add_string(code, s, out); };
  if (is_string_like(t)) {
    if (!str(node).empty()) add(str(node));
  } else if (t == "HumanName") {
    for (auto key : {"family", "given", "prefix", "suffix", "text"}) each_string(node, key, add);
  } else if (t == "Address") {
    for (auto key : {"line", "city", "district", "state", "postalCode", "country", "text"}) {
      each_string(node, key, add);
    }
  }
}

// --- token ---------------------------------------------------------------------------

void add_coding(std::string_view code, const json::value& coding, std::string_view concept_text,
                IndexEntries& out) {
  std::string_view display = member(coding, "display");
  out.tokens.push_back({std::string(code),
                        std::string(member(coding, "system")),
                        std::string(member(coding, "code")),
                        normalize_for_search(display.empty() ? concept_text : display),
                        {},
                        {}});
}

void identifier_token(std::string_view code, const json::value& node, IndexEntries& out) {
  storage::TokenIndex t{std::string(code),
                        std::string(member(node, "system")),
                        std::string(member(node, "value")),
                        {},
                        {},
                        {}};
  if (const auto* obj = node.if_object(); obj && obj->if_contains("type")) {
    const auto& type = obj->at("type");
    t.text = normalize_for_search(member(type, "text"));
    each_object(type, "coding", [&](const json::value& c) {
      if (t.type_code.empty()) {
        t.type_system = std::string(member(c, "system"));
        t.type_code = std::string(member(c, "code"));
      }
    });
  }
  out.tokens.push_back(std::move(t));
}

void token_values(std::string_view code, std::string_view t, const json::value& node,
                  IndexEntries& out) {
  auto plain = [&](std::string value) {
    out.tokens.push_back({std::string(code), {}, std::move(value), {}, {}, {}});
  };
  if (t == "boolean" && node.is_bool()) {
    plain(node.get_bool() ? "true" : "false");
  } else if (is_string_like(t)) {
    if (!str(node).empty()) plain(std::string(str(node)));
  } else if (t == "Coding") {
    add_coding(code, node, {}, out);
  } else if (t == "CodeableConcept") {
    std::string_view text = member(node, "text");
    bool any = false;
    each_object(node, "coding", [&](const json::value& c) {
      add_coding(code, c, text, out);
      any = true;
    });
    if (!any && !text.empty()) {
      out.tokens.push_back({std::string(code), {}, {}, normalize_for_search(text), {}, {}});
    }
  } else if (t == "Identifier") {
    identifier_token(code, node, out);
  } else if (t == "ContactPoint") {
    if (!member(node, "value").empty()) plain(std::string(member(node, "value")));
  }
}

// --- date ----------------------------------------------------------------------------

constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

void add_date_range(std::string_view code, std::int64_t low, std::int64_t high, IndexEntries& out) {
  if (low < high) out.dates.push_back({std::string(code), low, high});
}

void date_values(std::string_view code, std::string_view t, const json::value& node,
                 IndexEntries& out) {
  if (t == "date" || t == "dateTime" || t == "instant") {
    if (auto r = parse_time_range(str(node))) add_date_range(code, r->begin_ms, r->end_ms, out);
  } else if (t == "Period") {
    auto start = parse_time_range(member(node, "start"));
    auto end = parse_time_range(member(node, "end"));
    if (!start && !end) return;
    add_date_range(code, start ? start->begin_ms : kMinTime, end ? end->end_ms : kMaxTime, out);
  } else if (t == "Timing") {
    std::int64_t low = kMaxTime, high = kMinTime;
    each_string(node, "event", [&](std::string_view e) {
      if (auto r = parse_time_range(e)) {
        low = std::min(low, r->begin_ms);
        high = std::max(high, r->end_ms);
      }
    });
    add_date_range(code, low, high, out);
  }
}

// --- number and quantity -------------------------------------------------------------

void number_values(std::string_view code, std::string_view t, const json::value& node,
                   IndexEntries& out) {
  if (t != "integer" && t != "decimal" && t != "positiveInt" && t != "unsignedInt") return;
  auto text = number_text(node);
  if (!text) return;
  if (auto r = decimal_range(*text)) out.numbers.push_back({std::string(code), r->low, r->high});
}

void quantity_values(std::string_view code, std::string_view t, const json::value& node,
                     IndexEntries& out) {
  const auto* obj = node.if_object();
  const auto* value = obj ? obj->if_contains("value") : nullptr;
  auto text = value ? number_text(*value) : std::nullopt;
  auto range = text ? decimal_range(*text) : std::nullopt;
  if (!range) return;
  storage::QuantityIndex q{std::string(code), {}, {}, range->low, range->high, {}, 0, 0};
  if (t == "Money") {
    q.system = "urn:iso:std:iso:4217";
    q.code = std::string(member(node, "currency"));
  } else {
    q.system = std::string(member(node, "system"));
    q.code = std::string(member(node, "code"));
    if (q.code.empty()) q.code = std::string(member(node, "unit"));
    if (q.system == kUcum || q.system.empty()) {
      if (auto c = ucum_canonical(q.code)) {
        q.canonical_code = c->code;
        q.canonical_low = range->low * c->factor;
        q.canonical_high = range->high * c->factor;
      }
    }
  }
  out.quantities.push_back(std::move(q));
}

// --- reference and uri ---------------------------------------------------------------

// Fills type/id (and _history version) from the tail "Type/id[/_history/v]" of a reference.
void split_literal(std::string_view ref, storage::ReferenceIndex& r) {
  auto literal = parse_literal_reference(ref);
  if (!literal) return;
  r.target_type = std::string(literal->type);
  r.target_id = std::string(literal->id);
  if (!literal->version.empty()) r.version = std::string(literal->version);
}

void reference_from_string(std::string_view code, std::string_view ref, bool canonical,
                           IndexEntries& out) {
  if (ref.empty() || ref.front() == '#') return;  // contained references are not indexed
  storage::ReferenceIndex r{std::string(code), {}, {}, {}, {}, {}, {}};
  bool absolute = ref.find("://") != std::string_view::npos || ref.starts_with("urn:");
  if (canonical) {
    auto bar = ref.find('|');
    r.url = std::string(ref.substr(0, bar));
    if (bar != std::string_view::npos) r.version = std::string(ref.substr(bar + 1));
    split_literal(r.url, r);  // a canonical may also name a resource by its URL path
  } else {
    if (absolute) r.url = std::string(ref);
    split_literal(ref, r);
  }
  out.references.push_back(std::move(r));
}

void reference_values(std::string_view code, std::string_view t, const json::value& node,
                      IndexEntries& out) {
  if (t == "Reference") {
    std::string_view ref = member(node, "reference");
    if (!ref.empty()) reference_from_string(code, ref, false, out);
    const auto* obj = node.if_object();
    if (obj && obj->if_contains("identifier")) {
      const auto& id = obj->at("identifier");
      out.references.push_back({std::string(code),
                                std::string(member(node, "type")),
                                {},
                                {},
                                {},
                                std::string(member(id, "system")),
                                std::string(member(id, "value"))});
    }
  } else if (t == "canonical") {
    reference_from_string(code, str(node), true, out);
  } else if (t == "uri" || t == "url") {
    reference_from_string(code, str(node), false, out);
  }
}

void uri_values(std::string_view code, std::string_view t, const json::value& node,
                IndexEntries& out) {
  if (t == "uri" || t == "url" || t == "canonical" || t == "oid" || t == "uuid") {
    if (!str(node).empty()) out.uris.push_back({std::string(code), std::string(str(node))});
  }
}

// --- position ------------------------------------------------------------------------

void position_values(std::string_view code, const json::value& node, IndexEntries& out) {
  const auto* obj = node.if_object();
  auto coordinate = [&](std::string_view name) -> std::optional<double> {
    const auto* v = obj ? obj->if_contains(name) : nullptr;
    auto text = v ? number_text(*v) : std::nullopt;
    if (!text) return std::nullopt;
    auto range = decimal_range(*text);
    if (!range) return std::nullopt;
    return (range->low + range->high) / 2;
  };
  auto lat = coordinate("latitude");
  auto lon = coordinate("longitude");
  if (!lat || !lon || std::abs(*lat) > 90 || std::abs(*lon) > 180) return;
  out.positions.push_back({std::string(code), *lat, *lon});
}

}  // namespace

void add_index_values(std::string_view code, SearchParamType type, std::string_view fhir_type,
                      const json::value& node, IndexEntries& out) {
  switch (type) {
    case SearchParamType::kString:
      string_values(code, fhir_type, node, out);
      break;
    case SearchParamType::kToken:
      token_values(code, fhir_type, node, out);
      break;
    case SearchParamType::kDate:
      date_values(code, fhir_type, node, out);
      break;
    case SearchParamType::kNumber:
      number_values(code, fhir_type, node, out);
      break;
    case SearchParamType::kQuantity:
      quantity_values(code, fhir_type, node, out);
      break;
    case SearchParamType::kReference:
      reference_values(code, fhir_type, node, out);
      break;
    case SearchParamType::kUri:
      uri_values(code, fhir_type, node, out);
      break;
    case SearchParamType::kSpecial:  // near: Location.position
      position_values(code, node, out);
      break;
    case SearchParamType::kComposite:  // from its components, by the indexer
      break;
  }
}

}  // namespace cg::fhir
