#include "protocols/fhir/model/xml.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "protocols/fhir/model/json.hpp"

using namespace cg::fhir;
namespace json = boost::json;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json::object parse_object(std::string_view text) {
  auto v = parse_json(text);
  REQUIRE(v.ok());
  REQUIRE(v->is_object());
  return v->get_object();
}

// Example files of the shared corpus with the given extension, sorted; empty when absent.
std::vector<std::filesystem::path> examples(std::string_view extension) {
  std::vector<std::filesystem::path> files;
  const std::filesystem::path dir = std::filesystem::path(CG_SHARED_DATA) / "fhir-examples";
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == extension) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

json::object round_trip(const json::object& resource) {
  auto xml = resource_to_xml(resource);
  REQUIRE_MESSAGE(xml.ok(), xml.error().message << " at " << xml.error().location);
  auto back = resource_from_xml(*xml);
  REQUIRE_MESSAGE(back.ok(), back.error().message << " at " << back.error().location << "\n"
                                                  << *xml);
  return *back;
}

}  // namespace

TEST_CASE("primitives become value attributes in definition order") {
  auto patient =
      parse_object(R"({"resourceType":"Patient","birthDate":"1970-01-02","active":true,"id":"p1",)"
                   R"("name":[{"family":"Chalmers","given":["Peter","James"]}]})");
  auto xml = resource_to_xml(patient);
  REQUIRE(xml.ok());
  CHECK(*xml == R"(<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir">)"
                R"(<id value="p1"/><active value="true"/><name><family value="Chalmers"/>)"
                R"(<given value="Peter"/><given value="James"/></name>)"
                R"(<birthDate value="1970-01-02"/></Patient>)");
  CHECK(json::value(round_trip(patient)) == json::value(patient));
}

TEST_CASE("numbers and booleans get their JSON types back from XML") {
  auto xml = R"(<Observation xmlns="http://hl7.org/fhir"><status value="final"/>
    <code><text value="x"/></code><valueQuantity><value value="1.50"/></valueQuantity>
    <component><code><text value="n"/></code><valueInteger value="-3"/></component>
    <component><code><text value="b"/></code><valueBoolean value="false"/></component>
    </Observation>)";
  auto r = resource_from_xml(xml);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(serialize_json(*r) ==
        R"({"resourceType":"Observation","status":"final","code":{"text":"x"},)"
        R"("valueQuantity":{"value":1.50},"component":[{"code":{"text":"n"},"valueInteger":-3},)"
        R"({"code":{"text":"b"},"valueBoolean":false}]})");
}

TEST_CASE("primitive ids and extensions map to _name with nulls aligned in arrays") {
  auto patient = parse_object(R"({"resourceType":"Patient","name":[{
      "given":["Peter",null,"Jim"],
      "_given":[null,{"extension":[{"url":"http://e/x","valueString":"no value"}]},{"id":"g3"}]}],
      "_birthDate":{"id":"b1","extension":[{"url":"http://e/t","valueDateTime":"1970-01-02T10:00:00Z"}]}})");
  auto xml = resource_to_xml(patient);
  REQUIRE(xml.ok());
  CHECK(xml->find(R"(<given id="g3" value="Jim"/>)") != std::string::npos);
  CHECK(xml->find(R"(<birthDate id="b1"><extension url="http://e/t">)") != std::string::npos);
  CHECK(json::value(round_trip(patient)) == json::value(patient));
}

TEST_CASE("contained and bundled resources are wrapped in their type element") {
  auto bundle = parse_object(R"({"resourceType":"Bundle","type":"collection","entry":[
      {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a",
        "contained":[{"resourceType":"Organization","id":"o","name":"Org"}],
        "managingOrganization":{"reference":"#o"}}}]})");
  auto xml = resource_to_xml(bundle);
  REQUIRE(xml.ok());
  CHECK(xml->find("<resource><Patient><id value=\"a\"/><contained><Organization>") !=
        std::string::npos);
  CHECK(json::value(round_trip(bundle)) == json::value(bundle));
}

TEST_CASE("the narrative div is embedded as XHTML and comes back as the same text") {
  auto patient = parse_object(R"({"resourceType":"Patient","text":{"status":"generated",
      "div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">a &amp; b<br/><!-- c --><p class='x'>&lt;d&gt;</p></div>"}})");
  auto xml = resource_to_xml(patient);
  REQUIRE(xml.ok());
  CHECK(
      xml->find(
          R"(<status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">a &amp; b<br/>)") !=
      std::string::npos);
  CHECK(json::value(round_trip(patient)) == json::value(patient));
}

TEST_CASE("a div that is not one XHTML element is refused") {
  for (const char* div : {"plain text", "<div>no namespace</div>",
                          "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div><p/>",
                          "<div xmlns=\"http://www.w3.org/1999/xhtml\">unclosed"}) {
    json::object p = parse_object(R"({"resourceType":"Patient","text":{"status":"generated"}})");
    p["text"].get_object()["div"] = div;
    auto xml = resource_to_xml(p);
    CHECK_FALSE(xml.ok());
    CHECK_FALSE(check_narrative_div(div).ok());
  }
}

TEST_CASE("attribute values keep tabs, newlines and markup characters") {
  auto p = parse_object(R"({"resourceType":"Patient","name":[{"text":"a\tb\nc\r\"<&>'"}]})");
  CHECK(json::value(round_trip(p)) == json::value(p));
}

TEST_CASE("JSON that does not fit the definitions cannot be written as XML") {
  auto unknown = resource_to_xml(parse_object(R"({"resourceType":"Patient","foo":1})"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().location == "Patient.foo");
  CHECK_FALSE(resource_to_xml(parse_object(R"({"resourceType":"Nope"})")).ok());
  CHECK_FALSE(resource_to_xml(parse_object(R"({"resourceType":"Patient","active":"yes"})")).ok());
  CHECK_FALSE(
      resource_to_xml(parse_object(R"({"resourceType":"Patient","gender":["male"]})")).ok());
  CHECK_FALSE(
      resource_to_xml(parse_object(R"({"resourceType":"Patient","name":{"text":"x"}})")).ok());
  CHECK_FALSE(
      resource_to_xml(
          parse_object(R"({"resourceType":"Observation","valueString":"a","valueBoolean":true})"))
          .ok());
}

TEST_CASE("unknown elements and attributes are invalid and name their path") {
  auto r = resource_from_xml(
      R"(<Patient xmlns="http://hl7.org/fhir"><name><family value="x"/><nick value="y"/></name></Patient>)");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == cg::ErrorKind::kInvalid);
  CHECK(r.error().location == "Patient.name[0].nick");
  auto a = resource_from_xml(
      R"(<Patient xmlns="http://hl7.org/fhir"><active value="true" x="1"/></Patient>)");
  REQUIRE_FALSE(a.ok());
  CHECK(a.error().location == "Patient.active.x");
  CHECK_FALSE(
      resource_from_xml(R"(<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>)")
          .ok());
  CHECK_FALSE(
      resource_from_xml(
          R"(<Patient xmlns="http://hl7.org/fhir"><gender value="male"/><gender value="male"/></Patient>)")
          .ok());
  CHECK_FALSE(resource_from_xml(R"(<Patient><active value="true"/></Patient>)").ok());
  CHECK_FALSE(resource_from_xml(R"(<Nope xmlns="http://hl7.org/fhir"/>)").ok());
  CHECK_FALSE(resource_from_xml(R"(<Patient xmlns="http://hl7.org/fhir">text</Patient>)").ok());
}

TEST_CASE("malformed XML and DOCTYPE declarations are refused") {
  auto bad =
      resource_from_xml("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"></Patient>");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == cg::ErrorKind::kInvalid);
  CHECK_FALSE(resource_from_xml("").ok());
  auto xxe = resource_from_xml(
      "<?xml version=\"1.0\"?><!DOCTYPE Patient [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
      "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&x;\"/></Patient>");
  REQUIRE_FALSE(xxe.ok());
  CHECK(xxe.error().message.find("DOCTYPE") != std::string::npos);
}

TEST_CASE("every JSON example survives JSON to XML to JSON unchanged") {
  auto files = examples(".json");
  if (files.empty()) {
    MESSAGE("skipped: " << CG_SHARED_DATA << "/fhir-examples is absent");
    return;
  }
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    auto value = parse_json(read_file(file));
    REQUIRE(value.ok());
    REQUIRE(value->is_object());
    CHECK(json::value(round_trip(value->get_object())) == *value);
  }
}

TEST_CASE("every XML example is stable through XML to JSON to XML to JSON") {
  auto files = examples(".xml");
  if (files.empty()) {
    MESSAGE("skipped: " << CG_SHARED_DATA << "/fhir-examples is absent");
    return;
  }
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    auto first = resource_from_xml(read_file(file));
    REQUIRE_MESSAGE(first.ok(), first.error().message << " at " << first.error().location);
    auto second = round_trip(*first);
    CHECK(json::value(second) == json::value(*first));
    // The JSON form also survives the JSON codec.
    auto reparsed = parse_json(serialize_json(json::value(*first)));
    REQUIRE(reparsed.ok());
    CHECK(*reparsed == json::value(*first));
  }
}

TEST_CASE("the div source text is cut exactly, whatever comments and CDATA contain") {
  const std::string div =
      "<div xmlns=\"http://www.w3.org/1999/xhtml\"><!-- </div> --><div>in<br/></div>"
      "<![CDATA[ </div> ]]><p title='a>b'>x</p></div>";
  const std::string xml =
      "<Patient xmlns=\"http://hl7.org/fhir\"><text><status value=\"generated\"/>" + div +
      "</text><active value=\"true\"/></Patient>";
  auto r = resource_from_xml(xml);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(r->at("text").at("div").as_string() == div);
  CHECK(r->at("active").as_bool());
  auto back = resource_to_xml(*r);
  REQUIRE(back.ok());
  CHECK(back->find(div) != std::string::npos);
}

TEST_CASE("schema location attributes and comments are ignored") {
  auto r = resource_from_xml(
      "<?xml version=\"1.0\"?><!-- c --><Patient xmlns=\"http://hl7.org/fhir\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://hl7.org/fhir patient.xsd\"><!-- c --><id "
      "value=\"x\"/></Patient>");
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  CHECK(serialize_json(json::value(*r)) == R"({"resourceType":"Patient","id":"x"})");
}
