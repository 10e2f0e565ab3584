#include "protocols/hl7v2/fhir_bundle.hpp"

#include <cstdio>

namespace cg::hl7v2 {
namespace {

namespace json = boost::json;

// A token value with FHIR search escapes, then percent-encoded for a URL's query.
std::string query_value(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    if (c == '\\' || c == ',' || c == '|' || c == '$') escaped += '\\';
    escaped += c;
  }
  std::string out;
  for (unsigned char c : escaped) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '/' ||
                       c == '|' || c == ',';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// Deterministic within one Bundle: the n-th entry's fullUrl.
std::string full_url(std::size_t n) {
  char text[64];
  std::snprintf(text, sizeof text, "urn:uuid:00000000-0000-4000-8000-%012zx", n + 1);
  return text;
}

}  // namespace

std::string identifier_query(std::string_view type, const std::vector<IdentifierKey>& identifiers) {
  std::string url = std::string(type) + "?identifier=";
  for (std::size_t i = 0; i < identifiers.size(); ++i) {
    if (i) url += ',';
    if (!identifiers[i].system.empty()) url += query_value(identifiers[i].system) + "|";
    url += query_value(identifiers[i].value);
  }
  return url;
}

json::object identifier_element(const IdentifierKey& key) {
  json::object id;
  if (!key.system.empty()) id["system"] = key.system;
  id["value"] = key.value;
  return id;
}

std::string TransactionBuilder::upsert(std::string_view type, json::object resource,
                                       const std::vector<IdentifierKey>& identifiers) {
  resource["resourceType"] = type;
  const std::string url = full_url(entries_.size());
  json::object request;
  if (identifiers.empty()) {
    request["method"] = "POST";
    request["url"] = type;
  } else {
    request["method"] = "PUT";
    request["url"] = identifier_query(type, identifiers);
  }
  json::object entry;
  entry["fullUrl"] = url;
  entry["resource"] = std::move(resource);
  entry["request"] = std::move(request);
  entries_.push_back(std::move(entry));
  return url;
}

std::string TransactionBuilder::ensure(std::string_view type, json::object resource,
                                       const std::vector<IdentifierKey>& identifiers) {
  const std::string url = upsert(type, std::move(resource), {});
  if (!identifiers.empty()) {
    // identifier_query() gives "Type?identifier=…": ifNoneExist takes the query part.
    const std::string query = identifier_query(type, identifiers);
    entries_.back()["request"].as_object()["ifNoneExist"] = query.substr(query.find('?') + 1);
  }
  return url;
}

json::object TransactionBuilder::take_bundle() {
  json::array entries;
  for (auto& e : entries_) entries.push_back(std::move(e));
  entries_.clear();
  return json::object{
      {"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", std::move(entries)}};
}

}  // namespace cg::hl7v2
