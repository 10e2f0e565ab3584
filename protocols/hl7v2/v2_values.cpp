#include "protocols/hl7v2/v2_values.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <utility>

#include "protocols/http/percent_encoding.hpp"

namespace cg::hl7v2 {
namespace {

namespace json = boost::json;

constexpr std::string_view kLocalCodeSystemPrefix = "urn:cg:codesystem:";
constexpr std::string_view kV2TablePrefix = "http://terminology.hl7.org/CodeSystem/v2-";

struct CodeSystemName {
  std::string_view hl7;  // upper case
  std::string_view uri;
};

// Table 0396 names (and common variants senders use) with a FHIR code system URI.
constexpr std::array<CodeSystemName, 24> kCodeSystems{{
    {"LN", "http://loinc.org"},
    {"LOINC", "http://loinc.org"},
    {"SCT", "http://snomed.info/sct"},
    {"SNM", "http://snomed.info/sct"},
    {"SNM3", "http://snomed.info/sct"},
    {"SNOMED", "http://snomed.info/sct"},
    {"UCUM", "http://unitsofmeasure.org"},
    {"I10", "http://hl7.org/fhir/sid/icd-10"},
    {"I10C", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"ICD10CM", "http://hl7.org/fhir/sid/icd-10-cm"},
    {"I9", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"I9C", "http://hl7.org/fhir/sid/icd-9-cm"},
    {"C4", "http://www.ama-assn.org/go/cpt"},
    {"CPT", "http://www.ama-assn.org/go/cpt"},
    {"CVX", "http://hl7.org/fhir/sid/cvx"},
    {"MVX", "http://terminology.hl7.org/CodeSystem/MVX"},
    {"NDC", "http://hl7.org/fhir/sid/ndc"},
    {"RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm"},
    {"MDC", "urn:iso:std:iso:11073:10101"},
    {"NCIT", "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"},
    {"UMLS", "http://www.nlm.nih.gov/research/umls"},
    {"CDCREC", "urn:oid:2.16.840.1.113883.6.238"},
    {"HCPCS", "urn:oid:2.16.840.1.113883.6.285"},
    {"NUCC", "http://nucc.org/provider-taxonomy"},
}};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string upper_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

bool is_oid(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || c == '.'; }) &&
         text.find("..") == std::string_view::npos;
}

// One coding of a CWE: code, display and system components, the system's version and OID.
struct CwePart {
  int code;
  int display;
  int system;
  int version;
  int oid;
};
constexpr std::array<CwePart, 3> kCweParts{
    {{1, 2, 3, 7, 14}, {4, 5, 6, 8, 17}, {10, 11, 12, 13, 20}}};

}  // namespace

void put(json::object& object, std::string_view key, std::string value) {
  if (!value.empty()) object[key] = std::move(value);
}

void append(json::object& object, std::string_view key, json::value value) {
  json::value& slot = object[key];
  if (!slot.is_array()) slot = json::array();
  slot.as_array().push_back(std::move(value));
}

json::object valued_coding(std::string_view system, std::string_view code,
                           std::string_view display) {
  json::object out;
  put(out, "system", std::string(system));
  put(out, "code", std::string(code));
  put(out, "display", std::string(display));
  return out;
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    if (!out.empty()) out += ' ';
    out += part;
  }
  return out;
}

bool same_code(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

std::string fhir_string(std::string value) {
  std::erase_if(value, [](char c) {
    return static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r';
  });
  auto begin = std::find_if_not(value.begin(), value.end(), is_space);
  auto end = std::find_if_not(value.rbegin(), value.rend(), is_space).base();
  return begin < end ? std::string(begin, end) : std::string();
}

std::string fhir_code(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (is_space(c) || static_cast<unsigned char>(c) < 0x20) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out += ' ';
      pending_space = false;
      out += c;
    }
  }
  return out;
}

std::string percent_encoded(std::string_view text) {
  return http::percent_encode(text);
}

std::string plain_text(const Segment& segment, int field, int repetition, int component,
                       int subcomponent) {
  return fhir_string(
      segment.get(field, repetition, component, subcomponent, Formatting::kPlainText));
}

std::string code_system_uri(std::string_view hl7_name) {
  std::string name = fhir_code(hl7_name);
  if (name.empty()) return {};
  std::string upper = upper_case(name);
  for (const CodeSystemName& known : kCodeSystems) {
    if (known.hl7 == upper) return std::string(known.uri);
  }
  // HL7-defined tables: "HL70078" (also "HL7 0078"), always four digits in the URI.
  if (upper.starts_with("HL7")) {
    std::string digits = upper.substr(3);
    std::erase(digits, ' ');
    if (!digits.empty() && digits.size() <= 4 &&
        std::all_of(digits.begin(), digits.end(), is_digit)) {
      return std::string(kV2TablePrefix) + std::string(4 - digits.size(), '0') + digits;
    }
  }
  return std::string(kLocalCodeSystemPrefix) + percent_encoded(name);
}

std::optional<json::object> codeable_concept(const Segment& segment, int field, int repetition) {
  json::array codings;
  std::string first_display;
  for (const CwePart& part : kCweParts) {
    std::string code = fhir_code(plain_text(segment, field, repetition, part.code));
    std::string display = plain_text(segment, field, repetition, part.display);
    if (first_display.empty()) first_display = display;
    if (code.empty()) continue;
    json::object coding;
    std::string system = code_system_uri(plain_text(segment, field, repetition, part.system));
    if (std::string oid = plain_text(segment, field, repetition, part.oid);
        system.empty() && is_oid(oid)) {
      system = "urn:oid:" + oid;
    }
    put(coding, "system", std::move(system));
    put(coding, "version", plain_text(segment, field, repetition, part.version));
    coding["code"] = code;
    put(coding, "display", std::move(display));
    codings.push_back(std::move(coding));
  }
  json::object out;
  if (!codings.empty()) out["coding"] = std::move(codings);
  std::string text = plain_text(segment, field, repetition, 9);
  put(out, "text", text.empty() ? std::move(first_display) : std::move(text));
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<IdentifierKey> entity_identifier(const Segment& segment, int field,
                                               const IdentifierSystems& systems) {
  std::string value = plain_text(segment, field, 1, 1);
  if (value.empty()) return std::nullopt;
  return IdentifierKey{
      identifier_system(plain_text(segment, field, 1, 2), plain_text(segment, field, 1, 3),
                        plain_text(segment, field, 1, 4), systems),
      std::move(value)};
}

std::string place_display(const Segment& segment, int field) {
  std::string facility = plain_text(segment, field, 1, 4, 1);
  if (facility.empty()) facility = plain_text(segment, field, 1, 4, 2);
  std::string out;
  for (const std::string& part :
       {facility, plain_text(segment, field, 1, 1), plain_text(segment, field, 1, 2),
        plain_text(segment, field, 1, 3)}) {
    if (part.empty()) continue;
    if (!out.empty()) out += ", ";
    out += part;
  }
  return out;
}

std::optional<json::object> practitioner_reference(const Segment& segment, int field,
                                                   int repetition,
                                                   const IdentifierSystems& systems) {
  auto get = [&](int component, int subcomponent = 1) {
    return plain_text(segment, field, repetition, component, subcomponent);
  };
  json::object out;
  out["type"] = "Practitioner";
  if (std::string id = get(1); !id.empty()) {
    json::object identifier;
    put(identifier, "system", identifier_system(get(9, 1), get(9, 2), get(9, 3), systems));
    identifier["value"] = id;
    out["identifier"] = std::move(identifier);
  }
  put(out, "display", join({get(6), get(3), get(4), get(2, 1), get(5), get(7)}));
  if (out.size() == 1) return std::nullopt;
  return out;
}

}  // namespace cg::hl7v2
