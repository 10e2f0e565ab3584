#include "protocols/fhir/rest/fhir_request.hpp"

#include <cctype>
#include <optional>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/http/percent_encoding.hpp"

namespace cg::fhir {
namespace {

using http::percent_decode;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Media type without parameters, lowercased: "application/fhir+json".
std::string media_type(std::string_view value) {
  auto semi = value.find(';');
  return lower(trim(value.substr(0, semi)));
}

std::optional<Format> format_of_media(std::string_view mt) {
  if (mt == "json" || mt == "application/json" || mt == "application/fhir+json" ||
      mt == "application/json+fhir") {
    return Format::kJson;
  }
  if (mt == "xml" || mt == "text/xml" || mt == "application/xml" || mt == "application/fhir+xml" ||
      mt == "application/xml+fhir") {
    return Format::kXml;
  }
  return std::nullopt;
}

// _format wins over Accept. In Accept, the first acceptable entry (in listed order, q>0)
// wins; "*/*", "application/*" or no Accept at all mean JSON.
Result<Format> response_format(const http::Request& request, const QueryParams& params) {
  if (auto f = first_param(params, "_format")) {
    if (auto fmt = format_of_media(media_type(*f))) return *fmt;
    return Error::not_acceptable("_format '" + std::string(*f) +
                                 "' is not supported; use json or xml");
  }
  std::string_view accept = request.header("Accept");
  if (trim(accept).empty()) return Format::kJson;
  std::size_t pos = 0;
  while (pos <= accept.size()) {
    auto comma = accept.find(',', pos);
    std::string_view item =
        accept.substr(pos, comma == std::string_view::npos ? accept.npos : comma - pos);
    std::string mt = media_type(item);
    bool refused = lower(item).find("q=0") != std::string::npos &&
                   lower(item).find("q=0.") == std::string::npos;
    if (!refused) {
      if (auto fmt = format_of_media(mt)) return *fmt;
      if (mt == "*/*" || mt == "application/*" || mt == "text/*") return Format::kJson;
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return Error::not_acceptable(
      "no acceptable format in Accept; this server offers FHIR JSON and XML");
}

void read_prefer(const http::Request& request, FhirRequest& out) {
  std::string prefer = lower(request.header("Prefer"));
  if (prefer.find("return=minimal") != std::string::npos) {
    out.prefer_return = PreferReturn::kMinimal;
  } else if (prefer.find("return=operationoutcome") != std::string::npos) {
    out.prefer_return = PreferReturn::kOperationOutcome;
  }
  out.strict_handling = prefer.find("handling=strict") != std::string::npos;
}

// Splits the path into percent-decoded segments; nullopt on a malformed escape.
std::optional<std::vector<std::string>> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t pos = 0;
  while (pos < path.size()) {
    auto slash = path.find('/', pos);
    auto seg = path.substr(pos, slash == std::string_view::npos ? path.npos : slash - pos);
    if (!seg.empty()) {
      auto decoded = percent_decode(seg, false);
      if (!decoded) return std::nullopt;
      segments.push_back(std::move(*decoded));
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return segments;
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

Error method_not_allowed(std::string_view method, std::string_view what) {
  return Error::not_allowed("method " + std::string(method) + " is not allowed on " +
                            std::string(what));
}

Result<Interaction> route_system(const std::string& m, const std::vector<std::string>& seg) {
  if (seg.empty()) {
    if (m == "POST") return Interaction::kBatch;
    if (m == "GET") return Interaction::kSearchSystem;
    return method_not_allowed(m, "the base URL (GET searches, POST a batch or transaction)");
  }
  if (seg[0] == "_search" && seg.size() == 1) {
    if (m == "POST" || m == "GET") return Interaction::kSearchSystem;
    return method_not_allowed(m, "_search");
  }
  if (seg[0] == "metadata" && seg.size() == 1) {
    if (m == "GET" || m == "HEAD") return Interaction::kCapabilities;
    return method_not_allowed(m, "metadata");
  }
  if (seg[0] == "_history" && seg.size() == 1) {
    if (m == "GET" || m == "HEAD") return Interaction::kHistorySystem;
    return method_not_allowed(m, "_history");
  }
  return Error::not_found("unknown path '" + seg[0] + "'");
}

Result<Interaction> route_type(const std::string& m, const std::vector<std::string>& seg) {
  if (seg.size() == 1) {
    if (m == "GET" || m == "HEAD") return Interaction::kSearchType;
    if (m == "POST") return Interaction::kCreate;
    if (m == "PUT") return Interaction::kConditionalUpdate;
    if (m == "DELETE") return Interaction::kConditionalDelete;
    return method_not_allowed(m, seg[0]);
  }
  if (seg[1] == "_search" && seg.size() == 2) {
    if (m == "POST" || m == "GET") return Interaction::kSearchType;
    return method_not_allowed(m, "_search");
  }
  if (seg[1] == "_history" && seg.size() == 2) {
    if (m == "GET" || m == "HEAD") return Interaction::kHistoryType;
    return method_not_allowed(m, "_history");
  }
  if (!valid_id(seg[1])) return Error::invalid("'" + seg[1] + "' is not a valid resource id");
  if (seg.size() == 2) {
    if (m == "GET" || m == "HEAD") return Interaction::kRead;
    if (m == "PUT") return Interaction::kUpdate;
    if (m == "DELETE") return Interaction::kDelete;
    return method_not_allowed(m, "a resource instance");
  }
  if (seg.size() == 3 && seg[2] == "$everything") {
    if (seg[0] != "Patient") return Error::not_found("$everything is defined on Patient only");
    if (m == "GET" || m == "POST") return Interaction::kEverything;
    return method_not_allowed(m, "$everything");
  }
  if (seg.size() == 3 && (seg[2] == "*" || is_resource_type(seg[2]))) {
    if (m == "GET") return Interaction::kSearchCompartment;
    return method_not_allowed(m, "a compartment search");
  }
  if (seg.size() == 4 && seg[3] == "_search" && (seg[2] == "*" || is_resource_type(seg[2]))) {
    if (m == "GET" || m == "POST") return Interaction::kSearchCompartment;
    return method_not_allowed(m, "_search");
  }
  if (seg[2] != "_history" || seg.size() > 4) {
    return Error::not_found("unknown path below " + seg[0] + "/" + seg[1]);
  }
  if (m != "GET" && m != "HEAD") return method_not_allowed(m, "history");
  return seg.size() == 3 ? Interaction::kHistoryInstance : Interaction::kVread;
}

}  // namespace

Result<QueryParams> parse_query(std::string_view query) {
  // Hand-written rather than Boost.URL: FHIR clients send '|' , ':' and other characters
  // unencoded in search values, which a strict RFC 3986 parser rejects.
  QueryParams out;
  std::size_t pos = 0;
  while (pos < query.size()) {
    auto amp = query.find('&', pos);
    std::string_view pair =
        query.substr(pos, amp == std::string_view::npos ? query.npos : amp - pos);
    pos = amp == std::string_view::npos ? query.size() : amp + 1;
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) return Error::invalid("malformed percent-encoding in the query string");
    out.push_back({std::move(*name), std::move(*value)});
  }
  return out;
}

Result<FhirRequest> parse_fhir_request(const http::Request& request, std::string_view path,
                                       std::string_view query) {
  FhirRequest out;
  auto params = parse_query(query);
  if (!params) return params.take_error();
  out.params = std::move(*params);
  std::string method = request.method == "HEAD" ? "GET" : request.method;
  auto split = split_path(path);
  if (!split) return Error::invalid("malformed percent-encoding in the path");
  auto& segments = *split;
  bool typed = !segments.empty() && is_resource_type(segments[0]);
  if (!typed && !segments.empty() && !segments[0].empty() &&
      std::isupper(static_cast<unsigned char>(segments[0][0]))) {
    return Error::not_found("'" + segments[0] + "' is not a FHIR R4 resource type");
  }
  auto interaction = typed ? route_type(method, segments) : route_system(method, segments);
  if (!interaction) return interaction.take_error();
  out.interaction = *interaction;
  if (typed) out.type = segments[0];
  bool instance =
      out.interaction == Interaction::kRead || out.interaction == Interaction::kUpdate ||
      out.interaction == Interaction::kDelete || out.interaction == Interaction::kVread ||
      out.interaction == Interaction::kHistoryInstance;
  if (instance) out.id = segments[1];
  if (segments.size() > 3 && out.interaction == Interaction::kVread) out.version = segments[3];
  if (out.interaction == Interaction::kEverything) {
    out.compartment_type = segments[0];
    out.compartment_id = segments[1];
  }
  if (out.interaction == Interaction::kSearchCompartment) {
    out.compartment_type = segments[0];
    out.compartment_id = segments[1];
    out.type = segments[2] == "*" ? "" : segments[2];
  }
  bool search =
      out.interaction == Interaction::kSearchType || out.interaction == Interaction::kSearchSystem;
  if (search && method == "POST") {
    auto form = parse_query(request.body);
    if (!form) return form.take_error();
    out.params.insert(out.params.end(), form->begin(), form->end());
  }
  auto fmt = response_format(request, out.params);
  if (!fmt) return fmt.take_error();
  out.response_format = *fmt;
  auto pretty = first_param(out.params, "_pretty");
  out.pretty = pretty && *pretty == "true";
  read_prefer(request, out);
  return out;
}

Result<Format> request_body_format(const http::Request& request) {
  std::string mt = media_type(request.header("Content-Type"));
  if (mt.empty()) {
    std::string_view body = trim(request.body);
    if (!body.empty() && body.front() == '<') return Format::kXml;
    return Format::kJson;
  }
  if (auto fmt = format_of_media(mt); fmt && mt != "json" && mt != "xml") return *fmt;
  return Error::unsupported(
      "Content-Type '" + mt +
      "' is not supported; send application/fhir+json or application/fhir+xml");
}

std::vector<std::string_view> param_values(const QueryParams& params, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& p : params) {
    if (p.name == name) out.push_back(p.value);
  }
  return out;
}

std::optional<std::string_view> first_param(const QueryParams& params, std::string_view name) {
  for (const auto& p : params) {
    if (p.name == name) return std::string_view(p.value);
  }
  return std::nullopt;
}

std::string_view content_type(Format format) {
  return format == Format::kXml ? "application/fhir+xml;charset=utf-8"
                                : "application/fhir+json;charset=utf-8";
}

}  // namespace cg::fhir
