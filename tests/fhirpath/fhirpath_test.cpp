// The public API: compile, evaluate, ExpressionCache.
#include "protocols/fhir/fhirpath/fhirpath.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/fhirpath/fhirpath_test_util.hpp"

using namespace cg::fhirpath;
using namespace cg::fhirpath::testing;

TEST_CASE("a compiled expression is reusable across inputs") {
  auto e = compile("name.given.count()");
  REQUIRE(e);
  CHECK((*e)->text() == "name.given.count()");
  const auto p = json_of(kPatient);
  const auto o = json_of(kObservation);
  CHECK(render(*evaluate(**e, p)) == std::vector<std::string>{"4"});
  CHECK(render(*evaluate(**e, o)) == std::vector<std::string>{"0"});
}

TEST_CASE("evaluation points into the input instead of copying it") {
  const auto p = json_of(kPatient);
  auto r = evaluate(**compile("name.first()"), p);
  REQUIRE(r);
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].as_node().value == &p.get_object().at("name").get_array()[0]);
}

TEST_CASE("compile errors are Error::invalid values, never exceptions") {
  auto e = compile("name.where(");
  REQUIRE_FALSE(e);
  CHECK(e.error().kind == cg::ErrorKind::kInvalid);
}

TEST_CASE("the expression cache compiles once, shares across threads and stays bounded") {
  ExpressionCache cache(2);
  auto a = cache.get("1 + 1");
  auto b = cache.get("1 + 1");
  REQUIRE(a);
  CHECK(a->get() == b->get());
  CHECK_FALSE(cache.get("1 +").ok());
  CHECK(cache.size() == 1);
  (void)cache.get("2");
  (void)cache.get("3");
  CHECK(cache.size() == 2);

  ExpressionCache shared(64);
  const auto p = json_of(kPatient);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto e = shared.get("name.given.count() + " + std::to_string(i % 16));
        auto r = e ? evaluate(**e, p) : cg::Result<Collection>(e.error());
        if (!r || r->size() != 1 || (*r)[0].as_integer() != 4 + i % 16) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(shared.size() == 16);
}

TEST_CASE("every R4 search parameter expression compiles") {
  std::size_t compiled = 0;
  for (const cg::fhir::SearchParamDef& p : cg::fhir::all_search_parameters()) {
    if (p.expression.empty()) continue;
    auto e = compile(p.expression);
    CHECK_MESSAGE(e.ok(), p.url << ": " << (e ? "" : e.error().message));
    ++compiled;
  }
  CHECK(compiled > 1000);
}
