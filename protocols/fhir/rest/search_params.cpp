#include "protocols/fhir/rest/search_params.hpp"

#include <algorithm>
#include <charconv>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/rest/write_ops.hpp"

namespace cg::fhir {
namespace {

// Parameters that shape the result rather than filter it.
bool is_result_param(std::string_view name) {
  return name == "_count" || name == "_total" || name == "_summary" || name == "_after" ||
         name == "_format" || name == "_pretty";
}

void append(std::string& query, std::string_view name, std::string_view value) {
  if (!query.empty()) query += '&';
  query += name;
  query += '=';
  // Values come decoded; re-encode what would break the link.
  for (char c : value) {
    switch (c) {
      case '&':
        query += "%26";
        break;
      case '#':
        query += "%23";
        break;
      case '+':
        query += "%2B";
        break;
      case ' ':
        query += "%20";
        break;
      case '%':
        query += "%25";
        break;
      default:
        query += c;
    }
  }
}

// Narrows [from, before) by one _lastUpdated value with an optional prefix.
Status apply_last_updated(std::string_view value, storage::SearchQuery& q) {
  std::string_view prefix = "eq";
  if (value.size() > 2 && std::isalpha(static_cast<unsigned char>(value[0])) &&
      std::isalpha(static_cast<unsigned char>(value[1]))) {
    prefix = value.substr(0, 2);
    value.remove_prefix(2);
  }
  auto range = parse_time_range(value);
  if (!range) return Error::invalid("_lastUpdated: " + range.error().message);
  auto raise_from = [&](std::int64_t v) {
    q.updated_from_ms = std::max(q.updated_from_ms.value_or(v), v);
  };
  auto lower_before = [&](std::int64_t v) {
    q.updated_before_ms = std::min(q.updated_before_ms.value_or(v), v);
  };
  if (prefix == "eq") {
    raise_from(range->begin_ms);
    lower_before(range->end_ms);
  } else if (prefix == "gt" || prefix == "sa") {
    raise_from(range->end_ms);
  } else if (prefix == "ge") {
    raise_from(range->begin_ms);
  } else if (prefix == "lt" || prefix == "eb") {
    lower_before(range->begin_ms);
  } else if (prefix == "le") {
    lower_before(range->end_ms);
  } else {
    return Error::invalid("_lastUpdated: prefix '" + std::string(prefix) +
                          "' is not supported yet");
  }
  return ok_status();
}

Status apply_filter(const std::string& type, const QueryParam& p, storage::SearchQuery& q,
                    bool& used) {
  used = true;
  if (p.name == "_id") {
    Criteria c = parse_criteria(type, QueryParams{p}).value();
    if (q.ids.empty()) {
      q.ids = c.ids;
    } else {
      std::erase_if(q.ids, [&](const std::string& id) {
        return std::find(c.ids.begin(), c.ids.end(), id) == c.ids.end();
      });
      if (q.ids.empty()) q.ids.push_back("");
    }
    return ok_status();
  }
  if (p.name == "_lastUpdated") return apply_last_updated(p.value, q);
  if (p.name == "identifier" && has_identifier_param(type)) {
    auto c = parse_criteria(type, QueryParams{p});
    if (!c) return c.take_error();
    q.tokens.insert(q.tokens.end(), c->tokens.begin(), c->tokens.end());
    return ok_status();
  }
  used = false;
  return ok_status();
}

}  // namespace

Result<std::size_t> parse_count(std::string_view c, std::size_t max_count) {
  std::size_t n = 0;
  auto r = std::from_chars(c.data(), c.data() + c.size(), n);
  if (r.ec != std::errc() || r.ptr != c.data() + c.size()) {
    return Error::invalid("_count must be a non-negative integer");
  }
  if (n > max_count) {
    return Error::invalid("_count " + std::string(c) + " exceeds the maximum page size " +
                          std::to_string(max_count));
  }
  return n;
}

bool has_identifier_param(std::string_view type) {
  return find_search_parameter(type, "identifier") != nullptr;
}

std::vector<std::string> supported_search_params(std::string_view type) {
  std::vector<std::string> out = {"_id", "_lastUpdated"};
  if (has_identifier_param(type)) out.push_back("identifier");
  return out;
}

Result<SearchPlan> build_search(const std::string& type, const QueryParams& params, bool strict,
                                std::size_t default_count, std::size_t max_count) {
  SearchPlan plan;
  plan.store.type = type;
  plan.store.count = default_count;
  plan.store.with_total = true;
  std::string filters;
  for (const auto& p : params) {
    if (p.name == "_count") {
      auto n = parse_count(p.value, max_count);
      if (!n) return n.take_error();
      plan.store.count = *n;
    } else if (p.name == "_total") {
      plan.store.with_total = p.value != "none";
    } else if (p.name == "_summary") {
      if (p.value == "count") {
        plan.summary_count = true;
      } else if (p.value != "false") {
        if (strict) return Error::invalid("_summary=" + p.value + " is not supported yet");
        continue;
      }
    } else if (p.name == "_after") {
      plan.store.after_id = p.value;
    } else if (!is_result_param(p.name)) {
      bool used = false;
      if (auto s = apply_filter(type, p, plan.store, used); !s) return s.take_error();
      if (!used && strict) {
        return Error::invalid("search parameter '" + p.name + "' is not supported for " + type);
      }
      if (used) append(filters, p.name, p.value);
      continue;
    } else {
      continue;
    }
    if (p.name != "_after") append(filters, p.name, p.value);
  }
  if (plan.summary_count) {
    plan.store.with_total = true;
    plan.store.count = 0;
  }
  if (filters.find("_count=") == std::string::npos) {
    append(filters, "_count", std::to_string(plan.store.count));
  }
  plan.self_query = std::move(filters);
  return plan;
}

}  // namespace cg::fhir
