#include "protocols/fhir/rest/stored_canonical.hpp"

#include "protocols/fhir/model/json.hpp"
#include "storage/index_query.hpp"

namespace cg::fhir {

Result<std::optional<boost::json::object>> stored_canonical(storage::ResourceStore& store,
                                                            std::string_view type,
                                                            const std::string& url) {
  storage::IndexQuery q;
  q.types = {std::string(type)};
  q.where.all_of.push_back(
      {{storage::Condition{storage::UriCond{"url", url, storage::UriCond::Mode::kExact}}}});
  q.sort = {{storage::SortSpec::Kind::kLastUpdated, {}, {}, true}};
  q.count = 1;
  auto page = store.search_index(q);
  if (!page) return page.take_error();
  if (page->matches.empty()) return std::optional<boost::json::object>();
  auto v = parse_json(page->matches.front().json);
  if (!v || !v->is_object())
    return Error::internal("a stored " + std::string(type) + " does not parse");
  return std::optional<boost::json::object>(std::move(v->as_object()));
}

std::string string_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace cg::fhir
