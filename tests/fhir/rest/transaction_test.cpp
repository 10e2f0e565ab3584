#include "protocols/fhir/rest/transaction.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/json.hpp"
#include "temp_store.hpp"

using namespace cg;
using namespace cg::fhir;
namespace json = boost::json;

namespace {

json::object bundle(std::string_view entries) {
  auto v = parse_json(R"({"resourceType":"Bundle","type":"transaction","entry":[)" +
                      std::string(entries) + "]}");
  REQUIRE_MESSAGE(v.ok(), entries);
  return v->as_object();
}

// Plans and executes `entries` as one job; the plan (with outcomes) on success.
Result<TransactionPlan> execute(storage::ResourceStore& store, std::string_view entries) {
  auto plan = plan_transaction(bundle(entries), 100);
  if (!plan) return plan.take_error();
  Status s =
      store.write([&](storage::WriteContext& ctx) { return execute_transaction(ctx, *plan); });
  if (!s) return s.take_error();
  return plan;
}

void add_patient(storage::ResourceStore& store, std::string_view family,
                 std::string_view birth_date) {
  auto plan =
      execute(store, R"({"resource":{"resourceType":"Patient","name":[{"family":")" +
                         std::string(family) + R"("}],"birthDate":")" + std::string(birth_date) +
                         R"("},"request":{"method":"POST","url":"Patient"}})");
  REQUIRE(plan.ok());
}

std::string observation_for(std::string_view reference) {
  return R"({"resource":{"resourceType":"Observation","status":"final","code":{"text":"w"},)"
         R"("subject":{"reference":")" +
         std::string(reference) + R"("}},"request":{"method":"POST","url":"Observation"}})";
}

}  // namespace

TEST_CASE("a conditional reference is resolved by the full search: name and birthdate") {
  testing::TempStore store;
  add_patient(*store, "Okafor", "1990-04-01");
  add_patient(*store, "Okafor", "1985-02-03");
  auto plan = execute(*store, observation_for("Patient?name=okafor&birthdate=1990-04-01"));
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message));
  const auto& stored = *plan->entries[0].outcome.stored;
  auto obs = parse_json(stored.json);
  REQUIRE(obs.ok());
  std::string ref(obs->at("subject").at("reference").as_string());
  REQUIRE(ref.starts_with("Patient/"));
  auto target = store->head("Patient", ref.substr(8));
  REQUIRE(target.ok());
  REQUIRE(target->has_value());
  CHECK((*target)->json.find("1990-04-01") != std::string::npos);

  auto several = execute(*store, observation_for("Patient?name=okafor"));
  REQUIRE_FALSE(several.ok());
  CHECK(several.error().kind == ErrorKind::kMultipleMatches);
  auto none = execute(*store, observation_for("Patient?name=okafor&birthdate=2001"));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().kind == ErrorKind::kNotFound);
  auto unknown = execute(*store, observation_for("Patient?name=okafor&colour=blue"));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().kind == ErrorKind::kInvalid);
  CHECK(unknown.error().message.find("conditional criteria") != std::string::npos);
}

TEST_CASE("ifNoneExist and conditional URLs take any search criterion; bad ones fail planning") {
  testing::TempStore store;
  add_patient(*store, "Okafor", "1990-04-01");
  auto before = *store->latest_seq();
  auto matched =
      execute(*store, R"({"resource":{"resourceType":"Patient","name":[{"family":"Okafor"}]},
      "request":{"method":"POST","url":"Patient","ifNoneExist":"name=okafor&birthdate=1990"}})");
  REQUIRE_MESSAGE(matched.ok(), (matched.ok() ? "" : matched.error().message));
  CHECK(matched->entries[0].outcome.status == 200);
  CHECK(*store->latest_seq() == before);

  auto bad = [](std::string_view request) {
    auto plan = plan_transaction(
        bundle(R"({"resource":{"resourceType":"Patient"},"request":)" + std::string(request) + "}"),
        100);
    return !plan.ok() && plan.error().kind == ErrorKind::kInvalid &&
           plan.error().message.find("conditional criteria") != std::string::npos;
  };
  CHECK(bad(R"({"method":"POST","url":"Patient","ifNoneExist":"colour=blue"})"));
  CHECK(bad(R"({"method":"POST","url":"Patient","ifNoneExist":"name=x&_sort=name"})"));
  CHECK(bad(R"({"method":"PUT","url":"Patient?_count=1"})"));
  CHECK(bad(R"({"method":"PUT","url":"Patient?"})"));
}

TEST_CASE("a conditional update in a transaction matches by a date") {
  testing::TempStore store;
  add_patient(*store, "Okafor", "1990-04-01");
  auto plan = execute(*store, R"({"resource":{"resourceType":"Patient","gender":"female",
      "birthDate":"1990-04-01"},"request":{"method":"PUT","url":"Patient?birthdate=1990-04"}})");
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message));
  CHECK(plan->entries[0].outcome.status == 200);
  CHECK(plan->entries[0].outcome.stored->version == 2);
}

TEST_CASE("deletes run first: ifNoneExist does not match a resource the transaction deletes") {
  testing::TempStore store;
  auto first = execute(*store, R"({"resource":{"resourceType":"Patient","id":"old","identifier":[
      {"system":"urn:mrn","value":"7"}]},"request":{"method":"PUT","url":"Patient/old"}})");
  REQUIRE(first.ok());
  auto plan = execute(*store, R"({"resource":{"resourceType":"Patient","identifier":[
      {"system":"urn:mrn","value":"7"}]},"request":{"method":"POST","url":"Patient",
      "ifNoneExist":"identifier=urn:mrn|7"}},
      {"request":{"method":"DELETE","url":"Patient/old"}})");
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message));
  const auto& created = plan->entries[0].outcome;
  CHECK(created.status == 201);
  REQUIRE(created.stored);
  CHECK(created.stored->id != "old");
  CHECK_FALSE(created.stored->deleted);
  CHECK(plan->entries[1].outcome.status == 204);
}
