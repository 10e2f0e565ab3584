#pragma once
// FhirRequest: what an HTTP request to the FHIR base asks for — which interaction, on
// which type/id/version, with which (percent-decoded) parameters, in which formats and
// with which Prefer/conditional headers. Parsing is pure and never touches storage.
// Plain values; thread-safe functions.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/http/message.hpp"

namespace cg::fhir {

enum class Interaction {
  kCapabilities,       // GET metadata
  kBatch,              // POST [base] with a batch or transaction Bundle
  kHistorySystem,      // GET _history
  kSearchType,         // GET [type]?… or POST [type]/_search
  kSearchSystem,       // GET [base]?… or POST [base]/_search (all types, or _type)
  kSearchCompartment,  // GET [Compartment]/[id]/[type|*]?…
  kEverything,         // GET Patient/[id]/$everything
  kCreate,             // POST [type]
  kConditionalUpdate,  // PUT [type]?…
  kConditionalDelete,  // DELETE [type]?…
  kHistoryType,        // GET [type]/_history
  kRead,               // GET [type]/[id]
  kUpdate,             // PUT [type]/[id]
  kDelete,             // DELETE [type]/[id]
  kHistoryInstance,    // GET [type]/[id]/_history
  kVread,              // GET [type]/[id]/_history/[vid]
};

enum class Format { kJson, kXml };

struct QueryParam {
  std::string name;
  std::string value;
};
using QueryParams = std::vector<QueryParam>;

enum class PreferReturn { kRepresentation, kMinimal, kOperationOutcome };

struct FhirRequest {
  Interaction interaction = Interaction::kRead;
  std::string type;
  std::string id;
  std::string version;
  std::string compartment_type;  // kSearchCompartment: "Patient" of Patient/123/Observation
  std::string compartment_id;    // kSearchCompartment: "123"; `type` is "" for "*"
  QueryParams params;            // query string, plus the form body of POST _search
  Format response_format = Format::kJson;
  bool pretty = false;
  PreferReturn prefer_return = PreferReturn::kRepresentation;
  bool strict_handling = false;
};

// Parses method + target (the part after the FHIR base, e.g. "Patient/1?_format=xml").
// Errors: kNotFound for unknown resource types or paths, kNotAllowed for a method the path
// does not support, kNotAcceptable for an unknown _format/Accept, kInvalid otherwise.
Result<FhirRequest> parse_fhir_request(const http::Request& request, std::string_view path,
                                       std::string_view query);

// Parses an application/x-www-form-urlencoded string (also used for query strings).
Result<QueryParams> parse_query(std::string_view query);

// The body format from Content-Type (missing: sniffed from the first non-space byte).
// kUnsupported (415) for anything that is not FHIR JSON or XML.
Result<Format> request_body_format(const http::Request& request);

// Every value of parameter `name`, in order.
std::vector<std::string_view> param_values(const QueryParams& params, std::string_view name);
std::optional<std::string_view> first_param(const QueryParams& params, std::string_view name);

std::string_view content_type(Format format);

}  // namespace cg::fhir
