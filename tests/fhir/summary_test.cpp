#include "protocols/fhir/model/summary.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/validation.hpp"

using namespace cg::fhir;
namespace json = boost::json;

namespace {

json::object parse(std::string_view text) {
  auto v = parse_json(text);
  REQUIRE(v.ok());
  REQUIRE(v->is_object());
  return std::move(v->get_object());
}

json::object summarised(std::string_view text, SummaryMode mode) {
  json::object resource = parse(text);
  apply_summary(resource, mode);
  return resource;
}

json::object with_elements(std::string_view text, const std::vector<std::string>& elements) {
  json::object resource = parse(text);
  auto status = apply_elements(resource, elements);
  REQUIRE_MESSAGE(status.ok(), status.error().message);
  return resource;
}

// The resource's property names, sorted, without meta (checked separately).
std::vector<std::string> keys(const json::object& o) {
  std::vector<std::string> names;
  for (const auto& member : o) {
    if (member.key() != "meta") names.emplace_back(member.key());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool is_subsetted(const json::object& resource) {
  const json::value* meta = resource.if_contains("meta");
  if (meta == nullptr || !meta->is_object()) return false;
  const json::value* tags = meta->get_object().if_contains("tag");
  if (tags == nullptr || !tags->is_array()) return false;
  const json::value subsetted =
      json::object{{"system", kSubsettedSystem}, {"code", kSubsettedCode}};
  return std::count(tags->get_array().begin(), tags->get_array().end(), subsetted) == 1;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string describe(const std::vector<ValidationIssue>& issues) {
  std::string s;
  for (const auto& i : issues) s += i.code + " " + i.path + ": " + i.message + "\n";
  return s;
}

constexpr std::string_view kPatient = R"({"resourceType":"Patient","id":"p1",
  "meta":{"versionId":"3","tag":[{"system":"urn:x","code":"keep"}]},
  "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Pat</div>"},
  "extension":[{"url":"urn:ext","valueString":"e"}],
  "identifier":[{"system":"urn:mrn","value":"123"}],
  "active":true,
  "name":[{"extension":[{"url":"urn:ext","valueString":"n"}],"family":"Chalmers","given":["Peter"]},
          {"extension":[{"url":"urn:ext","valueString":"only"}]}],
  "gender":"male","birthDate":"1974-12-25",
  "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                              "valueDateTime":"1974-12-25T14:35:45-05:00"}]},
  "deceasedBoolean":false,"maritalStatus":{"text":"married"},"multipleBirthInteger":2,
  "contact":[{"name":{"family":"Du Marché"}}],
  "communication":[{"language":{"text":"French"}}]})";

constexpr std::string_view kObservation = R"({"resourceType":"Observation","id":"o1",
  "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Obs</div>"},
  "status":"final","_status":{"extension":[{"url":"urn:ext","valueString":"s"}]},
  "category":[{"text":"vital-signs"}],
  "code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},
  "subject":{"reference":"Patient/p1"},
  "effectiveDateTime":"2020-01-01",
  "valueQuantity":{"value":67.50,"unit":"kg"},
  "interpretation":[{"text":"normal"}],
  "note":[{"text":"n"}],
  "referenceRange":[{"low":{"value":50}}],
  "component":[{"code":{"text":"c"},"valueString":"x","interpretation":[{"text":"i"}]}]})";

}  // namespace

TEST_CASE("_summary=false leaves the resource as it is, without a tag") {
  const json::object original = parse(kPatient);
  CHECK(summarised(kPatient, SummaryMode::kFalse) == original);
}

TEST_CASE("_summary=true keeps the summary elements of Patient and tags it SUBSETTED") {
  const json::object p = summarised(kPatient, SummaryMode::kTrue);
  CHECK(keys(p) == std::vector<std::string>{"_birthDate", "active", "birthDate", "deceasedBoolean",
                                            "gender", "id", "identifier", "name", "resourceType"});
  CHECK(is_subsetted(p));
  // The existing tag and versionId stay; SUBSETTED is appended.
  CHECK(p.at("meta").at("versionId") == "3");
  CHECK(p.at("meta").at("tag").as_array().size() == 2);
  // Inside a kept element only summary children stay: the name's extension goes, and the
  // name holding nothing else goes altogether.
  CHECK(p.at("name") == parse(R"({"n":[{"family":"Chalmers","given":["Peter"]}]})").at("n"));
  // The primitive's extension companion follows its element, whole.
  CHECK(p.at("_birthDate") == parse(kPatient).at("_birthDate"));
  CHECK(validate_structure(p).empty());
}

TEST_CASE("_summary=true keeps Observation's choice value by typed name and mandatory elements") {
  const json::object o = summarised(kObservation, SummaryMode::kTrue);
  CHECK(keys(o) == std::vector<std::string>{"_status", "code", "component", "effectiveDateTime",
                                            "id", "resourceType", "status", "subject",
                                            "valueQuantity"});
  CHECK(serialize_json(o.at("valueQuantity")) == R"({"value":67.50,"unit":"kg"})");
  CHECK(o.at("component") == parse(R"({"c":[{"code":{"text":"c"},"valueString":"x"}]})").at("c"));
  CHECK(is_subsetted(o));
  CHECK(validate_structure(o).empty());
}

TEST_CASE("_summary=true keeps mandatory elements that are not summary elements") {
  // Appointment.participant is min 1 but not isSummary; dropping it would make the answer
  // invalid. Inside it, period is not a summary element.
  const json::object a = summarised(
      R"({"resourceType":"Appointment","status":"booked","comment":"c",
          "participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted",
                          "period":{"start":"2020-01-01"}}]})",
      SummaryMode::kTrue);
  CHECK(keys(a) == std::vector<std::string>{"participant", "resourceType", "status"});
  CHECK(a.at("participant") ==
        parse(R"({"p":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]})").at("p"));
  CHECK(validate_structure(a).empty());
}

TEST_CASE("_summary=true keeps a modifier extension although DomainResource does not mark it") {
  const json::object p = summarised(
      R"({"resourceType":"Patient","modifierExtension":[{"url":"urn:m","valueBoolean":true}],
          "gender":"female"})",
      SummaryMode::kTrue);
  CHECK(keys(p) == std::vector<std::string>{"gender", "modifierExtension", "resourceType"});
  CHECK(p.at("modifierExtension").as_array()[0].at("valueBoolean") == true);  // stays whole
  CHECK_FALSE(is_subsetted(p));
}

TEST_CASE("_summary=true on a resource holding only summary elements adds no tag") {
  constexpr std::string_view text = R"({"resourceType":"Patient","id":"p","gender":"male",
      "name":[{"family":"X"}]})";
  CHECK(summarised(text, SummaryMode::kTrue) == parse(text));
}

TEST_CASE("_summary=true summarises bundle entries per their own type and drops contained") {
  const json::object b = summarised(
      R"({"resourceType":"Bundle","type":"searchset","total":2,
          "entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a",
                      "contained":[{"resourceType":"Organization","id":"o","name":"Org"}],
                      "managingOrganization":{"reference":"#o"},"maritalStatus":{"text":"m"}}},
                   {"fullUrl":"urn:uuid:2","resource":{"resourceType":"Observation","id":"b",
                      "status":"final","code":{"text":"c"}}}]})",
      SummaryMode::kTrue);
  const json::array& entries = b.at("entry").as_array();
  REQUIRE(entries.size() == 2);
  const json::object& patient = entries[0].at("resource").as_object();
  CHECK(keys(patient) == std::vector<std::string>{"id", "managingOrganization", "resourceType"});
  CHECK(is_subsetted(patient));
  const json::object& observation = entries[1].at("resource").as_object();
  CHECK_FALSE(is_subsetted(observation));
  CHECK_FALSE(observation.contains("meta"));
  CHECK(is_subsetted(b));  // something inside it went
  CHECK(validate_structure(b).empty());
}

TEST_CASE("_summary=text keeps text, id, meta and the top-level mandatory elements whole") {
  const json::object o = summarised(kObservation, SummaryMode::kText);
  CHECK(keys(o) ==
        std::vector<std::string>{"_status", "code", "id", "resourceType", "status", "text"});
  CHECK(o.at("code") == parse(kObservation).at("code"));
  CHECK(is_subsetted(o));
  CHECK(validate_structure(o).empty());

  const json::object p = summarised(kPatient, SummaryMode::kText);
  CHECK(keys(p) == std::vector<std::string>{"id", "resourceType", "text"});
  CHECK(is_subsetted(p));
}

TEST_CASE("_summary=data removes only the narrative, and tags only when there was one") {
  json::object expected = parse(kPatient);
  expected.erase("text");
  json::object p = summarised(kPatient, SummaryMode::kData);
  CHECK(is_subsetted(p));
  p.at("meta").as_object().at("tag").as_array().pop_back();
  CHECK(p == expected);

  constexpr std::string_view plain = R"({"resourceType":"Patient","gender":"male"})";
  CHECK(summarised(plain, SummaryMode::kData) == parse(plain));
}

TEST_CASE("SUBSETTED is added once, creating meta when needed") {
  json::object p = summarised(R"({"resourceType":"Patient","text":{"status":"empty",
      "div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"/>"},"photo":[{"url":"urn:x"}]})",
                              SummaryMode::kData);
  CHECK(is_subsetted(p));
  // A second shaping that removes something again does not repeat the tag.
  apply_summary(p, SummaryMode::kTrue);
  CHECK(keys(p) == std::vector<std::string>{"resourceType"});
  CHECK(is_subsetted(p));
  CHECK(p.at("meta").at("tag").as_array().size() == 1);
}

TEST_CASE("a resource without a known resourceType is left alone") {
  constexpr std::string_view text = R"({"resourceType":"Nonsense","text":{"status":"empty"}})";
  CHECK(summarised(text, SummaryMode::kData) == parse(text));
  CHECK(summarised(text, SummaryMode::kTrue) == parse(text));
  json::object o = parse(text);
  CHECK_FALSE(apply_elements(o, {"text"}).ok());
}

TEST_CASE("_elements=name,birthDate keeps those plus id, meta and the modifiers") {
  const json::object p = with_elements(kPatient, {"name", "birthDate"});
  // Patient.active and deceased[x] are modifier elements, so they stay; gender and the rest go.
  CHECK(keys(p) == std::vector<std::string>{"_birthDate", "active", "birthDate", "deceasedBoolean",
                                            "id", "name", "resourceType"});
  CHECK(p.at("name") == parse(kPatient).at("name"));  // listed elements stay whole
  CHECK(is_subsetted(p));
  CHECK(p.at("meta").at("versionId") == "3");
}

TEST_CASE("_elements accepts a choice element by base or typed name and keeps mandatory ones") {
  for (const char* name : {"value", "valueQuantity"}) {
    CAPTURE(name);
    const json::object o = with_elements(kObservation, {name});
    CHECK(keys(o) == std::vector<std::string>{"_status", "code", "id", "resourceType", "status",
                                              "valueQuantity"});
    CHECK(is_subsetted(o));
    CHECK(validate_structure(o).empty());
  }
}

TEST_CASE("_elements that keep everything present add no tag; empty names are ignored") {
  constexpr std::string_view text = R"({"resourceType":"Patient","id":"p","gender":"male"})";
  CHECK(with_elements(text, {"gender", ""}) == parse(text));
}

TEST_CASE("_elements naming unknown elements is invalid and leaves the resource untouched") {
  json::object p = parse(kPatient);
  auto status = apply_elements(p, {"name", "nickname", "name.family", "valueQuantity"});
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == cg::ErrorKind::kInvalid);
  CHECK(status.error().message.find("nickname") != std::string::npos);
  CHECK(status.error().message.find("name.family") != std::string::npos);
  CHECK(status.error().message.find("valueQuantity") != std::string::npos);
  CHECK(p == parse(kPatient));
}

TEST_CASE("every JSON example stays structurally valid in every summary mode and with _elements") {
  const std::filesystem::path dir = std::filesystem::path(CG_SHARED_DATA) / "fhir-examples";
  if (!std::filesystem::is_directory(dir)) {
    MESSAGE("skipped: " << dir.string() << " is absent");
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    CAPTURE(name);
    const json::object original = parse(read_file(file));
    // Issues the example has on its own (bundle-questionnaire.json's missing linkIds).
    const auto known = validate_structure(original);
    auto is_known = [&](const ValidationIssue& issue) {
      return std::any_of(known.begin(), known.end(),
                         [&](const ValidationIssue& k) { return k.path == issue.path; });
    };
    for (SummaryMode mode :
         {SummaryMode::kTrue, SummaryMode::kText, SummaryMode::kData, SummaryMode::kFalse}) {
      CAPTURE(static_cast<int>(mode));
      json::object shaped = original;
      apply_summary(shaped, mode);
      auto issues = validate_structure(shaped);
      std::erase_if(issues, is_known);
      CHECK_MESSAGE(issues.empty(), describe(issues));
      CHECK(is_subsetted(shaped) == (mode != SummaryMode::kFalse && shaped != original));
    }
    // _elements=id: only identity, mandatory and modifier elements remain, all whole, so not
    // even a required element goes missing.
    json::object shaped = original;
    REQUIRE(apply_elements(shaped, {"id"}).ok());
    CHECK(is_subsetted(shaped) == (shaped != original));
    auto issues = validate_structure(shaped);
    std::erase_if(issues, is_known);
    CHECK_MESSAGE(issues.empty(), describe(issues));
  }
}
