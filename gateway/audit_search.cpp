#include "gateway/audit_search.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "protocols/fhir/search/search_values.hpp"
#include "protocols/http/percent_encoding.hpp"

namespace cg::gateway {
namespace {

namespace search = fhir::search;

enum class ParamKind { kToken, kReference };

struct ParamDef {
  std::string_view name;  // as the client writes it
  std::string_view key;   // the audit store's key param (audit_keys.hpp)
  ParamKind kind;
};

// ITI-81 writes the identifier parameters as chains (patient.identifier); R4's own
// AuditEvent parameters and some clients use the hyphenated form. Both mean the same key.
constexpr std::array<ParamDef, 17> kParams = {{
    {"type", "type", ParamKind::kToken},
    {"subtype", "subtype", ParamKind::kToken},
    {"action", "action", ParamKind::kToken},
    {"outcome", "outcome", ParamKind::kToken},
    {"source", "source", ParamKind::kToken},
    {"site", "site", ParamKind::kToken},
    {"address", "address", ParamKind::kToken},
    {"entity-type", "entity-type", ParamKind::kToken},
    {"entity-role", "entity-role", ParamKind::kToken},
    {"agent.identifier", "agent-identifier", ParamKind::kToken},
    {"agent-identifier", "agent-identifier", ParamKind::kToken},
    {"entity.identifier", "entity-identifier", ParamKind::kToken},
    {"entity-identifier", "entity-identifier", ParamKind::kToken},
    {"patient.identifier", "patient-identifier", ParamKind::kToken},
    {"patient", "patient", ParamKind::kReference},
    {"agent", "agent", ParamKind::kReference},
    {"entity", "entity", ParamKind::kReference},
}};

// Parameters that shape the answer and match nothing.
constexpr std::array<std::string_view, 4> kResultParams = {"_format", "_pretty", "_count",
                                                           "_cursor"};

const ParamDef* find_param(std::string_view name) {
  for (const auto& p : kParams) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Error bad(std::string_view param, std::string message) {
  return Error::invalid(std::string(param) + ": " + message, std::string(param));
}

bool is_type_name(std::string_view s) {
  return !s.empty() && s[0] >= 'A' && s[0] <= 'Z' && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

// "Patient/1", ".../fhir/Patient/1" → "Patient/1"; a bare id only for `patient`.
Result<std::string> local_reference(const ParamDef& def, std::string_view value) {
  std::string_view v = value;
  if (v.find("://") != std::string_view::npos || v.starts_with("urn:")) {
    auto last = v.rfind('/');
    auto type_start = last == std::string_view::npos ? last : v.rfind('/', last - 1);
    if (type_start == std::string_view::npos) {
      return bad(def.name, "'" + std::string(value) + "' is not a reference to [type]/[id]");
    }
    v = v.substr(type_start + 1);
  }
  auto slash = v.find('/');
  if (slash == std::string_view::npos) {
    if (def.key != "patient" || v.empty()) {
      return bad(def.name, "'" + std::string(value) + "' needs the form [type]/[id]");
    }
    return "Patient/" + std::string(v);
  }
  std::string_view type = v.substr(0, slash);
  std::string_view id = v.substr(slash + 1);
  if (!is_type_name(type) || id.empty() || id.find('/') != std::string_view::npos) {
    return bad(def.name, "'" + std::string(value) + "' is not a reference to [type]/[id]");
  }
  if (def.key == "patient" && type != "Patient") {
    return bad(def.name, "'" + std::string(value) + "' does not name a Patient");
  }
  return std::string(v);
}

Result<storage::AuditKey> key_of(const ParamDef& def, std::string_view alternative) {
  if (def.kind == ParamKind::kReference) {
    auto ref = local_reference(def, alternative);
    if (!ref) return ref.take_error();
    return storage::AuditKey{std::string(def.key), "", std::move(*ref)};
  }
  auto token = search::parse_token(alternative);
  if (!token) return bad(def.name, token.error().message);
  // "|code" (no system) is matched like "code": audit keys keep "" for "no system" and for
  // "any", and a DICOM audit message rarely leaves a code without its system.
  return storage::AuditKey{std::string(def.key), token->system, token->code};
}

// Applies one `date` value to the recorded range (the values AND: the range narrows).
Status apply_date(std::string_view value, std::int64_t now_ms, storage::AuditQuery& q) {
  if (value.find(',') != std::string_view::npos) {
    return bad("date", "alternatives (a comma) are not supported; repeat the parameter");
  }
  auto date = search::parse_date(value, now_ms);
  if (!date) return bad("date", date.error().message);
  auto narrow_from = [&](std::int64_t ms) {
    q.recorded_from_ms = std::max(q.recorded_from_ms.value_or(ms), ms);
  };
  auto narrow_to = [&](std::int64_t ms) {
    q.recorded_to_ms = std::min(q.recorded_to_ms.value_or(ms), ms);
  };
  switch (date->prefix) {
    case search::Prefix::kEq:
    case search::Prefix::kAp:
      narrow_from(date->begin_ms);
      narrow_to(date->end_ms);
      return ok_status();
    case search::Prefix::kGe:
      narrow_from(date->begin_ms);
      return ok_status();
    case search::Prefix::kGt:
    case search::Prefix::kSa:
      narrow_from(date->end_ms);
      return ok_status();
    case search::Prefix::kLe:
      narrow_to(date->end_ms);
      return ok_status();
    case search::Prefix::kLt:
    case search::Prefix::kEb:
      narrow_to(date->begin_ms);
      return ok_status();
    case search::Prefix::kNe:
      break;
  }
  return bad("date", "the prefix ne is not supported");
}

Result<std::size_t> parse_count(std::string_view value, const AuditSearchLimits& limits) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return bad("_count", "'" + std::string(value) + "' is not a whole number");
  }
  return std::min(n, limits.max_count);
}

Result<std::int64_t> parse_cursor(std::string_view value) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
  if (ec != std::errc() || end != value.data() + value.size() || id <= 0) {
    return bad("_cursor", "'" + std::string(value) + "' is not a cursor of this server");
  }
  return id;
}

void append_used(std::string& used, std::string_view name, std::string_view value) {
  if (!used.empty()) used += '&';
  used += http::form_encode(name);
  used += '=';
  used += http::form_encode(value);
}

Status apply_result_param(const fhir::QueryParam& p, const AuditSearchLimits& limits,
                          AuditSearch& out) {
  if (p.name == "_count") {
    auto n = parse_count(p.value, limits);
    if (!n) return n.take_error();
    out.query.count = *n;
    append_used(out.used, p.name, std::to_string(*n));
  } else if (p.name == "_cursor") {
    auto id = parse_cursor(p.value);
    if (!id) return id.take_error();
    out.query.before_id = *id;
  } else {
    append_used(out.used, p.name, p.value);  // _format, _pretty
  }
  return ok_status();
}

Status apply_match_param(const ParamDef& def, const fhir::QueryParam& p, AuditSearch& out) {
  storage::AuditCriterion criterion{std::string(def.key), {}};
  for (auto alternative : search::split_unescaped(p.value, ',')) {
    auto key = key_of(def, alternative);
    if (!key) return key.take_error();
    criterion.any_of.push_back(std::move(*key));
  }
  if (criterion.any_of.empty()) return bad(def.name, "a value is required");
  out.query.all_of.push_back(std::move(criterion));
  append_used(out.used, p.name, p.value);
  return ok_status();
}

}  // namespace

Result<AuditSearch> parse_audit_search(const fhir::QueryParams& params, bool strict,
                                       const AuditSearchLimits& limits, std::int64_t now_ms) {
  AuditSearch out;
  out.query.count = std::min(limits.default_count, limits.max_count);
  for (const auto& p : params) {
    if (p.name.find(':') != std::string::npos) {
      return bad(p.name, "modifiers are not supported in audit record searches");
    }
    if (std::find(kResultParams.begin(), kResultParams.end(), p.name) != kResultParams.end()) {
      if (auto s = apply_result_param(p, limits, out); !s) return s.take_error();
    } else if (p.name == "_summary") {
      if (p.value != "count") return bad("_summary", "only count is supported for AuditEvent");
      out.count_only = true;
      append_used(out.used, p.name, p.value);
    } else if (p.name == "_total") {
      if (p.value != "none" && p.value != "estimate" && p.value != "accurate") {
        return bad("_total", "'" + p.value + "' is not none, estimate or accurate");
      }
      out.with_total = p.value == "accurate";
      append_used(out.used, p.name, p.value);
    } else if (p.name == "_sort") {
      if (p.value != "-date") return bad("_sort", "only -date (newest first) is supported");
      append_used(out.used, p.name, p.value);
    } else if (p.name == "date") {
      if (auto s = apply_date(p.value, now_ms, out.query); !s) return s.take_error();
      append_used(out.used, p.name, p.value);
    } else if (const auto* def = find_param(p.name)) {
      if (auto s = apply_match_param(*def, p, out); !s) return s.take_error();
    } else if (strict) {
      return bad(p.name, "unknown search parameter for AuditEvent");
    }
  }
  return out;
}

}  // namespace cg::gateway
