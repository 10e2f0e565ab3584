#include "gateway/audit_search.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::gateway;

namespace {

Result<AuditSearch> parse(std::string_view query, bool strict = false) {
  auto params = fhir::parse_query(query);
  REQUIRE(params.ok());
  return parse_audit_search(*params, strict, {50, 1000}, 1'790'000'000'000);
}

const storage::AuditCriterion& only(const AuditSearch& s) {
  REQUIRE(s.query.all_of.size() == 1);
  return s.query.all_of.front();
}

}  // namespace

TEST_CASE("ITI-81 tokens: system|code, code, alternatives, and the chained identifier names") {
  auto s = parse("type=http://dicom.nema.org/resources/ontology/DCM|110110");
  REQUIRE(s.ok());
  CHECK(only(*s).param == "type");
  REQUIRE(only(*s).any_of.size() == 1);
  CHECK(only(*s).any_of[0].system == "http://dicom.nema.org/resources/ontology/DCM");
  CHECK(only(*s).any_of[0].code == "110110");

  s = parse("subtype=ITI-8,ITI-9");
  REQUIRE(s.ok());
  REQUIRE(only(*s).any_of.size() == 2);
  CHECK(only(*s).any_of[1].code == "ITI-9");
  CHECK(only(*s).any_of[1].system.empty());

  s = parse("patient.identifier=urn:oid:1.2.3|7627199&agent.identifier=PKL\\|SAP-ISH");
  REQUIRE(s.ok());
  REQUIRE(s->query.all_of.size() == 2);
  CHECK(s->query.all_of[0].param == "patient-identifier");
  CHECK(s->query.all_of[0].any_of[0].system == "urn:oid:1.2.3");
  CHECK(s->query.all_of[1].param == "agent-identifier");
  CHECK(s->query.all_of[1].any_of[0].code == "PKL|SAP-ISH");

  s = parse("entity-identifier=x&entity.identifier=y");
  REQUIRE(s.ok());
  CHECK(s->query.all_of[0].param == "entity-identifier");
  CHECK(s->query.all_of[1].param == "entity-identifier");
  CHECK(s->used == "entity-identifier=x&entity.identifier=y");
}

TEST_CASE("references: Type/id, an absolute URL, and a bare patient id") {
  auto s = parse("patient=Patient/p1,p2,http://gw/fhir/Patient/p3");
  REQUIRE(s.ok());
  REQUIRE(only(*s).any_of.size() == 3);
  CHECK(only(*s).any_of[0].code == "Patient/p1");
  CHECK(only(*s).any_of[1].code == "Patient/p2");
  CHECK(only(*s).any_of[2].code == "Patient/p3");
  CHECK_FALSE(parse("patient=Observation/1").ok());
  CHECK_FALSE(parse("agent=7").ok());  // an agent can be of several types
  s = parse("agent=Practitioner/7");
  REQUIRE(s.ok());
  CHECK(only(*s).any_of[0].code == "Practitioner/7");
  CHECK_FALSE(parse("entity=Observation/").ok());
}

TEST_CASE("date prefixes narrow the recorded range; repeated dates AND") {
  auto s = parse("date=2026-11-21");
  REQUIRE(s.ok());
  CHECK(*s->query.recorded_from_ms == 1'795'219'200'000);
  CHECK(*s->query.recorded_to_ms == 1'795'305'600'000);

  s = parse("date=ge2026-11-21T10:00:00Z&date=lt2026-11-21T11:00:00Z");
  REQUIRE(s.ok());
  CHECK(*s->query.recorded_from_ms == 1'795'255'200'000);
  CHECK(*s->query.recorded_to_ms == 1'795'258'800'000);

  s = parse("date=gt2026");
  REQUIRE(s.ok());
  CHECK(*s->query.recorded_from_ms == 1'798'761'600'000);  // 2027-01-01
  CHECK_FALSE(s->query.recorded_to_ms.has_value());

  s = parse("date=le2026-11");
  REQUIRE(s.ok());
  CHECK(*s->query.recorded_to_ms == 1'796'083'200'000);  // 2026-12-01

  CHECK_FALSE(parse("date=ne2026").ok());
  CHECK_FALSE(parse("date=2026,2027").ok());
  CHECK_FALSE(parse("date=yesterday").ok());
}

TEST_CASE("paging and result parameters") {
  auto s = parse("_count=5000&_cursor=42&_format=json");
  REQUIRE(s.ok());
  CHECK(s->query.count == 1000);
  CHECK(*s->query.before_id == 42);
  CHECK(s->used == "_count=1000&_format=json");
  CHECK(parse("").value().query.count == 50);
  CHECK_FALSE(parse("_count=-1").ok());
  CHECK_FALSE(parse("_cursor=abc").ok());
  CHECK(parse("_sort=-date").ok());
  CHECK_FALSE(parse("_sort=date").ok());
}

TEST_CASE("unknown parameters: ignored when lenient, refused when strict; modifiers refused") {
  auto lenient = parse("outcome=0&whatever=1");
  REQUIRE(lenient.ok());
  CHECK(only(*lenient).param == "outcome");
  CHECK(lenient->used == "outcome=0");
  auto strict = parse("outcome=0&whatever=1", true);
  REQUIRE_FALSE(strict.ok());
  CHECK(strict.error().message.find("whatever") != std::string::npos);
  CHECK_FALSE(parse("type:not=110110").ok());
  CHECK_FALSE(parse("type=").ok());
}

TEST_CASE("_summary=count and _total") {
  auto s = parse("_summary=count&type=110110");
  REQUIRE(s.ok());
  CHECK(s->count_only);
  s = parse("_total=accurate");
  REQUIRE(s.ok());
  CHECK(s->with_total);
  CHECK_FALSE(parse("_total=none").value().with_total);
  CHECK_FALSE(parse("_summary=true").ok());
  CHECK_FALSE(parse("_total=all").ok());
}
