#include "protocols/fhir/rest/capability.hpp"

#include <boost/json/array.hpp>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/rest/responses.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;

json::array interactions(std::initializer_list<const char*> codes) {
  json::array out;
  for (const char* c : codes) out.push_back(json::object{{"code", c}});
  return out;
}

// Every R4 search parameter of the type that the index evaluates: all but the special ones
// other than near (_text, _content, _query), which the search layer ignores.
json::array search_params_for(std::string_view type) {
  json::array out;
  for (const SearchParamDef* def : search_parameters(type)) {
    // _text, _content and _query have no expression: nothing indexes them.
    if (def->expression.empty()) continue;
    if (def->type == SearchParamType::kSpecial && def->code != "near") continue;
    json::object p{{"name", def->code}, {"type", to_string(def->type)}};
    if (!def->url.empty()) p["definition"] = def->url;
    out.push_back(std::move(p));
  }
  return out;
}

json::object resource_capability(std::string_view type) {
  return {
      {"type", type},
      {"interaction", interactions({"read", "vread", "update", "delete", "history-instance",
                                    "history-type", "create", "search-type"})},
      {"searchInclude", json::array{"*"}},
      {"searchRevInclude", json::array{"*"}},
      {"versioning", "versioned-update"},
      {"readHistory", true},
      {"updateCreate", true},
      {"conditionalCreate", true},
      {"conditionalRead", "not-supported"},
      {"conditionalUpdate", true},
      {"conditionalDelete", "single"},
      {"searchParam", search_params_for(type)},
  };
}

// SMART App Launch 2.0 §"Capability sets": the service is SMART-on-FHIR and the OAuth
// endpoints are named in the oauth-uris extension, for clients that discover through
// /metadata rather than .well-known/smart-configuration. The endpoints live at the origin,
// beside the FHIR base ("https://host/fhir" → "https://host/auth/token").
json::object security(std::string_view base_url) {
  std::string origin(base_url);
  if (origin.ends_with("/fhir")) origin.resize(origin.size() - 5);
  auto uri = [](const char* name, std::string value) {
    return json::object{{"url", name}, {"valueUri", std::move(value)}};
  };
  return {
      {"service",
       json::array{json::object{
           {"coding",
            json::array{json::object{
                {"system", "http://terminology.hl7.org/CodeSystem/restful-security-service"},
                {"code", "SMART-on-FHIR"}}}}}}},
      {"extension",
       json::array{json::object{
           {"url", "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"},
           {"extension", json::array{uri("token", origin + "/auth/token"),
                                     uri("revoke", origin + "/auth/revoke")}}}}},
      {"description",
       "OAuth 2.0 bearer tokens (SMART App Launch 2.0 scopes) in the Authorization header; "
       "only /metadata and the discovery documents are open."},
  };
}

}  // namespace

json::object capability_statement(std::string_view base_url, std::string_view version) {
  json::array resources;
  for (auto type : resource_types()) resources.push_back(resource_capability(type));
  json::object rest{
      {"mode", "server"},
      {"documentation", "Local FHIR R4 repository of a clinic-gateway node"},
      {"security", security(base_url)},
      {"resource", std::move(resources)},
      {"interaction", interactions({"transaction", "batch", "history-system", "search-system"})},
      // _list applies to every type but has no SearchParameter of its own in R4.
      {"searchParam",
       json::array{json::object{{"name", "_list"},
                                {"type", "special"},
                                {"documentation", "Resources listed as entry.item of a List"}}}},
  };
  return {
      {"resourceType", "CapabilityStatement"},
      {"status", "active"},
      {"date", now_instant()},  // describes this running instance
      {"publisher", "clinic-gateway"},
      {"kind", "instance"},
      {"software", json::object{{"name", "clinic-gateway"}, {"version", version}}},
      {"implementation",
       json::object{{"description", "clinic-gateway FHIR R4 API"}, {"url", base_url}}},
      {"fhirVersion", "4.0.1"},
      {"format", json::array{"application/fhir+json", "application/fhir+xml", "json", "xml"}},
      {"rest", json::array{std::move(rest)}},
  };
}

}  // namespace cg::fhir
