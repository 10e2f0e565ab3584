#include "protocols/hl7v2/immunization_map.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/fhir/model/json.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/fhir_bundle.hpp"
#include "protocols/hl7v2/v2_values.hpp"

namespace cg::hl7v2 {
namespace {

namespace json = boost::json;

constexpr std::string_view kIdentifierTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";
constexpr std::string_view kParticipationSystem = "http://terminology.hl7.org/CodeSystem/v2-0443";
constexpr std::string_view kOriginSystem =
    "http://terminology.hl7.org/CodeSystem/immunization-origin";
constexpr std::string_view kActReasonSystem = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
constexpr std::string_view kRouteV3System =
    "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration";

// The CDC IG's filler order number for a record that has no order (refusals, historical
// doses): shared by unrelated records, so it identifies nothing.
constexpr std::string_view kNoOrderNumber = "9999";
// RXA-6 "999": the amount is unknown (CDC IG).
constexpr std::string_view kUnknownAmount = "999";

// LOINC codes (OBX-3) of the observations about an immunization that the Immunization holds.
constexpr std::string_view kFundingEligibility = "64994-7";
constexpr std::string_view kFundingSource = "30963-3";
constexpr std::string_view kVisDocumentType = "69764-9";
constexpr std::string_view kVisVaccineType = "30956-7";
constexpr std::string_view kVisPublished = "29768-9";
constexpr std::string_view kVisPresented = "29769-7";
constexpr std::string_view kPresumedImmunity = "59784-9";

// RXA-9 (CDC table NIP001, immunization information source) → immunization-origin, for the
// historical sources that have a FHIR counterpart.
struct OriginMap {
  std::string_view nip001;
  std::string_view code;
  std::string_view display;
};
constexpr std::array<OriginMap, 4> kOrigins{{
    {"02", "provider", "Other Provider"},
    {"03", "record", "Written Record"},
    {"04", "recall", "Parent/Guardian or Patient Recall"},
    {"07", "school", "School Record"},
}};

// Table 0162 → v3 RouteOfAdministration where the IG's RouteOfAdministration map leaves v2.
struct RouteMap {
  std::string_view v2;
  std::string_view code;
  std::string_view display;
};
constexpr std::array<RouteMap, 6> kRoutes{{
    {"ID", "IDINJ", "Injection, intradermal"},
    {"IM", "IM", "Injection, intramuscular"},
    {"IV", "IVINJ", "Injection, intravenous"},
    {"PO", "PO", "Swallow, oral"},
    {"SC", "SQ", "Injection, subcutaneous"},
    {"TD", "TRNSDERM", "Transdermal"},
}};

json::object coding(std::string_view system, std::string_view code, std::string_view display) {
  return json::object{{"system", system}, {"code", code}, {"display", display}};
}

// A segment and its occurrence number among the segments with its id: where values are read
// and errors located.
struct SegmentAt {
  const Segment* segment = nullptr;
  int sequence = 0;

  // One value as plain FHIR text (v2_values.hpp).
  std::string text(int field, int component = 1, int subcomponent = 1, int repetition = 1) const {
    return plain_text(*segment, field, repetition, component, subcomponent);
  }
  std::string code(int field, int component = 1) const { return fhir_code(text(field, component)); }
  ErrorLocation location(int field) const { return {segment->id(), sequence, field, 0, 0, 0}; }
};

// VXU_V04.ORDER: ORC, [TQ1…], RXA, [RXR], {OBX, [NTE]}.
struct OrderGroup {
  SegmentAt orc;
  SegmentAt rxa;
  SegmentAt rxr;
  std::vector<SegmentAt> obx;
};

// The ORDER groups in message order. An ORC starts a group; an RXA starts one too when the
// sender left the ORC out. RXR and OBX before the first RXA of a group belong to no order (OBX
// right after the PID are patient observations) and are not mapped.
std::vector<OrderGroup> order_groups(const Message& message) {
  std::vector<OrderGroup> groups;
  int orcs = 0;
  int rxas = 0;
  int rxrs = 0;
  int obxs = 0;
  for (const Segment& segment : message.segments()) {
    const std::string& id = segment.id();
    if (id == "ORC") {
      groups.emplace_back().orc = {&segment, ++orcs};
    } else if (id == "RXA") {
      if (groups.empty() || groups.back().rxa.segment != nullptr) groups.emplace_back();
      groups.back().rxa = {&segment, ++rxas};
    } else if (id == "RXR") {
      ++rxrs;
      if (!groups.empty() && groups.back().rxa.segment && !groups.back().rxr.segment) {
        groups.back().rxr = {&segment, rxrs};
      }
    } else if (id == "OBX") {
      ++obxs;
      if (!groups.empty() && groups.back().rxa.segment) {
        groups.back().obx.push_back({&segment, obxs});
      }
    }
  }
  return groups;
}

// HL7 NM → a FHIR decimal lexeme: "+1", "01.50", ".5", "5." → "1", "1.50", "0.5", "5".
std::optional<std::string> fhir_decimal(std::string_view nm) {
  std::string sign;
  if (!nm.empty() && (nm.front() == '+' || nm.front() == '-')) {
    if (nm.front() == '-') sign = "-";
    nm.remove_prefix(1);
  }
  std::size_t dot = nm.find('.');
  std::string_view whole = nm.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : nm.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if ((whole.empty() && fraction.empty()) || !digits(whole) || !digits(fraction)) {
    return std::nullopt;
  }
  whole.remove_prefix(std::min(whole.find_first_not_of('0'), whole.size()));
  std::string out = sign + (whole.empty() ? "0" : std::string(whole));
  if (!fraction.empty()) out += "." + std::string(fraction);
  return out;
}

struct VisStatement {
  std::string sub_id;  // OBX-4: the OBX of one statement share it
  std::string document_type;
  std::string vaccine_type;
  json::object dates;
};

// Builds the Immunizations of one message. Records the first error and keeps going, so each
// builder stays a plain function of its fields; map_vxu() reports the error at the end.
class ImmunizationMapper {
 public:
  ImmunizationMapper(const Message& message, const IdentifierSystems& systems)
      : systems_(systems), zone_(hl7_time_zone(message.get("MSH-7"))) {}

  const std::optional<Error>& error() const { return error_; }

  void fail(Error error) {
    if (!error_) error_ = std::move(error);
  }

  // The Immunization of one ORDER group and the order number that names it.
  std::pair<json::object, std::vector<IdentifierKey>> immunization(const OrderGroup& group,
                                                                   const std::string& patient) {
    json::object out;
    std::vector<IdentifierKey> keys;
    if (group.orc.segment) order_numbers(group.orc, out, keys);
    status(group.rxa, out);
    vaccine(group.rxa, out);
    out["patient"] = json::object{{"reference", patient}};
    administration(group, out);
    product(group.rxa, out);
    performers(group, out);
    if (group.rxr.segment) {
      if (auto site = codeable_concept(*group.rxr.segment, 2)) out["site"] = std::move(*site);
      if (auto route = this->route(group.rxr)) out["route"] = std::move(*route);
    }
    observations(group.obx, out);
    return {std::move(out), std::move(keys)};
  }

 private:
  // ORC-3 (filler, "FILL") and ORC-2 (placer, "PLAC") → identifiers. The conditional update
  // matches on the filler number alone: it names the administration in the sender's records
  // (CDC IG), while a placer number names the order and often lacks an assigning authority.
  // The placer number is the key only when there is no filler number.
  void order_numbers(const SegmentAt& orc, json::object& out, std::vector<IdentifierKey>& keys) {
    for (auto [field, type] : {std::pair{3, "FILL"}, std::pair{2, "PLAC"}}) {
      auto key = entity_identifier(*orc.segment, field, systems_);
      if (!key || (field == 3 && key->value == kNoOrderNumber)) continue;
      json::object identifier{
          {"type",
           json::object{{"coding", json::array{json::object{{"system", kIdentifierTypeSystem},
                                                            {"code", type}}}}}}};
      put(identifier, "system", key->system);
      identifier["value"] = key->value;
      append(out, "identifier", std::move(identifier));
      if (keys.empty()) keys.push_back(std::move(*key));
    }
  }

  // RXA-21 D → entered-in-error; else RXA-20 (table 0322): CP or empty → completed, PA →
  // completed and subpotent, RE and NA → not-done, with RXA-18 as the reason.
  void status(const SegmentAt& rxa, json::object& out) {
    std::string code = rxa.code(20);
    bool refused = same_code(code, "RE");
    bool not_done = refused || same_code(code, "NA");
    if (!code.empty() && !not_done && !same_code(code, "CP") && !same_code(code, "PA")) {
      fail(make_error(ErrorCode::kTableValueNotFound,
                      "RXA-20 is not a completion status of table 0322", rxa.location(20)));
    }
    if (same_code(code, "PA")) out["isSubpotent"] = true;
    bool deleted = same_code(rxa.code(21), "D");
    out["status"] = deleted ? "entered-in-error" : not_done ? "not-done" : "completed";
    if (!not_done) return;
    json::object reason = codeable_concept(*rxa.segment, 18).value_or(json::object{});
    if (refused) append(reason, "coding", coding(kActReasonSystem, "PATOBJ", "patient objection"));
    if (!reason.empty()) out["statusReason"] = std::move(reason);
  }

  void vaccine(const SegmentAt& rxa, json::object& out) {
    auto code = codeable_concept(*rxa.segment, 5);
    if (!code) {
      fail(make_error(ErrorCode::kRequiredFieldMissing, "RXA-5 names no vaccine", rxa.location(5)));
      return;
    }
    out["vaccineCode"] = std::move(*code);
  }

  // When (RXA-3; ORC-9 as recorded), where (RXA-27, else RXA-11) and from what source
  // (RXA-9) the immunization was recorded.
  void administration(const OrderGroup& group, json::object& out) {
    if (group.rxa.text(3).empty()) {
      fail(make_error(ErrorCode::kRequiredFieldMissing, "RXA-3 gives no administration time",
                      group.rxa.location(3)));
    } else if (auto when = date_time(group.rxa, 3)) {
      out["occurrenceDateTime"] = *when;
    }
    if (group.orc.segment) {
      if (auto recorded = date_time(group.orc, 9)) out["recorded"] = *recorded;
    }
    if (auto location = this->location(group.rxa); !location.empty()) {
      out["location"] = std::move(location);
    }
    information_source(group.rxa, out);
  }

  // RXA-9, the repetition coded in NIP001: 00 (new record) → primarySource true; 01–08
  // (historical, by source) → primarySource false and reportOrigin.
  static void information_source(const SegmentAt& rxa, json::object& out) {
    for (int r = 1; r <= rxa.segment->repetition_count(9); ++r) {
      std::string code = fhir_code(rxa.text(9, 1, 1, r));
      std::string system = fhir_code(rxa.text(9, 3, 1, r));
      bool source_code = code.size() == 2 && code >= "00" && code <= "08";
      if (!source_code || !(system.empty() || same_code(system, "NIP001"))) continue;
      out["primarySource"] = code == "00";
      if (code == "00") return;
      json::object nip001{{"system", code_system_uri("NIP001")}, {"code", code}};
      put(nip001, "display", rxa.text(9, 2, 1, r));
      json::array codings{std::move(nip001)};
      auto origin = std::find_if(kOrigins.begin(), kOrigins.end(),
                                 [&](const OriginMap& o) { return o.nip001 == code; });
      if (origin != kOrigins.end()) {
        codings.push_back(coding(kOriginSystem, origin->code, origin->display));
      }
      out["reportOrigin"] = json::object{{"coding", std::move(codings)}};
      return;
    }
  }

  // RXA-27 (PL) or RXA-11 (LA2): facility (HD), point of care, room, bed as the display of a
  // Location reference; RXA-27's location description (PL-9) when given.
  static json::object location(const SegmentAt& rxa) {
    std::string display = rxa.text(27, 9);
    if (display.empty()) display = place_display(*rxa.segment, 27);
    if (display.empty()) display = place_display(*rxa.segment, 11);
    if (display.empty()) return {};
    return json::object{{"type", "Location"}, {"display", display}};
  }

  // Dose (RXA-6/7), lot (RXA-15), expiration (RXA-16) and manufacturer (RXA-17).
  void product(const SegmentAt& rxa, json::object& out) {
    dose(rxa, out);
    put(out, "lotNumber", rxa.text(15));
    if (std::string text = rxa.text(16); !text.empty()) {
      if (auto date = fhir_date(text)) {
        out["expirationDate"] = *date;
      } else {
        fail_date(rxa.location(16));
      }
    }
    std::string code = rxa.code(17);
    std::string name = rxa.text(17, 2).empty() ? rxa.text(17, 9) : rxa.text(17, 2);
    if (code.empty() && name.empty()) return;
    json::object manufacturer{{"type", "Organization"}};
    if (!code.empty()) {
      json::object identifier;
      put(identifier, "system", code_system_uri(rxa.text(17, 3)));
      identifier["value"] = code;
      manufacturer["identifier"] = std::move(identifier);
    }
    put(manufacturer, "display", std::move(name));
    out["manufacturer"] = std::move(manufacturer);
  }

  void dose(const SegmentAt& rxa, json::object& out) {
    std::string text = rxa.text(6);
    if (text.empty()) return;
    auto value = fhir_decimal(text);
    if (!value) {
      fail(make_error(ErrorCode::kDataTypeError, "RXA-6 is not a number", rxa.location(6)));
      return;
    }
    if (*value == kUnknownAmount) return;
    json::object quantity{{"value", fhir::make_decimal(*value)}};
    std::string code = rxa.code(7);
    std::string system = code_system_uri(rxa.text(7, 3));
    put(quantity, "unit", rxa.text(7, 2).empty() ? rxa.text(7) : rxa.text(7, 2));
    if (!code.empty() && !system.empty()) {
      quantity["system"] = system;
      quantity["code"] = code;
    }
    out["doseQuantity"] = std::move(quantity);
  }

  // RXA-10 administering (AP) and ORC-12 ordering (OP) providers.
  void performers(const OrderGroup& group, json::object& out) {
    add_performers(group.rxa, 10, "AP", "Administering Provider", out);
    if (group.orc.segment) add_performers(group.orc, 12, "OP", "Ordering Provider", out);
  }

  void add_performers(const SegmentAt& at, int field, std::string_view function,
                      std::string_view display, json::object& out) {
    for (int r = 1; r <= at.segment->repetition_count(field); ++r) {
      auto actor = practitioner_reference(*at.segment, field, r, systems_);
      if (!actor) continue;
      json::object role{{"coding", json::array{coding(kParticipationSystem, function, display)}}};
      append(out, "performer",
             json::object{{"function", std::move(role)}, {"actor", std::move(*actor)}});
    }
  }

  // RXR-1 with the IG's v3 RouteOfAdministration coding added when a triplet holds a table
  // 0162 code that the IG maps (CDC senders put NCIT first and HL70162 as the alternate).
  static std::optional<json::object> route(const SegmentAt& rxr) {
    auto out = codeable_concept(*rxr.segment, 1);
    if (!out) return out;
    for (auto [code_at, system_at] : {std::pair{1, 3}, std::pair{4, 6}}) {
      if (!same_code(fhir_code(rxr.text(1, system_at)), "HL70162")) continue;
      std::string code = fhir_code(rxr.text(1, code_at));
      auto v3 = std::find_if(kRoutes.begin(), kRoutes.end(),
                             [&](const RouteMap& r) { return same_code(code, r.v2); });
      if (v3 == kRoutes.end()) continue;
      append(*out, "coding", coding(kRouteV3System, v3->code, v3->display));
      break;
    }
    return out;
  }

  // The group's OBX that the Immunization holds: funding (64994-7, 30963-3), VIS statements
  // (69764-9 or 30956-7 with 29768-9 and 29769-7, grouped by OBX-4) and presumed immunity
  // (59784-9) as a note. Other observations are not mapped.
  void observations(const std::vector<SegmentAt>& obxs, json::object& out) {
    std::vector<VisStatement> statements;
    for (const SegmentAt& obx : obxs) {
      std::string code = obx.code(3);
      if (code == kFundingEligibility) {
        if (auto c = codeable_concept(*obx.segment, 5)) append(out, "programEligibility", *c);
      } else if (code == kFundingSource) {
        auto c = codeable_concept(*obx.segment, 5);
        if (c && !out.contains("fundingSource")) out["fundingSource"] = std::move(*c);
      } else if (code == kPresumedImmunity) {
        if (std::string note = presumed_immunity(obx); !note.empty()) {
          append(out, "note", json::object{{"text", note}});
        }
      } else if (code == kVisDocumentType || code == kVisVaccineType || code == kVisPublished ||
                 code == kVisPresented) {
        vis_observation(statement(statements, obx.text(4)), code, obx);
      }
    }
    for (VisStatement& s : statements) {
      std::string type = s.document_type.empty() ? s.vaccine_type : s.document_type;
      // FHIR imm-1: an education entry names its document; dates alone are left out.
      if (type.empty()) continue;
      s.dates["documentType"] = type;
      append(out, "education", std::move(s.dates));
    }
  }

  static VisStatement& statement(std::vector<VisStatement>& statements, const std::string& id) {
    auto it = std::find_if(statements.begin(), statements.end(),
                           [&](const VisStatement& s) { return s.sub_id == id; });
    if (it != statements.end()) return *it;
    VisStatement& added = statements.emplace_back();
    added.sub_id = id;
    return added;
  }

  void vis_observation(VisStatement& s, std::string_view code, const SegmentAt& obx) {
    std::string text = obx.text(5, 2).empty() ? obx.code(5) : obx.text(5, 2);
    if (code == kVisDocumentType) {
      s.document_type = text;
    } else if (code == kVisVaccineType) {
      s.vaccine_type = text;
    } else if (auto when = date_time(obx, 5)) {
      s.dates[code == kVisPublished ? "publicationDate" : "presentationDate"] = *when;
    }
  }

  // "Presumed immunity: Varicella infection (SCT 38907003)".
  static std::string presumed_immunity(const SegmentAt& obx) {
    std::string code = obx.code(5);
    std::string text = obx.text(5, 2).empty() ? obx.text(5, 9) : obx.text(5, 2);
    if (code.empty() && text.empty()) return {};
    std::string coded = obx.code(5, 3);
    coded += coded.empty() ? code : " " + code;
    std::string out = "Presumed immunity: " + (text.empty() ? coded : text);
    if (!text.empty() && !code.empty()) out += " (" + coded + ")";
    return out;
  }

  // A DTM/TS field (component 1); records 102 at the field when it is not a valid one.
  std::optional<std::string> date_time(const SegmentAt& at, int field) {
    std::string text = at.text(field);
    if (text.empty()) return std::nullopt;
    auto converted = fhir_date_time(text, zone_);
    if (!converted) fail_date(at.location(field));
    return converted;
  }

  void fail_date(const ErrorLocation& location) {
    fail(make_error(ErrorCode::kDataTypeError, "not a valid HL7 date/time", location));
  }

  const IdentifierSystems& systems_;
  std::string zone_;  // MSH-7's zone: the sender's, for times sent without one
  std::optional<Error> error_;
};

}  // namespace

Result<json::object> map_vxu(const Message& message, const IdentifierSystems& systems) {
  auto patient = map_patient(message, systems);
  if (!patient) return patient.take_error();
  std::vector<OrderGroup> groups = order_groups(message);
  auto has_rxa = [](const OrderGroup& g) { return g.rxa.segment != nullptr; };
  if (std::none_of(groups.begin(), groups.end(), has_rxa)) {
    return make_error(ErrorCode::kSegmentSequenceError, "the message has no RXA segment");
  }
  TransactionBuilder bundle;
  std::string patient_url =
      bundle.ensure("Patient", std::move(patient->resource), patient->identifiers);
  ImmunizationMapper mapper(message, systems);
  for (const OrderGroup& group : groups) {
    if (!has_rxa(group)) {
      mapper.fail(make_error(ErrorCode::kSegmentSequenceError, "an ORC without its RXA",
                             {"ORC", group.orc.sequence, 0, 0, 0, 0}));
      continue;
    }
    auto [resource, keys] = mapper.immunization(group, patient_url);
    bundle.upsert("Immunization", std::move(resource), keys);
  }
  if (mapper.error()) return *mapper.error();
  return bundle.take_bundle();
}

}  // namespace cg::hl7v2
