#include "protocols/fhir/rest/write_ops.hpp"

#include <algorithm>
#include <cctype>

#include "protocols/fhir/index/indexer.hpp"
#include "protocols/fhir/rest/resource_io.hpp"

namespace cg::fhir {
namespace {

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    auto comma = s.find(',', pos);
    out.emplace_back(s.substr(pos, comma == std::string_view::npos ? s.npos : comma - pos));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

Result<storage::TokenMatch> parse_token(std::string_view param, std::string_view value) {
  if (value.find(',') != std::string_view::npos) {
    return Error::invalid("conditional criteria: several values (OR) for '" + std::string(param) +
                          "' are not supported");
  }
  storage::TokenMatch m{std::string(param), std::nullopt, {}};
  auto bar = value.find('|');
  if (bar == std::string_view::npos) {
    m.code = std::string(value);
  } else {
    m.system = std::string(value.substr(0, bar));
    m.code = std::string(value.substr(bar + 1));
  }
  if (m.code.empty()) {
    return Error::invalid("conditional criteria: '" + std::string(param) + "' needs a value");
  }
  return m;
}

bool meta_only_param(std::string_view name) {
  return name == "_format" || name == "_pretty";
}

}  // namespace

Result<Criteria> parse_criteria(const std::string& type, const QueryParams& params) {
  Criteria c{type, {}, {}};
  bool any = false;
  for (const auto& p : params) {
    if (meta_only_param(p.name)) continue;
    any = true;
    if (p.name == "_id") {
      auto ids = split_commas(p.value);
      if (!c.ids.empty()) {
        std::erase_if(c.ids, [&](const std::string& id) {
          return std::find(ids.begin(), ids.end(), id) == ids.end();
        });
      } else {
        c.ids = std::move(ids);
      }
      if (c.ids.empty()) c.ids.push_back("");  // contradictory: nothing can match
    } else if (p.name == "identifier") {
      auto token = parse_token(p.name, p.value);
      if (!token) return token.take_error();
      c.tokens.push_back(std::move(*token));
    } else {
      return Error::invalid("conditional criteria: parameter '" + p.name +
                            "' is not supported (supported: _id, identifier)");
    }
  }
  if (!any) return Error::invalid("conditional operation without criteria");
  return c;
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
  std::vector<std::string> ids;
  if (!criteria.tokens.empty()) {
    auto found = ctx.find(criteria.type, criteria.tokens);
    if (!found) return found.take_error();
    ids = std::move(*found);
    if (!criteria.ids.empty()) {
      std::erase_if(ids, [&](const std::string& id) {
        return std::find(criteria.ids.begin(), criteria.ids.end(), id) == criteria.ids.end();
      });
    }
    return ids;
  }
  for (const auto& id : criteria.ids) {
    auto head = ctx.head(criteria.type, id);
    if (!head) return head.take_error();
    if (*head && !(*head)->deleted) ids.push_back(id);
  }
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
      return Error::multiple_matches("If-None-Exist criteria match " +
                                     std::to_string(matches->size()) + " resources");
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
    return Error::multiple_matches("conditional update criteria match " +
                                   std::to_string(matches->size()) + " resources");
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
    return Error::multiple_matches("conditional delete criteria match " +
                                   std::to_string(matches->size()) + " resources");
  }
  if (matches->empty()) return WriteOutcome{204, std::nullopt};
  return apply_delete(ctx, criteria.type, matches->front(), std::nullopt);
}

}  // namespace cg::fhir
