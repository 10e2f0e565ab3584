#include "protocols/fhir/rest/write_ops.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "protocols/fhir/index/indexer.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/search/search_plan.hpp"
#include "protocols/fhir/search/search_query.hpp"

namespace cg::fhir {
namespace {

// Passed through to the response (conditional update and delete URLs may carry them); they
// select nothing.
bool format_param(std::string_view name) {
  return name == "_format" || name == "_pretty";
}

Error refused(std::string message, std::string location = {}) {
  return Error::invalid("conditional criteria: " + std::move(message), std::move(location));
}

// Every applied parameter must be a filter: result parameters (_sort, _count, _include,
// _summary, _elements, _total, the cursor, …) say how to show a search, and a conditional
// match shows nothing. Checked on what parse_search applied, so a result parameter added to
// the search later is refused here too.
Status only_filters(const search::SearchRequest& request) {
  for (const auto& applied : request.applied) {
    if (format_param(applied.name)) continue;
    const bool filter = std::any_of(request.criteria.begin(), request.criteria.end(),
                                    [&](const auto& c) { return c.name == applied.name; });
    if (!filter) {
      return refused(
          "'" + applied.name + "' is a result parameter, meaningless for a conditional match",
          applied.name);
    }
  }
  return ok_status();
}

// :in / :not-in and token :above / :below are rewritten into codes from a ValueSet or
// CodeSystem read through the reader pool (valueset_expansion.hpp, code_subsumption.hpp),
// which a write job on the writer thread must not wait for.
Status no_terminology_modifiers(const search::SearchRequest& request) {
  for (const auto& c : request.criteria) {
    const bool in = c.modifier == search::Modifier::kIn || c.modifier == search::Modifier::kNotIn;
    const bool subsumption =
        (c.modifier == search::Modifier::kAbove || c.modifier == search::Modifier::kBelow) &&
        c.param != nullptr && c.param->type == SearchParamType::kToken;
    if (in || subsumption) {
      return refused("'" + c.name + "': :" + std::string(search::to_string(c.modifier)) +
                         " needs terminology lookups that conditional operations do not make;"
                         " list the codes",
                     c.name);
    }
  }
  return ok_status();
}

}  // namespace

Result<Criteria> parse_criteria(const std::string& type, const QueryParams& params) {
  // Strict: a parameter the search would ignore must fail, or the match would be looser
  // than written and could overwrite or delete the wrong resource.
  auto request = search::parse_search(type, params, {}, /*strict=*/true);
  if (!request) return refused(request.error().message, request.error().location);
  if (!request->ignored.empty()) {  // cannot happen when strict; never drop a criterion
    return refused("parameter '" + request->ignored.front().name + "' is not supported",
                   request->ignored.front().name);
  }
  if (auto s = only_filters(*request); !s) return s.take_error();
  if (request->criteria.empty()) return refused("a conditional operation needs criteria");
  if (auto s = no_terminology_modifiers(*request); !s) return s.take_error();
  search::PlanOptions options;
  options.budget = storage::kWriterQueryBudget;
  auto query = search::plan_search(*request, options);
  if (!query) return refused(query.error().message, query.error().location);
  query->count = 2;  // enough to tell none, one and several apart
  return Criteria{type, std::move(*query)};
}

Result<Criteria> parse_criteria(const std::string& type, std::string_view query) {
  auto params = parse_query(query);
  if (!params) return params.take_error();
  return parse_criteria(type, *params);
}

Result<std::int64_t> parse_version_tag(std::string_view tag) {
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"')
    tag = tag.substr(1, tag.size() - 2);
  if (tag.empty() || tag.size() > 18) return Error::invalid("malformed version tag");
  std::int64_t v = 0;
  for (char c : tag) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return Error::invalid("malformed version tag");
    v = v * 10 + (c - '0');
  }
  return v;
}

storage::IndexEntries index_for(boost::json::object& resource) {
  // The indexer reads a json::value; moving in and out avoids copying the resource.
  boost::json::value holder(std::move(resource));
  storage::IndexEntries index = index_resource(holder);
  resource = std::move(holder.as_object());
  return index;
}

Result<std::vector<std::string>> find_matches(storage::WriteContext& ctx,
                                              const Criteria& criteria) {
  auto ids = ctx.find_ids(criteria.query);
  if (!ids && ids.error().kind == ErrorKind::kInvalid) return refused(ids.error().message);
  return ids;
}

Result<WriteOutcome> apply_create(storage::WriteContext& ctx, const std::string& type,
                                  const std::string& id, boost::json::object resource,
                                  const std::optional<Criteria>& if_none_exist,
                                  PrecomputedIndex index) {
  if (if_none_exist) {
    auto matches = find_matches(ctx, *if_none_exist);
    if (!matches) return matches.take_error();
    if (matches->size() > 1) {
      return Error::multiple_matches("If-None-Exist criteria match more than one resource");
    }
    if (matches->size() == 1) {
      auto head = ctx.head(type, matches->front());
      if (!head) return head.take_error();
      return WriteOutcome{200, std::move(**head)};
    }
  }
  if (!index) index = index_for(resource);
  auto stored = ctx.put(type, id, std::move(resource), *index);
  if (!stored) return stored.take_error();
  return WriteOutcome{201, std::move(*stored)};
}

Result<WriteOutcome> apply_update(storage::WriteContext& ctx, const std::string& type,
                                  const std::string& id, boost::json::object resource,
                                  std::optional<std::int64_t> if_match, PrecomputedIndex index) {
  auto head = ctx.head(type, id);
  if (!head) return head.take_error();
  bool exists = *head && !(*head)->deleted;
  if (if_match) {
    std::int64_t current = *head ? (*head)->version : 0;
    if (!exists || current != *if_match) {
      return Error::version_conflict("If-Match version " + std::to_string(*if_match) +
                                     " does not match the current version " +
                                     (exists ? std::to_string(current) : std::string("(none)")));
    }
  }
  if (!index) index = index_for(resource);
  auto stored = ctx.put(type, id, std::move(resource), *index);
  if (!stored) return stored.take_error();
  return WriteOutcome{exists ? 200 : 201, std::move(*stored)};
}

Result<WriteOutcome> apply_conditional_update(storage::WriteContext& ctx, const Criteria& criteria,
                                              const std::string& new_id,
                                              boost::json::object resource,
                                              std::optional<std::int64_t> if_match,
                                              PrecomputedIndex index) {
  auto matches = find_matches(ctx, criteria);
  if (!matches) return matches.take_error();
  if (matches->size() > 1) {
    return Error::multiple_matches("conditional update criteria match more than one resource");
  }
  const auto* body_id = resource.if_contains("id");
  std::string given = body_id && body_id->is_string() ? std::string(body_id->get_string()) : "";
  if (matches->size() == 1) {
    if (!given.empty() && given != matches->front()) {
      return Error::invalid(
          "the resource id '" + given + "' differs from the id of the resource the criteria match",
          "id");
    }
    return apply_update(ctx, criteria.type, matches->front(), std::move(resource), if_match,
                        std::move(index));
  }
  return apply_update(ctx, criteria.type, given.empty() ? new_id : given, std::move(resource),
                      if_match, std::move(index));
}

Result<WriteOutcome> apply_delete(storage::WriteContext& ctx, const std::string& type,
                                  const std::string& id, std::optional<std::int64_t> if_match) {
  auto head = ctx.head(type, id);
  if (!head) return head.take_error();
  if (!*head) return Error::not_found(type + "/" + id + " does not exist");
  if ((*head)->deleted) return WriteOutcome{204, std::move(**head)};
  if (if_match && (*head)->version != *if_match) {
    return Error::version_conflict("If-Match version " + std::to_string(*if_match) +
                                   " does not match the current version " +
                                   std::to_string((*head)->version));
  }
  auto removed = ctx.remove(type, id);
  if (!removed) return removed.take_error();
  return WriteOutcome{204, std::move(*removed)};
}

Result<WriteOutcome> apply_conditional_delete(storage::WriteContext& ctx,
                                              const Criteria& criteria) {
  auto matches = find_matches(ctx, criteria);
  if (!matches) return matches.take_error();
  if (matches->size() > 1) {
    return Error::multiple_matches("conditional delete criteria match more than one resource");
  }
  if (matches->empty()) return WriteOutcome{204, std::nullopt};
  return apply_delete(ctx, criteria.type, matches->front(), std::nullopt);
}

}  // namespace cg::fhir
