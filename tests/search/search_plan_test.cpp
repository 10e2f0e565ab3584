#include "protocols/fhir/search/search_plan.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "protocols/fhir/index/indexer.hpp"
#include "protocols/fhir/search/compartment_criteria.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::fhir::search;
namespace st = cg::storage;

namespace {

constexpr std::int64_t kJan2026 = 1767225600000;  // 2026-01-01T00:00:00Z

struct Param {
  std::string name;
  std::string value;
};

SearchRequest parse(std::string_view type, std::vector<Param> params) {
  auto r = parse_search(type, params, SearchLimits{}, /*strict=*/true, kJan2026);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return std::move(r).value();
}

st::IndexQuery plan(std::string_view type, std::vector<Param> params, PlanOptions options = {}) {
  auto q = plan_search(parse(type, std::move(params)), options);
  REQUIRE_MESSAGE(q.ok(), (q.ok() ? "" : q.error().message));
  return std::move(q).value();
}

// The only condition of a plan with one group of one condition.
template <class T>
T only(const st::IndexQuery& q) {
  REQUIRE(q.where.all_of.size() == 1);
  REQUIRE(q.where.all_of[0].any_of.size() == 1);
  const T* c = std::get_if<T>(&q.where.all_of[0].any_of[0].kind);
  REQUIRE(c != nullptr);
  return *c;
}

Error refused(std::string_view type, std::vector<Param> params) {
  auto q = plan_search(parse(type, std::move(params)));
  REQUIRE_FALSE(q.ok());
  CHECK(q.error().kind == ErrorKind::kInvalid);
  return q.error();
}

}  // namespace

TEST_CASE("strings are normalized like the index; :exact keeps the text for comparison") {
  auto prefix = only<st::StringCond>(plan("Patient", {{"name", "JOSÉ"}}));
  CHECK(prefix.mode == st::StringCond::Mode::kPrefix);
  CHECK(prefix.value == "jose");
  auto exact = only<st::StringCond>(plan("Patient", {{"name:exact", "José"}}));
  CHECK(exact.mode == st::StringCond::Mode::kExact);
  CHECK(exact.value == "José");
  CHECK(exact.normalized == "jose");
  CHECK(only<st::StringCond>(plan("Patient", {{"name:contains", "OSÉ"}})).value == "ose");
}

TEST_CASE("tokens: systems, ORed values, :not as one group per value, :text and :of-type") {
  auto q = plan("Observation", {{"code", "http://loinc.org|1234-5,|x,y"}});
  REQUIRE(q.where.all_of.size() == 1);
  const auto& any = q.where.all_of[0].any_of;
  REQUIRE(any.size() == 3);
  CHECK(std::get<st::TokenCond>(any[0].kind).system ==
        std::optional<std::string>("http://loinc.org"));
  CHECK(std::get<st::TokenCond>(any[1].kind).system == std::optional<std::string>(""));
  CHECK_FALSE(std::get<st::TokenCond>(any[2].kind).system);

  auto negated = plan("Patient", {{"gender:not", "male,female"}});
  REQUIRE(negated.where.all_of.size() == 2);  // neither male nor female
  CHECK(std::get<st::TokenCond>(negated.where.all_of[1].any_of[0].kind).negate);

  auto text = only<st::TokenCond>(plan("Observation", {{"code:text", "Blood Préssure"}}));
  CHECK(text.text == std::optional<std::string>("blood pressure"));
  auto of_type = only<st::TokenCond>(plan(
      "Patient", {{"identifier:of-type", "http://terminology.hl7.org/CodeSystem/v2-0203|MR|4"}}));
  CHECK(of_type.type_code == "MR");
  CHECK(of_type.code == "4");
}

TEST_CASE("dates and numbers carry the parser's ranges and prefixes; repetitions AND") {
  auto q = plan("Patient", {{"birthdate", "ge1980"}, {"birthdate", "lt1990"}});
  REQUIRE(q.where.all_of.size() == 2);
  auto ge = std::get<st::DateCond>(q.where.all_of[0].any_of[0].kind);
  CHECK(ge.range.op == st::RangeOp::kGe);
  CHECK(ge.range.low == 315532800000);   // 1980-01-01
  CHECK(ge.range.high == 347155200000);  // 1981-01-01
  CHECK(std::get<st::DateCond>(q.where.all_of[1].any_of[0].kind).range.op == st::RangeOp::kLt);
  auto n = only<st::NumberCond>(plan("RiskAssessment", {{"probability", "gt0.5"}}));
  CHECK(n.range.op == st::RangeOp::kGt);
  CHECK(n.range.low == doctest::Approx(0.45));
  CHECK(n.range.high == doctest::Approx(0.55));
  auto updated = only<st::LastUpdatedCond>(plan("Patient", {{"_lastUpdated", "gt2026-01-01"}}));
  CHECK(updated.range.high == kJan2026 + 86'400'000);
  CHECK(only<st::IdCond>(plan("Patient", {{"_id", "a,b"}})).ids ==
        std::vector<std::string>{"a", "b"});
}

TEST_CASE("quantities in a UCUM unit are also searched in base units") {
  auto q = plan("Observation", {{"value-quantity", "5.4|http://unitsofmeasure.org|mg"}});
  REQUIRE(q.where.all_of.size() == 1);
  const auto& any = q.where.all_of[0].any_of;
  REQUIRE(any.size() == 2);
  auto raw = std::get<st::QuantityCond>(any[0].kind);
  CHECK_FALSE(raw.canonical);
  CHECK(raw.code == "mg");
  auto base = std::get<st::QuantityCond>(any[1].kind);
  CHECK(base.canonical);
  CHECK(base.code == "g");
  CHECK(base.range.low == doctest::Approx(0.00535));
  CHECK(base.range.high == doctest::Approx(0.00545));
  // A unit outside UCUM, or another system, is compared as written only.
  CHECK(plan("Observation", {{"value-quantity", "5|urn:local|mg"}}).where.all_of[0].any_of.size() ==
        1);
}

TEST_CASE("references, chains and _has become nested filters") {
  auto local = only<st::ReferenceCond>(plan("Observation", {{"subject", "Patient/p1"}}));
  CHECK(local.target_type == "Patient");
  CHECK(local.target_id == "p1");
  auto ident = only<st::ReferenceCond>(plan("Observation", {{"subject:identifier", "urn:mrn|7"}}));
  CHECK(ident.kind == st::ReferenceCond::Kind::kIdentifier);
  CHECK(ident.identifier_value == "7");

  auto chain =
      only<st::ChainCond>(plan("Observation", {{"subject:Patient.organization.name", "acme"}}));
  CHECK(chain.param == "subject");
  CHECK(chain.target_type == "Patient");
  REQUIRE(chain.where.all_of.size() == 1);
  const auto& org = std::get<st::ChainCond>(chain.where.all_of[0].any_of[0].kind);
  CHECK(org.target_type == "Organization");
  CHECK(std::get<st::StringCond>(org.where.all_of[0].any_of[0].kind).value == "acme");

  auto has = only<st::ReverseCond>(plan("Patient", {{"_has:Observation:patient:code", "1234-5"}}));
  CHECK(has.source_type == "Observation");
  CHECK(has.param == "patient");
}

TEST_CASE("result parameters: sort, count, summary=count, total, includes and the cursor") {
  auto q = plan("Observation", {{"_sort", "-date,_id,_lastUpdated"},
                                {"_count", "5"},
                                {"_total", "accurate"},
                                {"_include", "Observation:subject"},
                                {"_revinclude:iterate", "Provenance:target"},
                                {"_cursor", "abc"}});
  REQUIRE(q.sort.size() == 3);
  CHECK(q.sort[0].kind == st::SortSpec::Kind::kParam);
  CHECK(q.sort[0].table == st::IndexTable::kDate);
  CHECK(q.sort[0].descending);
  CHECK(q.sort[1].kind == st::SortSpec::Kind::kId);
  CHECK(q.sort[2].kind == st::SortSpec::Kind::kLastUpdated);
  CHECK(q.count == 5);
  CHECK(q.total);
  REQUIRE(q.includes.size() == 2);
  CHECK(q.includes[0].param == "subject");
  CHECK(q.includes[1].reverse);
  CHECK(q.includes[1].iterate);
  CHECK(q.cursor == "abc");
  auto count = plan("Observation", {{"_summary", "count"}});
  CHECK(count.count == 0);
  CHECK(count.total);
  CHECK(plan("Observation", {}).count == PlanOptions{}.default_count);
}

TEST_CASE("unsupported features are refused naming the parameter") {
  CHECK(refused("Observation", {{"code:in", "http://vs"}}).location == "code:in");
  CHECK(refused("Observation", {{"code:below", "http://loinc.org|1"}}).location == "code:below");
  CHECK(refused("Location", {{"near", "1|2|5|kg"}}).location == "near");
  CHECK(refused("Patient", {{"_id:missing", "true"}}).location == "_id:missing");
}

TEST_CASE("composites: on the root through ordinary parameters, elsewhere through grouped rows") {
  // code-value-quantity's instance is the Observation itself: code and value-quantity rows.
  auto root = only<st::CompositeCond>(
      plan("Observation", {{"code-value-quantity", "http://loinc.org|8480-6$gt100"}}));
  CHECK_FALSE(root.grouped);
  REQUIRE(root.parts.size() == 2);
  CHECK(std::get<st::TokenCond>(root.parts[0].kind).param == "code");
  CHECK(std::get<st::TokenCond>(root.parts[0].kind).code == "8480-6");
  const auto& value = std::get<st::QuantityCond>(root.parts[1].kind);
  CHECK(value.param == "value-quantity");
  CHECK(value.range.op == st::RangeOp::kGt);

  // component-…: only Observation.component instances, as grouped rows.
  auto nested = only<st::CompositeCond>(
      plan("Observation", {{"component-code-value-quantity", "http://loinc.org|8480-6$gt100"}}));
  CHECK(nested.grouped);
  CHECK(std::get<st::TokenCond>(nested.parts[0].kind).param == "component-code-value-quantity$0");
  CHECK(std::get<st::QuantityCond>(nested.parts[1].kind).param ==
        "component-code-value-quantity$1");

  // combo-…: the root like code-value-quantity, the components grouped; a UCUM unit doubles
  // each (as written, and in base units).
  auto combo = plan("Observation",
                    {{"combo-code-value-quantity", "8480-6$100|http://unitsofmeasure.org|mm[Hg]"}});
  REQUIRE(combo.where.all_of.size() == 1);
  const auto& any = combo.where.all_of[0].any_of;
  REQUIRE(any.size() == 4);
  CHECK_FALSE(std::get<st::CompositeCond>(any[0].kind).grouped);
  CHECK_FALSE(std::get<st::CompositeCond>(any[1].kind).grouped);
  CHECK(std::get<st::CompositeCond>(any[2].kind).grouped);
  CHECK(std::get<st::CompositeCond>(any[3].kind).grouped);
  CHECK(
      std::get<st::QuantityCond>(std::get<st::CompositeCond>(any[1].kind).parts[1].kind).canonical);
}

TEST_CASE("a compartment becomes one OR group ANDed with the criteria") {
  auto criteria = compartment_criteria("Patient", "123", "Observation");
  REQUIRE(criteria.ok());
  PlanOptions options;
  options.compartment = *criteria;
  auto q = plan("Observation", {{"code", "x"}}, options);
  REQUIRE(q.where.all_of.size() == 2);
  const auto& group = q.where.all_of[0].any_of;
  CHECK(group.size() == criteria->size());
  for (const auto& c : group) {
    const auto& ref = std::get<st::ReferenceCond>(c.kind);
    CHECK(ref.target_type == "Patient");
    CHECK(ref.target_id == "123");
  }
}

// --- end to end: real resources indexed by the indexer, searched through the store ----------

namespace {

struct Clinic {
  st::testing::TempDir dir;
  std::unique_ptr<st::ResourceStore> store = st::testing::open_store(dir.path());

  void add(std::string_view json) {
    auto resource = st::testing::parse_object(json);
    const std::string type(resource.at("resourceType").as_string());
    const std::string id(resource.at("id").as_string());
    const auto index = fhir::index_resource(resource);
    Status status = store->write([&](st::WriteContext& ctx) -> Status {
      auto v = ctx.put(type, id, resource, index);
      if (!v) return v.take_error();
      return ok_status();
    });
    REQUIRE(status.ok());
  }

  std::set<std::string> find(std::string_view type, std::vector<Param> params,
                             PlanOptions options = {}) {
    auto page = store->search_index(plan(type, std::move(params), std::move(options)));
    REQUIRE_MESSAGE(page.ok(), (page.ok() ? "" : page.error().message));
    std::set<std::string> ids;
    for (const auto& v : page->matches) ids.insert(v.id);
    for (const auto& v : page->included) ids.insert("+" + v.type + "/" + v.id);
    return ids;
  }
};

using Ids = std::set<std::string>;

void load(Clinic& c) {
  c.add(R"({"resourceType":"Organization","id":"org1","name":"Acme Clínica"})");
  c.add(R"({"resourceType":"Patient","id":"p1","name":[{"family":"Müller","given":["José"]}],
           "gender":"male","birthDate":"1985-06-01","managingOrganization":{"reference":"Organization/org1"},
           "identifier":[{"system":"urn:mrn","value":"7"}]})");
  c.add(R"({"resourceType":"Patient","id":"p2","name":[{"family":"Mullins"}],"gender":"female",
           "birthDate":"1992-01-15"})");
  c.add(R"({"resourceType":"Patient","id":"p3","name":[{"family":"Okafor"}]})");
  c.add(R"({"resourceType":"Observation","id":"o1","status":"final",
           "code":{"coding":[{"system":"http://loinc.org","code":"2345-7","display":"Glucose"}]},
           "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-10T08:00:00Z",
           "valueQuantity":{"value":1.000,"system":"http://unitsofmeasure.org","code":"g"}})");
  c.add(R"({"resourceType":"Observation","id":"o2","status":"final",
           "code":{"coding":[{"system":"http://loinc.org","code":"2345-7"}]},
           "subject":{"reference":"Patient/p2"},"effectiveDateTime":"2026-02-10",
           "valueQuantity":{"value":500,"system":"http://unitsofmeasure.org","code":"mg"}})");
  c.add(R"({"resourceType":"RiskAssessment","id":"r1","status":"final",
           "subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.7}]})");
  c.add(R"({"resourceType":"Observation","id":"bp1","status":"final",
           "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
           "effectiveDateTime":"2026-01-20T09:30:00Z",
           "component":[
             {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
              "valueQuantity":{"value":150,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
             {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},
              "valueQuantity":{"value":85,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]})");
  c.add(R"({"resourceType":"Encounter","id":"e1","status":"finished",
           "class":{"code":"AMB"},"period":{"start":"2026-01-01T08:00:00Z","end":"2026-01-03"}})");
  c.add(R"({"resourceType":"ValueSet","id":"vs1","status":"active",
           "url":"http://acme.org/fhir/ValueSet/1"})");
}

}  // namespace

TEST_CASE("end to end: every parameter type finds the resources it should") {
  Clinic c;
  load(c);
  CHECK(c.find("Patient", {{"name", "mul"}}) == Ids{"p1", "p2"});
  CHECK(c.find("Patient", {{"name", "MÜLLER"}}) == Ids{"p1"});
  CHECK(c.find("Patient", {{"name:exact", "Müller"}}) == Ids{"p1"});
  CHECK(c.find("Patient", {{"gender", "male"}}) == Ids{"p1"});
  CHECK(c.find("Patient", {{"gender:not", "male"}}) == Ids{"p2", "p3"});
  CHECK(c.find("Patient", {{"gender:missing", "true"}}) == Ids{"p3"});
  CHECK(c.find("Patient", {{"identifier", "urn:mrn|7"}}) == Ids{"p1"});
  CHECK(c.find("Patient", {{"birthdate", "ge1980"}, {"birthdate", "lt1990"}}) == Ids{"p1"});
  CHECK(c.find("Patient", {{"birthdate", "1992-01"}}) == Ids{"p2"});
  CHECK(c.find("Observation", {{"date", "lt2026-02"}}) == Ids{"o1", "bp1"});
  CHECK(c.find("Observation", {{"code", "http://loinc.org|2345-7"}}) == Ids{"o1", "o2"});
  CHECK(c.find("Observation", {{"code:text", "gluc"}}) == Ids{"o1"});
  CHECK(c.find("Observation", {{"subject", "Patient/p1"}}) == Ids{"o1"});
  CHECK(c.find("Observation", {{"subject:Patient.name", "mullins"}}) == Ids{"o2"});
  CHECK(c.find("Observation", {{"subject:Patient.organization.name", "acme clinica"}}) ==
        Ids{"o1"});
  CHECK(c.find("Patient", {{"_has:Observation:patient:code", "2345-7"}}) == Ids{"p1", "p2"});
  // 1000 mg is 1.000 g: found through the base units; 500 mg is not.
  CHECK(c.find("Observation", {{"value-quantity", "1000|http://unitsofmeasure.org|mg"}}) ==
        Ids{"o1"});
  CHECK(c.find("Observation", {{"value-quantity", "lt1|http://unitsofmeasure.org|g"}}) ==
        Ids{"o2"});
  CHECK(c.find("RiskAssessment", {{"probability", "gt0.5"}}) == Ids{"r1"});
  CHECK(c.find("ValueSet", {{"url:below", "http://acme.org/fhir/"}}) == Ids{"vs1"});
  CHECK(c.find("Observation", {{"_id", "o2"}, {"_include", "Observation:subject"}}) ==
        Ids{"o2", "+Patient/p2"});
  CHECK(c.find("Patient", {{"_id", "p1"}, {"_revinclude", "Observation:subject"}}) ==
        Ids{"p1", "+Observation/o1"});

  auto criteria = compartment_criteria("Patient", "p1", "Observation");
  REQUIRE(criteria.ok());
  PlanOptions options;
  options.compartment = *criteria;
  CHECK(c.find("Observation", {}, options) == Ids{"o1"});
}

TEST_CASE("end to end: composites match inside one instance") {
  Clinic c;
  load(c);
  // Root instance: the Observation's code and its value.
  CHECK(c.find("Observation", {{"code-value-quantity",
                                "http://loinc.org|2345-7$gt0.9|"
                                "http://unitsofmeasure.org|g"}}) == Ids{"o1"});
  CHECK(c.find("Observation",
               {{"code-value-quantity", "2345-7$lt1|http://unitsofmeasure.org|g"}}) == Ids{"o2"});
  // One component: systolic 150 matches, diastolic 150 does not (85 belongs to another
  // component, and 150 to the systolic one).
  CHECK(c.find("Observation", {{"component-code-value-quantity", "8480-6$gt140"}}) == Ids{"bp1"});
  CHECK(c.find("Observation", {{"component-code-value-quantity", "8462-4$gt140"}}).empty());
  CHECK(c.find("Observation", {{"component-code-value-quantity", "8462-4$85"}}) == Ids{"bp1"});
  // combo: the root instance of o1 and the components of bp1.
  CHECK(c.find("Observation", {{"combo-code-value-quantity",
                                "2345-7$1|http://unitsofmeasure.org|g,8480-6$150"}}) ==
        Ids{"o1", "bp1"});
  CHECK(c.find("Observation", {{"combo-code-value-quantity", "85354-9$150"}}).empty());
  CHECK(c.find("Observation", {{"combo-code-value-quantity",
                                "8480-6$150|http://unitsofmeasure.org|mm[Hg]"}}) == Ids{"bp1"});
}

TEST_CASE("end to end: _list, hierarchies with :above/:below, canonical urls with :below") {
  Clinic c;
  load(c);
  c.add(R"({"resourceType":"List","id":"l1","status":"current","mode":"working",
           "entry":[{"item":{"reference":"Patient/p1"}},{"item":{"reference":"Patient/p3"}},
                    {"item":{"reference":"Observation/o2"}}]})");
  CHECK(c.find("Patient", {{"_list", "l1"}}) == Ids{"p1", "p3"});
  CHECK(c.find("Observation", {{"_list", "l1"}}) == Ids{"o2"});
  CHECK(c.find("Patient", {{"_list", "l1"}, {"gender", "male"}}) == Ids{"p1"});
  CHECK(c.find("Patient", {{"_list", "nothing"}}).empty());

  // Region → district → clinic → ward, and a cycle that must not loop.
  c.add(R"({"resourceType":"Location","id":"region","name":"Region"})");
  c.add(R"({"resourceType":"Location","id":"district","partOf":{"reference":"Location/region"}})");
  c.add(R"({"resourceType":"Location","id":"clinic","partOf":{"reference":"Location/district"}})");
  c.add(R"({"resourceType":"Location","id":"ward","partOf":{"reference":"Location/clinic"}})");
  c.add(R"({"resourceType":"Location","id":"a","partOf":{"reference":"Location/b"}})");
  c.add(R"({"resourceType":"Location","id":"b","partOf":{"reference":"Location/a"}})");
  CHECK(c.find("Location", {{"partof:below", "Location/district"}}) == Ids{"clinic", "ward"});
  CHECK(c.find("Location", {{"partof:below", "region"}}) == Ids{"district", "clinic", "ward"});
  CHECK(c.find("Location", {{"partof:above", "Location/ward"}}) ==
        Ids{"clinic", "district", "region"});
  CHECK(c.find("Location", {{"partof:above", "region"}}).empty());
  CHECK(c.find("Location", {{"partof:below", "a"}}) == Ids{"a", "b"});
  CHECK(c.find("Location", {{"partof", "Location/district"}}) == Ids{"clinic"});
  auto not_hierarchy = plan_search(parse("Observation", {{"subject:below", "Patient/p1"}}));
  CHECK_FALSE(not_hierarchy.ok());

  // Canonical references compare their url like uris: below = under the value.
  c.add(R"({"resourceType":"Questionnaire","id":"q1","status":"active",
           "url":"http://acme.org/fhir/Questionnaire/anc"})");
  c.add(R"({"resourceType":"QuestionnaireResponse","id":"qr1","status":"completed",
           "questionnaire":"http://acme.org/fhir/Questionnaire/anc|2"})");
  CHECK(c.find("QuestionnaireResponse", {{"questionnaire:below", "http://acme.org/fhir/"}}) ==
        Ids{"qr1"});
  CHECK(c.find("QuestionnaireResponse",
               {{"questionnaire:above", "http://acme.org/fhir/Questionnaire/anc/v2"}}) ==
        Ids{"qr1"});
  CHECK(c.find("QuestionnaireResponse", {{"questionnaire:below", "http://other.org/"}}).empty());
}

TEST_CASE("end to end: near finds positions within a great-circle distance") {
  Clinic c;
  // Nairobi, Kiambu (~15 km north) and Mombasa (~440 km south-east).
  c.add(
      R"({"resourceType":"Location","id":"nairobi","position":{"latitude":-1.2864,"longitude":36.8172}})");
  c.add(
      R"({"resourceType":"Location","id":"kiambu","position":{"latitude":-1.1714,"longitude":36.8356}})");
  c.add(
      R"({"resourceType":"Location","id":"mombasa","position":{"latitude":-4.0435,"longitude":39.6682}})");
  c.add(R"({"resourceType":"Location","id":"nowhere","name":"no position"})");
  CHECK(c.find("Location", {{"near", "-1.2864|36.8172|1|km"}}) == Ids{"nairobi"});
  CHECK(c.find("Location", {{"near", "-1.2864|36.8172|20|km"}}) == Ids{"nairobi", "kiambu"});
  CHECK(c.find("Location", {{"near", "-1.2864|36.8172|20000|m"}}) == Ids{"nairobi", "kiambu"});
  CHECK(c.find("Location", {{"near", "-1.2864|36.8172|12|km"}}) == Ids{"nairobi"});
  CHECK(c.find("Location", {{"near", "-1.2864|36.8172|500|km"}}) ==
        Ids{"nairobi", "kiambu", "mombasa"});
  CHECK(c.find("Location", {{"near", "-1.2864|36.8172|300|[mi_i]"}}) ==
        Ids{"nairobi", "kiambu", "mombasa"});
  // No distance: the server's default (10 km); no units: km.
  CHECK(c.find("Location", {{"near", "-1.17|36.83"}}) == Ids{"kiambu"});
  CHECK(c.find("Location", {{"near", "-1.2864|36.8172|16"}}) == Ids{"nairobi", "kiambu"});
  CHECK(c.find("Location", {{"near:missing", "true"}}) == Ids{"nowhere"});
}

TEST_CASE("end to end: ANDed date bounds and upper-bound prefixes agree with the rules") {
  Clinic c;
  load(c);
  // Observation.date is single-valued: the two bounds become one range scan.
  CHECK(c.find("Observation", {{"date", "ge2026-01-10"}, {"date", "lt2026-02"}}) ==
        Ids{"o1", "bp1"});
  CHECK(c.find("Observation", {{"date", "gt2026-01-10"}, {"date", "le2026-02-10"}}) ==
        Ids{"bp1", "o2"});
  CHECK(c.find("Observation", {{"date", "gt2026-01-10T08:00:00Z"}}) == Ids{"bp1", "o2"});
  CHECK(c.find("Observation", {{"date", "ge2026-02-10"}}) == Ids{"o2"});
  CHECK(c.find("Observation", {{"date", "ap2026-01-20T09:30:00Z"}}).count("bp1") == 1);
  // A period [Jan 1 08:00, Jan 4): the range above Jan 2 ([Jan 3, ∞)) overlaps it, the range
  // above Jan 3 does not; the range below Jan 2 overlaps it, the range below Jan 1 does not.
  CHECK(c.find("Encounter", {{"date", "gt2026-01-02"}}) == Ids{"e1"});
  CHECK(c.find("Encounter", {{"date", "ge2026-01-02"}}) == Ids{"e1"});
  CHECK(c.find("Encounter", {{"date", "ge2026-01-03"}}).empty());
  CHECK(c.find("Encounter", {{"date", "le2026-01-02"}}) == Ids{"e1"});
  CHECK(c.find("Encounter", {{"date", "le2026-01-01"}}).empty());
  // An open-ended period: its width is the whole time line; the bounds must not overflow.
  c.add(R"({"resourceType":"Encounter","id":"e2","status":"in-progress","class":{"code":"AMB"},
           "period":{"start":"2026-01-05"}})");
  CHECK(c.find("Encounter", {{"date", "gt2030-01-01"}}) == Ids{"e2"});
  CHECK(c.find("Encounter", {{"date", "ge2026-01-02"}}) == Ids{"e1", "e2"});
}
