#include "gateway/fhir_confinement.hpp"

#include <algorithm>
#include <boost/json/value.hpp>

#include "protocols/fhir/index/indexer.hpp"
#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "protocols/fhir/rest/responses.hpp"
#include "protocols/http/percent_encoding.hpp"

namespace cg::gateway {
namespace {

using fhir::Interaction;

http::Response refuse(const Error& e, const fhir::FhirRequest& parsed) {
  return fhir::error_response(e, parsed.response_format, parsed.pretty);
}

Error forbidden_here(std::string_view what) {
  return Error::forbidden(std::string(what) +
                          " is not available with a patient/ or granular scope: it would reach "
                          "resources outside what the token allows");
}

// Parameters that reach resources other than the ones searched (or reveal them).
bool reaches_beyond(std::string_view name) {
  return name.starts_with("_include") || name.starts_with("_revinclude") ||
         name.starts_with("_has") || name.find('.') != std::string_view::npos;
}

void append_param(std::string& query, std::string_view name, std::string_view value) {
  if (!query.empty()) query += '&';
  query += http::percent_encode(name);
  query += '=';
  query += http::percent_encode(value);
}

// Where a search of `type` confined to `condition` runs, and what it adds to the query: the
// compartment search Patient/P/type, except for Patient itself, which R4's compartment
// reaches only through `link`: the patient's own record is Patient?_id=P.
struct ConfinedSearch {
  std::string path;
  std::string query;  // the condition's parameters, encoded
};

ConfinedSearch confined_search(std::string_view type, const AccessCondition& condition) {
  ConfinedSearch out;
  if (condition.patient.empty()) {
    out.path = type;
  } else if (type == "Patient") {
    out.path = "Patient";
    append_param(out.query, "_id", condition.patient);
  } else {
    out.path = "Patient/" + condition.patient + "/" + std::string(type);
  }
  for (const auto& m : condition.match) append_param(out.query, m.name, m.value);
  return out;
}

// The request's own parameters followed by `extra` (ANDed by the search).
std::string with_params(const fhir::FhirRequest& parsed, const std::string& extra) {
  std::string query;
  for (const auto& p : parsed.params) append_param(query, p.name, p.value);
  if (!extra.empty()) query += (query.empty() ? "" : "&") + extra;
  return query;
}

http::Request search_request(const http::Request& original) {
  http::Request r;
  r.method = "GET";
  r.secure = original.secure;
  r.remote_address = original.remote_address;
  for (const auto& [name, value] : original.headers) {
    if (name == "Accept" || name == "Prefer") r.headers.emplace_back(name, value);
  }
  return r;
}

// Whether the stored resource type/id meets the condition: one search for it, confined.
bool stored_meets(fhir::FhirApi& api, const http::Request& original, std::string_view type,
                  std::string_view id, const AccessCondition& condition,
                  std::string_view base_url) {
  http::Request check;
  check.method = "GET";
  check.headers.emplace_back("Accept", "application/fhir+json");
  check.remote_address = original.remote_address;
  ConfinedSearch search = confined_search(type, condition);
  append_param(search.query, "_id", id);
  append_param(search.query, "_summary", "count");
  http::Response r = api.handle(check, search.path, search.query, base_url);
  if (r.status != 200) return false;
  auto bundle = fhir::parse_json(r.body);
  if (!bundle || !bundle->is_object()) return false;
  const auto* total = bundle->as_object().if_contains("total");
  return total != nullptr && total->is_int64() && total->as_int64() > 0;
}

// A token search value ("system|code", "|code", "system|", "code") against the index rows
// of a resource; values separated by commas are alternatives.
bool token_matches(const storage::IndexEntries& entries, std::string_view param,
                   std::string_view values) {
  auto matches_one = [&](std::string_view value) {
    auto bar = value.find('|');
    return std::any_of(entries.tokens.begin(), entries.tokens.end(), [&](const auto& t) {
      if (t.param != param) return false;
      if (bar == std::string_view::npos) return t.code == value;
      std::string_view system = value.substr(0, bar);
      std::string_view code = value.substr(bar + 1);
      return t.system == system && (code.empty() || t.code == code);
    });
  };
  std::size_t start = 0;
  while (start <= values.size()) {
    auto comma = values.find(',', start);
    if (comma == std::string_view::npos) comma = values.size();
    if (matches_one(values.substr(start, comma - start))) return true;
    start = comma + 1;
  }
  return false;
}

bool in_patient_compartment(const storage::IndexEntries& entries, std::string_view type,
                            std::string_view patient) {
  auto params = fhir::compartment_params("Patient", type);
  return std::any_of(entries.references.begin(), entries.references.end(), [&](const auto& r) {
    return r.target_type == "Patient" && r.target_id == patient &&
           std::find(params.begin(), params.end(), r.param) != params.end();
  });
}

http::Response serve_search(fhir::FhirApi& api, const http::Request& request,
                            const fhir::FhirRequest& parsed, const AccessCondition& condition,
                            std::string_view base_url) {
  for (const auto& p : parsed.params) {
    if (reaches_beyond(p.name)) return refuse(forbidden_here("the parameter " + p.name), parsed);
  }
  if (parsed.interaction == Interaction::kSearchCompartment) {
    const bool own = parsed.compartment_type == "Patient" &&
                     (condition.patient.empty() || parsed.compartment_id == condition.patient);
    if (!own) return refuse(Error::forbidden("the token allows only its own patient"), parsed);
    if (parsed.type.empty() && !condition.match.empty()) {
      return refuse(forbidden_here("a search of every type in a compartment"), parsed);
    }
    // Already inside the compartment: only the granular parameters are added.
    std::string path =
        "Patient/" + parsed.compartment_id + "/" + (parsed.type.empty() ? "*" : parsed.type);
    std::string extra;
    for (const auto& m : condition.match) append_param(extra, m.name, m.value);
    return api.handle(search_request(request), path, with_params(parsed, extra), base_url);
  }
  ConfinedSearch search = confined_search(parsed.type, condition);
  return api.handle(search_request(request), search.path, with_params(parsed, search.query),
                    base_url);
}

}  // namespace

Status resource_meets(const http::Request& request, std::string_view type, std::string_view id,
                      const AccessCondition& condition) {
  auto format = fhir::request_body_format(request);
  if (!format) return format.take_error();
  auto resource = fhir::parse_resource(request.body, *format);
  if (!resource) return resource.take_error();
  const auto* rt = resource->if_contains("resourceType");
  if (rt == nullptr || !rt->is_string() || rt->get_string() != type) {
    return Error::invalid("the resource is not a " + std::string(type));
  }
  const boost::json::value whole(std::move(*resource));
  const storage::IndexEntries entries = fhir::index_resource(whole);
  if (!condition.patient.empty()) {
    const bool member = type == "Patient"
                            ? id == condition.patient
                            : in_patient_compartment(entries, type, condition.patient);
    if (!member) {
      return Error::forbidden("the resource is not in the compartment of the token's patient");
    }
  }
  for (const auto& m : condition.match) {
    const auto* def = fhir::find_search_parameter(type, m.name);
    if (def == nullptr || def->type != fhir::SearchParamType::kToken) {
      return Error::forbidden("the scope's restriction on '" + m.name +
                              "' cannot be checked on a write: only token parameters can");
    }
    if (!token_matches(entries, m.name, m.value)) {
      return Error::forbidden("the resource does not match the scope's restriction on '" + m.name +
                              "'");
    }
  }
  return ok_status();
}

http::Response serve_confined(fhir::FhirApi& api, const http::Request& request,
                              std::string_view sub, std::string_view query,
                              const fhir::FhirRequest& parsed, const AccessCondition& condition,
                              std::string_view base_url, const fhir::WriteAuditor* auditor) {
  auto not_found = [&] {
    return refuse(Error::not_found(parsed.type + "/" + parsed.id + " is not known"), parsed);
  };
  switch (parsed.interaction) {
    case Interaction::kSearchType:
    case Interaction::kSearchCompartment:
      return serve_search(api, request, parsed, condition, base_url);
    case Interaction::kEverything:
      if (!condition.match.empty()) return refuse(forbidden_here("$everything"), parsed);
      if (!condition.patient.empty() && parsed.compartment_id != condition.patient) {
        return refuse(Error::forbidden("the token allows only its own patient"), parsed);
      }
      return api.handle(request, sub, query, base_url, auditor);
    case Interaction::kRead:
    case Interaction::kVread:
    case Interaction::kHistoryInstance:
    case Interaction::kDelete:
      if (!stored_meets(api, request, parsed.type, parsed.id, condition, base_url)) {
        return not_found();
      }
      return api.handle(request, sub, query, base_url, auditor);
    case Interaction::kUpdate:
      if (!stored_meets(api, request, parsed.type, parsed.id, condition, base_url)) {
        return not_found();
      }
      if (auto s = resource_meets(request, parsed.type, parsed.id, condition); !s) {
        return refuse(s.error(), parsed);
      }
      return api.handle(request, sub, query, base_url, auditor);
    case Interaction::kCreate:
      if (!request.header("If-None-Exist").empty()) {
        return refuse(forbidden_here("a conditional create"), parsed);
      }
      if (auto s = resource_meets(request, parsed.type, "", condition); !s) {
        return refuse(s.error(), parsed);
      }
      return api.handle(request, sub, query, base_url, auditor);
    case Interaction::kSearchSystem:
      return refuse(forbidden_here("a search across types"), parsed);
    case Interaction::kHistoryType:
    case Interaction::kHistorySystem:
      return refuse(forbidden_here("the history of a type or of the system"), parsed);
    case Interaction::kConditionalUpdate:
    case Interaction::kConditionalDelete:
      return refuse(forbidden_here("a conditional write"), parsed);
    case Interaction::kCapabilities:
    case Interaction::kBatch:
      break;  // never conditional (fhir_authorization.cpp)
  }
  return refuse(Error::forbidden("this request cannot be confined to the token's scopes"), parsed);
}

}  // namespace cg::gateway
