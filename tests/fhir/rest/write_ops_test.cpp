#include "protocols/fhir/rest/write_ops.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "temp_store.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::fhir;
namespace json = boost::json;

namespace {

json::object patient(std::string_view family, std::string_view birth_date) {
  auto v = parse_json(R"({"resourceType":"Patient","name":[{"family":")" + std::string(family) +
                      R"("}],"birthDate":")" + std::string(birth_date) + R"("})");
  REQUIRE(v.ok());
  return v->as_object();
}

Criteria criteria(const std::string& type, std::string_view query) {
  auto c = parse_criteria(type, query);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  return std::move(c).value();
}

// The error of criteria that must be refused; every refusal is a 400 saying what it is.
Error refusal(const std::string& type, std::string_view query) {
  auto c = parse_criteria(type, query);
  REQUIRE_MESSAGE(!c.ok(), query);
  CHECK(c.error().kind == ErrorKind::kInvalid);
  CHECK_MESSAGE(c.error().message.starts_with("conditional criteria: "), c.error().message);
  return c.error();
}

// Runs `fn(ctx)` as one job and returns its outcome.
template <class Fn>
Result<WriteOutcome> run(storage::ResourceStore& store, Fn fn) {
  std::optional<Result<WriteOutcome>> out;
  Status s = store.write([&](storage::WriteContext& ctx) -> Status {
    out.emplace(fn(ctx));
    return out->ok() ? ok_status() : Status(out->error());
  });
  if (!out) return s.take_error();
  return std::move(*out);
}

std::string create(storage::ResourceStore& store, json::object resource) {
  std::string id = new_resource_id();
  auto out = run(store, [&](storage::WriteContext& ctx) {
    return apply_create(ctx, std::string(resource.at("resourceType").as_string()), id, resource,
                        std::nullopt);
  });
  REQUIRE(out.ok());
  return id;
}

}  // namespace

TEST_CASE("criteria are a full type search, planned for two matches under the writer's budget") {
  auto c = criteria("Patient", "name=okafor&birthdate=1990-04-01");
  CHECK(c.type == "Patient");
  CHECK(c.query.types == std::vector<std::string>{"Patient"});
  CHECK(c.query.where.all_of.size() == 2);
  CHECK(c.query.count == 2);
  CHECK(c.query.budget.max_ms == storage::kWriterQueryBudget.max_ms);
  CHECK(c.query.budget.max_steps == storage::kWriterQueryBudget.max_steps);
  CHECK(c.query.sort.empty());
  CHECK(c.query.includes.empty());
  // Every parameter type, modifier, chain and _has works as in search.
  for (std::string_view q :
       {"identifier=urn:sys|42", "_id=a,b", "gender:not=male", "name:exact=Okafor",
        "birthdate=ge1990&birthdate=lt2000", "organization.name=Clinic",
        "general-practitioner:Practitioner.identifier=urn:npi|1",
        "_has:Observation:patient:code=1234-5", "_lastUpdated=gt2020", "identifier=x&_format=json",
        "telecom:missing=true"}) {
    CAPTURE(q);
    CHECK(parse_criteria("Patient", q).ok());
  }
  CHECK(parse_criteria("Observation", "value-quantity=gt5|http://unitsofmeasure.org|mg").ok());
}

TEST_CASE("unknown and unsupported parameters are refused, never dropped from the match") {
  CHECK(refusal("Patient", "nonsense=1").location == "nonsense");
  CHECK(refusal("Patient", "identifier=urn:sys|42&nonsense=1").location == "nonsense");
  CHECK(refusal("Patient", "_filter=name eq x").location == "_filter");
  CHECK(refusal("Patient", "_text=x").location == "_text");
  CHECK(refusal("Patient", "_content=x").location == "_content");
  CHECK(refusal("Patient", "subject.nothing=1").location == "subject.nothing");
  CHECK(refusal("Patient", "birthdate=1990-13-01").location == "birthdate");
}

TEST_CASE("result parameters are refused: a match shows nothing") {
  for (std::string_view p : {"_sort=name", "_count=1", "_total=accurate", "_summary=count",
                             "_elements=name", "_include=Patient:organization",
                             "_revinclude=Observation:subject", "_cursor=abc", "_type=Patient"}) {
    CAPTURE(p);
    auto e = refusal("Patient", "identifier=urn:sys|42&" + std::string(p));
    CHECK(e.location == p.substr(0, p.find('=')));
  }
}

TEST_CASE("no criteria is refused: it would match the whole type") {
  CHECK(refusal("Patient", "").message.find("needs criteria") != std::string::npos);
  CHECK(refusal("Patient", "_format=json").message.find("needs criteria") != std::string::npos);
}

TEST_CASE(":in, :not-in, token :above/:below and what search does not evaluate are refused") {
  CHECK(refusal("Observation", "code:in=http://example.org/vs").location == "code:in");
  CHECK(refusal("Observation", "code:not-in=http://example.org/vs").location == "code:not-in");
  CHECK(refusal("Observation", "code:below=http://loinc.org|1").location == "code:below");
  CHECK(refusal("Patient", "_lastUpdated:missing=true").location == "_lastUpdated:missing");
}

TEST_CASE("conditional update by a date, a string or a chain: none creates, one updates") {
  testing::TempStore store;
  std::string org = create(*store, parse_json(R"({"resourceType":"Organization",
      "name":"Clinic Aurora"})")
                                       ->as_object());
  auto p = patient("Okafor", "1990-04-01");
  p["managingOrganization"] = json::object{{"reference", "Organization/" + org}};
  std::string id = create(*store, p);
  create(*store, patient("Mensah", "1985-02-03"));

  for (std::string_view q : {"birthdate=1990-04", "name=okaf", "organization.name=clinic",
                             "organization:Organization.name:contains=aurora&birthdate=lt2000"}) {
    CAPTURE(q);
    auto out = run(*store, [&](storage::WriteContext& ctx) {
      return apply_conditional_update(ctx, criteria("Patient", q), "unused", p, std::nullopt);
    });
    REQUIRE_MESSAGE(out.ok(), (out.ok() ? "" : out.error().message));
    CHECK(out->status == 200);
    CHECK(out->stored->id == id);
  }
  auto created = run(*store, [&](storage::WriteContext& ctx) {
    return apply_conditional_update(ctx, criteria("Patient", "birthdate=2001"), "new-id",
                                    patient("New", "2001-01-01"), std::nullopt);
  });
  REQUIRE(created.ok());
  CHECK(created->status == 201);
  CHECK(created->stored->id == "new-id");
}

TEST_CASE("several matches are 412 for conditional create, update and delete; nothing changes") {
  testing::TempStore store;
  create(*store, patient("Okafor", "1990-04-01"));
  create(*store, patient("Okafor", "1991-05-02"));
  auto before = *store->latest_seq();
  auto several = criteria("Patient", "name=Okafor");
  auto multiple = [](const Result<WriteOutcome>& r) {
    return !r.ok() && r.error().kind == ErrorKind::kMultipleMatches;
  };
  CHECK(multiple(run(*store, [&](storage::WriteContext& ctx) {
    return apply_create(ctx, "Patient", "x", patient("Okafor", "1990-04-01"), several);
  })));
  CHECK(multiple(run(*store, [&](storage::WriteContext& ctx) {
    return apply_conditional_update(ctx, several, "x", patient("Okafor", "1990-04-01"),
                                    std::nullopt);
  })));
  CHECK(multiple(run(
      *store, [&](storage::WriteContext& ctx) { return apply_conditional_delete(ctx, several); })));
  CHECK(*store->latest_seq() == before);
  auto none = run(*store, [&](storage::WriteContext& ctx) {
    return apply_conditional_delete(ctx, criteria("Patient", "name=Nobody"));
  });
  REQUIRE(none.ok());
  CHECK(none->status == 204);
  CHECK_FALSE(none->stored.has_value());
}

TEST_CASE("a conditional create sees a resource created by an earlier job of its batch") {
  testing::TempStore store;
  storage::testing::WriterGate gate;
  storage::testing::DoneLog log;
  store->submit(gate.job(), log.callback());
  REQUIRE(gate.wait_entered());
  auto if_none_exist = criteria("Patient", "name=Okafor&birthdate=1990-04-01");
  std::vector<WriteOutcome> outcomes(2);
  for (int i = 0; i < 2; ++i) {
    store->submit(
        [&, i](storage::WriteContext& ctx) -> Status {
          auto out = apply_create(ctx, "Patient", "p" + std::to_string(i),
                                  patient("Okafor", "1990-04-01"), if_none_exist);
          if (!out) return out.take_error();
          outcomes[i] = std::move(*out);
          return ok_status();
        },
        log.callback());
  }
  gate.open();
  REQUIRE(log.wait_for(3));
  for (const auto& s : log.statuses()) CHECK(s.ok());
  CHECK(store->stats().commits == 2);  // the gate's batch, then both creates together
  CHECK(outcomes[0].status == 201);
  CHECK(outcomes[1].status == 200);
  REQUIRE(outcomes[1].stored.has_value());
  CHECK(outcomes[1].stored->id == "p0");
  auto p1 = store->head("Patient", "p1");
  REQUIRE(p1.ok());
  CHECK_FALSE(p1->has_value());
}
