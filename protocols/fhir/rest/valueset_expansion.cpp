#include "protocols/fhir/rest/valueset_expansion.hpp"

#include "protocols/fhir/rest/stored_canonical.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;
using search::Criterion;
using search::Modifier;
using search::TokenValue;

void add_code(std::vector<search::Value>& out, std::string system, std::string code) {
  if (code.empty()) return;
  out.push_back(
      TokenValue{search::SystemMatch::kExact, std::move(system), std::move(code), {}, {}});
}

// expansion.contains, recursively (nested contains are part of the expansion too).
void from_contains(const json::value& contains, std::vector<search::Value>& out) {
  const auto* arr = contains.if_array();
  if (!arr) return;
  for (const auto& item : *arr) {
    const auto* o = item.if_object();
    if (!o) continue;
    add_code(out, string_member(*o, "system"), string_member(*o, "code"));
    if (const auto* nested = o->if_contains("contains")) from_contains(*nested, out);
  }
}

// compose.include with explicit concept lists; filters and whole-system includes cannot be
// expanded without a terminology server.
Status from_compose(const json::object& compose, const std::string& url,
                    std::vector<search::Value>& out) {
  const auto* includes = compose.if_contains("include");
  if (!includes || !includes->is_array()) return ok_status();
  for (const auto& inc : includes->get_array()) {
    const auto* o = inc.if_object();
    const auto* concepts = o ? o->if_contains("concept") : nullptr;
    if (!concepts || !concepts->is_array()) {
      return Error::invalid("ValueSet " + url +
                            " has no expansion and includes codes by filter or whole systems; "
                            "store it with an expansion to search with :in / :not-in");
    }
    for (const auto& c : concepts->get_array()) {
      if (const auto* co = c.if_object())
        add_code(out, string_member(*o, "system"), string_member(*co, "code"));
    }
  }
  return ok_status();
}

Result<json::object> stored_valueset(storage::ResourceStore& store, const std::string& url) {
  auto vs = stored_canonical(store, "ValueSet", url);
  if (!vs) return vs.take_error();
  if (!*vs) {
    return Error::invalid("ValueSet " + url +
                          " is not stored on this server (needed for :in / :not-in)");
  }
  return std::move(**vs);
}

Status expand(Criterion& c, storage::ResourceStore& store) {
  std::vector<search::Value> codes;
  for (const auto& value : c.any_of) {
    const auto* uri = std::get_if<search::UriValue>(&value);
    if (!uri) return Error::internal(":in value is not a URI");
    auto vs = stored_valueset(store, uri->value);
    if (!vs) return vs.take_error();
    if (const auto* expansion = vs->if_contains("expansion"); expansion && expansion->is_object()) {
      if (const auto* contains = expansion->as_object().if_contains("contains"))
        from_contains(*contains, codes);
    } else if (const auto* compose = vs->if_contains("compose"); compose && compose->is_object()) {
      if (auto s = from_compose(compose->as_object(), uri->value, codes); !s) return s;
    }
  }
  if (codes.size() > kMaxValueSetCodes) {
    return Error::invalid(c.name + ": the ValueSet has " + std::to_string(codes.size()) +
                          " codes; at most " + std::to_string(kMaxValueSetCodes) + " are searched");
  }
  if (codes.empty()) {
    // An empty set: :in matches nothing. A system no code can have expresses that.
    codes.push_back(
        TokenValue{search::SystemMatch::kExact, "urn:clinic-gateway:empty-value-set", "-", {}, {}});
  }
  c.modifier = c.modifier == Modifier::kIn ? Modifier::kNone : Modifier::kNot;
  c.any_of = std::move(codes);
  return ok_status();
}

}  // namespace

Status expand_valueset_criteria(search::SearchRequest& request, storage::ResourceStore& store) {
  for (auto& c : request.criteria) {
    if (c.modifier != Modifier::kIn && c.modifier != Modifier::kNotIn) continue;
    if (auto s = expand(c, store); !s) {
      Error e = s.take_error();
      if (e.location.empty()) e.location = c.name;
      return e;
    }
  }
  return ok_status();
}

}  // namespace cg::fhir
