#include "protocols/hl7v2/query_params.hpp"

#include <array>
#include <charconv>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/v2_values.hpp"

namespace cg::hl7v2 {
namespace {

// A QPD-3 field name ("@PID.5.1.1") → the FHIR search parameter it filters on. The name is
// compared after normalisation: without "@", and with a trailing ".1" dropped as often as it
// appears ("PID.5.1.1" and "PID.5.1" are both the family name; "PID.7.1" the date).
struct FieldParam {
  std::string_view field;
  std::string_view param;
};

constexpr std::array<FieldParam, 18> kPdqFields{{
    {"PID.5", "family"},  // XPN-1 (FN-1, the surname); a bare PID.5 names the family name too
    {"PID.5.2", "given"},
    {"PID.5.3", "given"},  // the middle names are given names in FHIR
    {"PID.7", "birthdate"},
    {"PID.8", "gender"},
    {"PID.11", "address"},  // XAD-1 (street) is searched as any part of the address
    {"PID.11.2", "address"},
    {"PID.11.3", "address-city"},
    {"PID.11.4", "address-state"},
    {"PID.11.5", "address-postalcode"},
    {"PID.11.6", "address-country"},
    {"PID.11.9", "address"},
    {"PID.13", "phone"},  // XTN-1, the number
    {"PID.13.4", "email"},
    {"PID.13.12", "phone"},
    {"PID.14", "phone"},
    {"PID.14.4", "email"},
    {"PID.14.12", "phone"},
}};

// Table 0001 → administrative-gender (patient_map.cpp's map).
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kGender{{
    {"M", "male"},
    {"F", "female"},
    {"O", "other"},
    {"U", "unknown"},
    {"A", "other"},
    {"N", "other"},
}};

std::string normalized_field(std::string_view name) {
  std::string out = fhir_code(name);
  if (out.starts_with('@')) out.erase(0, 1);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  while (out.size() > 6 && out.ends_with(".1")) out.resize(out.size() - 2);
  return out;
}

ErrorLocation qpd(int field, int repetition = 0, int component = 0) {
  return {"QPD", 1, field, repetition, component, 0};
}

// PDQ's identifier criteria: @PID.3.1 starts an identifier, @PID.3.4.n give its authority.
class IdentifierGroups {
 public:
  // False when `field` is not part of PID.3.
  bool take(std::string_view field, std::string value) {
    if (field == "PID.3") {
      // An authority given first waits for its value; otherwise a value starts a new one.
      if (groups_.empty() || !groups_.back().value.empty()) groups_.push_back({});
      groups_.back().value = std::move(value);
      return true;
    }
    int part = 0;
    if (field == "PID.3.4") part = 1;
    if (field == "PID.3.4.2") part = 2;
    if (field == "PID.3.4.3") part = 3;
    if (part == 0) return false;
    if (groups_.empty() || !groups_.back().authority[part - 1].empty()) groups_.push_back({});
    groups_.back().authority[part - 1] = std::move(value);
    return true;
  }

  // identifier=system|value per group with a value (system alone: any identifier in it).
  void append_params(std::vector<SearchParam>& out, const IdentifierSystems& systems) const {
    for (const auto& g : groups_) {
      std::string system =
          identifier_system(g.authority[0], g.authority[1], g.authority[2], systems);
      if (g.value.empty() && system.empty()) continue;
      out.push_back({"identifier", system.empty()
                                       ? search_escaped(g.value)
                                       : search_escaped(system) + "|" + search_escaped(g.value)});
    }
  }

 private:
  struct Group {
    std::string value;
    std::array<std::string, 3> authority;
  };
  std::vector<Group> groups_;
};

// One QPD-3 repetition → its search parameter, or an error at that repetition.
Result<SearchParam> field_param(std::string_view field, std::string value, int rep) {
  for (const auto& entry : kPdqFields) {
    if (entry.field != field) continue;
    if (entry.param == "birthdate") {
      auto date = fhir_date(value);
      if (!date) {
        return make_error(ErrorCode::kDataTypeError, "the birth date asked for is not an HL7 date",
                          qpd(3, rep, 2));
      }
      return SearchParam{"birthdate", "eq" + *date};
    }
    if (entry.param == "gender") {
      for (const auto& [v2, gender] : kGender) {
        if (same_code(v2, value)) return SearchParam{"gender", std::string(gender)};
      }
      return make_error(ErrorCode::kTableValueNotFound,
                        "the sex asked for is not a table 0001 code", qpd(3, rep, 2));
    }
    // PDQ's "*" wildcard at the end: FHIR string search already matches by prefix. A bare
    // "*" leaves no value (it matches anything): the caller drops it.
    while (value.ends_with('*')) value.pop_back();
    return SearchParam{std::string(entry.param), search_escaped(value)};
  }
  return make_error(ErrorCode::kTableValueNotFound,
                    "the gateway cannot search on @" + std::string(field) +
                        " (docs/hl7v2.md lists the query fields)",
                    qpd(3, rep, 1));
}

}  // namespace

std::string search_escaped(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == ',' || c == '$' || c == '|') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::vector<QueryDomain> requested_domains(const Message& query, int field,
                                           const IdentifierSystems& systems) {
  std::vector<QueryDomain> out;
  const Segment* qpd_segment = query.find("QPD");
  if (qpd_segment == nullptr) return out;
  const int count = qpd_segment->repetition_count(field);
  for (int rep = 1; rep <= count; ++rep) {
    std::string system =
        identifier_system(qpd_segment->get(field, rep, 4, 1), qpd_segment->get(field, rep, 4, 2),
                          qpd_segment->get(field, rep, 4, 3), systems);
    if (!system.empty()) out.push_back({std::move(system), rep});
  }
  return out;
}

Result<std::vector<SearchParam>> pdq_search_params(const Message& query,
                                                   const IdentifierSystems& systems) {
  const Segment* qpd_segment = query.find("QPD");
  if (qpd_segment == nullptr) {
    return make_error(ErrorCode::kSegmentSequenceError, "the query has no QPD segment");
  }
  std::vector<SearchParam> params;
  IdentifierGroups identifiers;
  const int count = qpd_segment->repetition_count(3);
  for (int rep = 1; rep <= count; ++rep) {
    const std::string field = normalized_field(qpd_segment->get(3, rep, 1));
    std::string value = fhir_string(qpd_segment->get(3, rep, 2));
    if (field.empty() || value.empty()) continue;
    if (identifiers.take(field, value)) continue;
    auto param = field_param(field, std::move(value), rep);
    if (!param) return param.take_error();
    if (!param->value.empty()) params.push_back(std::move(*param));
  }
  identifiers.append_params(params, systems);
  if (params.empty()) {
    return make_error(ErrorCode::kRequiredFieldMissing,
                      "QPD-3 names no demographic field with a value to search on", qpd(3));
  }
  return params;
}

Result<IdentifierKey> pix_source_identifier(const Message& query,
                                            const IdentifierSystems& systems) {
  const Segment* qpd_segment = query.find("QPD");
  if (qpd_segment == nullptr) {
    return make_error(ErrorCode::kSegmentSequenceError, "the query has no QPD segment");
  }
  std::string value = fhir_string(qpd_segment->get(3, 1, 1));
  if (value.empty()) {
    return make_error(ErrorCode::kRequiredFieldMissing, "QPD-3 holds no patient identifier",
                      qpd(3, 1, 1));
  }
  std::string system = identifier_system(qpd_segment->get(3, 1, 4, 1), qpd_segment->get(3, 1, 4, 2),
                                         qpd_segment->get(3, 1, 4, 3), systems);
  if (system.empty()) {
    return make_error(ErrorCode::kRequiredFieldMissing,
                      "QPD-3 names no assigning authority for the identifier", qpd(3, 1, 4));
  }
  return IdentifierKey{std::move(system), std::move(value)};
}

std::optional<int> quantity_limit(const Message& query) {
  const Segment* rcp = query.find("RCP");
  if (rcp == nullptr) return std::nullopt;
  const std::string text = fhir_code(rcp->get(2, 1, 1));
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 1) return std::nullopt;
  return n;
}

}  // namespace cg::hl7v2
