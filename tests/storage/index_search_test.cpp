#include "storage/index_search.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>

#include "storage/index_query.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;
using cg::Status;

namespace {

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kJan2026 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

template <class... C>
OrGroup any(C... c) {
  return OrGroup{{Condition{std::move(c)}...}};
}

template <class... G>
Filter all(G... g) {
  return Filter{{std::move(g)...}};
}

IndexQuery on(std::string type, Filter where = {}) {
  IndexQuery q;
  q.types = {std::move(type)};
  q.where = std::move(where);
  q.count = 100;
  return q;
}

boost::json::object resource(const std::string& type) {
  return parse_object(R"({"resourceType":")" + type + R"("})");
}

// A store whose clock the test moves: every write gets the next millisecond from `now`.
struct Store {
  TempDir dir;
  std::int64_t now = kJan2026;
  std::unique_ptr<ResourceStore> store;

  Store() {
    StoreConfig config;
    config.clock_ms = [this] { return now; };
    store = open_store(dir.path(), std::move(config));
  }

  void put(const std::string& type, const std::string& id, IndexEntries entries = {}) {
    Status status = store->write([&](WriteContext& ctx) -> Status {
      auto v = ctx.put(type, id, resource(type), entries);
      if (!v) return v.take_error();
      return cg::ok_status();
    });
    REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
  }

  IndexSearchPage page(const IndexQuery& q) {
    auto page = store->search_index(q);
    REQUIRE_MESSAGE(page.ok(), (page.ok() ? "" : page.error().message));
    return std::move(page).value();
  }

  // Ids of the matches, in result order.
  std::vector<std::string> ids(const IndexQuery& q) {
    std::vector<std::string> out;
    for (const auto& v : page(q).matches) out.push_back(v.id);
    return out;
  }

  // Ids in sorted order, for tests about which resources match, not their order.
  std::set<std::string> set(const IndexQuery& q) {
    auto v = ids(q);
    return {v.begin(), v.end()};
  }
};

using Ids = std::set<std::string>;

IndexEntries strings(std::string param, std::string normalized, std::string exact) {
  IndexEntries e;
  e.strings.push_back({std::move(param), std::move(normalized), std::move(exact)});
  return e;
}

IndexEntries token(std::string param, std::string system, std::string code, std::string text = {},
                   std::string type_system = {}, std::string type_code = {}) {
  IndexEntries e;
  e.tokens.push_back({std::move(param), std::move(system), std::move(code), std::move(text),
                      std::move(type_system), std::move(type_code)});
  return e;
}

IndexEntries reference(std::string param, std::string type, std::string id, std::string url = {},
                       std::string version = {}) {
  IndexEntries e;
  e.references.push_back({std::move(param),
                          std::move(type),
                          std::move(id),
                          std::move(url),
                          std::move(version),
                          {},
                          {}});
  return e;
}

IndexEntries merge(std::vector<IndexEntries> parts) {
  IndexEntries out;
  for (auto& p : parts) {
    out.strings.insert(out.strings.end(), p.strings.begin(), p.strings.end());
    out.tokens.insert(out.tokens.end(), p.tokens.begin(), p.tokens.end());
    out.dates.insert(out.dates.end(), p.dates.begin(), p.dates.end());
    out.numbers.insert(out.numbers.end(), p.numbers.begin(), p.numbers.end());
    out.quantities.insert(out.quantities.end(), p.quantities.begin(), p.quantities.end());
    out.references.insert(out.references.end(), p.references.begin(), p.references.end());
    out.uris.insert(out.uris.end(), p.uris.begin(), p.uris.end());
  }
  return out;
}

}  // namespace

TEST_CASE("string conditions match by normalized prefix, exact text and substring") {
  Store s;
  s.put("Patient", "jose", strings("name", "jose", "José"));
  s.put("Patient", "josefa", strings("name", "josefa", "Josefa"));
  s.put("Patient", "maria", strings("name", "maria jose", "Maria José"));
  s.put("Patient", "other", strings("family", "jose", "José"));

  CHECK(s.set(on("Patient", all(any(StringCond{"name", StringCond::Mode::kPrefix, "jose", {}})))) ==
        Ids{"jose", "josefa"});
  CHECK(s.set(on("Patient", all(any(StringCond{"name", StringCond::Mode::kExact, "José",
                                               "jose"})))) == Ids{"jose"});
  CHECK(s.set(on("Patient",
                 all(any(StringCond{"name", StringCond::Mode::kExact, "Jose", "jose"})))) == Ids{});
  CHECK(
      s.set(on("Patient", all(any(StringCond{"name", StringCond::Mode::kContains, "ose", {}})))) ==
      Ids{"jose", "josefa", "maria"});
  // A prefix ending in 0xFF bytes still has an upper bound; an empty prefix matches all.
  CHECK(s.set(on("Patient", all(any(StringCond{"name", StringCond::Mode::kPrefix, "", {}})))) ==
        Ids{"jose", "josefa", "maria"});
}

TEST_CASE("token conditions: code, system|code, |code, system|, :not, :text and :of-type") {
  Store s;
  s.put("Patient", "a", token("identifier", "urn:mrn", "1", "medical record", "http://t", "MR"));
  s.put("Patient", "b", token("identifier", "", "1"));
  s.put("Patient", "c", token("identifier", "urn:ssn", "2", "social security"));
  s.put("Patient", "d");

  auto q = [&](TokenCond t) { return s.set(on("Patient", all(any(std::move(t))))); };
  CHECK(q({"identifier", std::nullopt, "1", {}, {}, {}, false}) == Ids{"a", "b"});
  CHECK(q({"identifier", "urn:mrn", "1", {}, {}, {}, false}) == Ids{"a"});
  CHECK(q({"identifier", "", "1", {}, {}, {}, false}) == Ids{"b"});
  CHECK(q({"identifier", "urn:ssn", "", {}, {}, {}, false}) == Ids{"c"});
  // :not also returns resources with no value at all.
  CHECK(q({"identifier", std::nullopt, "1", {}, {}, {}, true}) == Ids{"c", "d"});
  CHECK(q({"identifier", std::nullopt, {}, "social", {}, {}, false}) == Ids{"c"});
  CHECK(q({"identifier", std::nullopt, "1", {}, "http://t", "MR", false}) == Ids{"a"});
  CHECK(q({"identifier", std::nullopt, "2", {}, "http://t", "MR", false}) == Ids{});
}

TEST_CASE("range prefixes compare stored and query ranges by the R4 rules") {
  Store s;
  // Query range [2, 3) (days for dates). a=[1,2) b=[2,3) c=[1,5) d=[4,5)
  const std::map<std::string, std::pair<int, int>> stored = {
      {"a", {1, 2}}, {"b", {2, 3}}, {"c", {1, 5}}, {"d", {4, 5}}};
  for (const auto& [id, r] : stored) {
    IndexEntries e;
    e.numbers.push_back({"value", double(r.first), double(r.second)});
    e.dates.push_back({"date", kJan2026 + r.first * kDay, kJan2026 + r.second * kDay});
    s.put("Observation", id, e);
  }
  const std::vector<std::pair<RangeOp, Ids>> expected = {
      {RangeOp::kEq, {"b"}},      {RangeOp::kNe, {"a", "c", "d"}}, {RangeOp::kGt, {"c", "d"}},
      {RangeOp::kLt, {"a", "c"}}, {RangeOp::kGe, {"b", "c", "d"}}, {RangeOp::kLe, {"a", "b", "c"}},
      {RangeOp::kSa, {"d"}},      {RangeOp::kEb, {"a"}},           {RangeOp::kAp, {"b", "c"}},
  };
  for (const auto& [op, ids] : expected) {
    CAPTURE(static_cast<int>(op));
    CHECK(s.set(on("Observation", all(any(NumberCond{"value", {op, 2.0, 3.0}})))) == ids);
    CHECK(s.set(on("Observation",
                   all(any(DateCond{"date", {op, kJan2026 + 2 * kDay, kJan2026 + 3 * kDay}})))) ==
          ids);
  }
}

TEST_CASE("quantity conditions match system and code as stored, or canonical units") {
  Store s;
  auto quantity = [](std::string system, std::string code, double low, double high,
                     std::string canonical, double clow, double chigh) {
    IndexEntries e;
    e.quantities.push_back({"value-quantity", std::move(system), std::move(code), low, high,
                            std::move(canonical), clow, chigh});
    return e;
  };
  s.put("Observation", "g",
        quantity("http://unitsofmeasure.org", "g", 0.95, 1.05, "g", 0.95, 1.05));
  s.put("Observation", "mg",
        quantity("http://unitsofmeasure.org", "mg", 999.5, 1000.5, "g", 0.9995, 1.0005));
  s.put("Observation", "other", quantity("urn:local", "mg", 999.5, 1000.5, "", 0, 0));

  auto q = [&](QuantityCond c) { return s.set(on("Observation", all(any(std::move(c))))); };
  CHECK(q({"value-quantity", {RangeOp::kEq, 999.5, 1000.5}, false, std::nullopt, "mg"}) ==
        Ids{"mg", "other"});
  CHECK(q({"value-quantity", {RangeOp::kEq, 999.5, 1000.5}, false, "urn:local", "mg"}) ==
        Ids{"other"});
  CHECK(q({"value-quantity", {RangeOp::kAp, 0.9, 1.1}, true, std::nullopt, "g"}) == Ids{"g", "mg"});
  CHECK(q({"value-quantity", {RangeOp::kGt, 0.5, 0.6}, false, std::nullopt, ""}) ==
        Ids{"g", "mg", "other"});
}

TEST_CASE("reference conditions: local ids, any type, versions, urls and identifiers") {
  Store s;
  s.put("Observation", "o1", reference("subject", "Patient", "p1"));
  s.put("Observation", "o2", reference("subject", "Group", "p1"));
  s.put("Observation", "o3", reference("subject", "Patient", "p2", {}, "3"));
  s.put("Observation", "o4", reference("subject", "Patient", "p9", "http://other/fhir/Patient/p9"));
  IndexEntries ident;
  ident.references.push_back({"subject", "Patient", "", "", "", "urn:mrn", "42"});
  s.put("Observation", "o5", ident);

  auto q = [&](ReferenceCond c) { return s.set(on("Observation", all(any(std::move(c))))); };
  using K = ReferenceCond::Kind;
  CHECK(q({"subject", K::kLocal, "Patient", "p1", {}, {}, {}, {}}) == Ids{"o1"});
  CHECK(q({"subject", K::kLocal, "", "p1", {}, {}, {}, {}}) == Ids{"o1", "o2"});
  CHECK(q({"subject", K::kLocal, "Patient", "p2", {}, "3", {}, {}}) == Ids{"o3"});
  CHECK(q({"subject", K::kLocal, "Patient", "p2", {}, "4", {}, {}}) == Ids{});
  CHECK(q({"subject", K::kUrl, {}, {}, "http://other/fhir/Patient/p9", {}, {}, {}}) == Ids{"o4"});
  CHECK(q({"subject", K::kIdentifier, {}, {}, {}, {}, "urn:mrn", "42"}) == Ids{"o5"});
  CHECK(q({"subject", K::kIdentifier, {}, {}, {}, {}, std::nullopt, "42"}) == Ids{"o5"});
  CHECK(q({"subject", K::kIdentifier, {}, {}, {}, {}, "urn:x", "42"}) == Ids{});
}

TEST_CASE("uri conditions: exact, below (stored under the value) and above") {
  Store s;
  auto uri = [](std::string value) {
    IndexEntries e;
    e.uris.push_back({"url", std::move(value)});
    return e;
  };
  s.put("ValueSet", "root", uri("http://acme.org/fhir"));
  s.put("ValueSet", "vs", uri("http://acme.org/fhir/ValueSet/1"));
  s.put("ValueSet", "other", uri("http://other.org/fhir/ValueSet/1"));
  auto q = [&](UriCond c) { return s.set(on("ValueSet", all(any(std::move(c))))); };
  CHECK(q({"url", "http://acme.org/fhir", UriCond::Mode::kExact}) == Ids{"root"});
  CHECK(q({"url", "http://acme.org/fhir/", UriCond::Mode::kBelow}) == Ids{"vs"});
  CHECK(q({"url", "http://acme.org/fhir/ValueSet/1/_history/2", UriCond::Mode::kAbove}) ==
        Ids{"root", "vs"});
}

TEST_CASE(":missing, _id and _lastUpdated conditions") {
  Store s;
  s.put("Patient", "a", strings("name", "ann", "Ann"));
  s.now += 1000;
  s.put("Patient", "b");
  s.now += 1000;
  s.put("Patient", "c", strings("name", "cy", "Cy"));
  CHECK(s.set(on("Patient", all(any(MissingCond{IndexTable::kString, "name", true})))) == Ids{"b"});
  CHECK(s.set(on("Patient", all(any(MissingCond{IndexTable::kString, "name", false})))) ==
        Ids{"a", "c"});
  CHECK(s.set(on("Patient", all(any(IdCond{{"a", "c", "zz"}})))) == Ids{"a", "c"});
  // b was written at kJan2026 + 1000 ms exactly: a second-precision query covers it.
  const std::int64_t t = kJan2026 + 1000;
  CHECK(s.set(on("Patient", all(any(LastUpdatedCond{{RangeOp::kGt, t - 1, t}})))) == Ids{"b", "c"});
  CHECK(s.set(on("Patient", all(any(LastUpdatedCond{{RangeOp::kGt, t, t + 1}})))) == Ids{"c"});
  CHECK(s.set(on("Patient", all(any(LastUpdatedCond{{RangeOp::kEq, t, t + 1000}})))) == Ids{"b"});
  CHECK(s.set(on("Patient", all(any(LastUpdatedCond{{RangeOp::kLt, t, t + 1}})))) == Ids{"a"});
  CHECK(s.set(on("Patient", all(any(LastUpdatedCond{{RangeOp::kLe, t, t + 1}})))) == Ids{"a", "b"});
  CHECK(s.set(on("Patient", all(any(LastUpdatedCond{{RangeOp::kNe, t, t + 1}})))) == Ids{"a", "c"});
}

TEST_CASE("groups AND together, conditions in a group OR; an empty group matches nothing") {
  Store s;
  s.put("Patient", "a", merge({token("gender", "", "female"), strings("name", "ann", "Ann")}));
  s.put("Patient", "b", merge({token("gender", "", "male"), strings("name", "bob", "Bob")}));
  s.put("Patient", "c", merge({token("gender", "", "other"), strings("name", "ann", "Ann")}));
  const TokenCond female{"gender", std::nullopt, "female", {}, {}, {}, false};
  const TokenCond male{"gender", std::nullopt, "male", {}, {}, {}, false};
  const StringCond ann{"name", StringCond::Mode::kPrefix, "ann", {}};
  CHECK(s.set(on("Patient", all(any(female, male)))) == Ids{"a", "b"});
  CHECK(s.set(on("Patient", all(any(female, male), any(ann)))) == Ids{"a"});
  CHECK(s.set(on("Patient", all(any(ann, IdCond{{"b"}})))) == Ids{"a", "b", "c"});
  TokenCond not_female = female;
  not_female.negate = true;
  CHECK(s.set(on("Patient", all(any(not_female, male)))) == Ids{"b", "c"});
  CHECK(s.set(on("Patient", all(OrGroup{}))) == Ids{});
}

TEST_CASE("deleted resources never match") {
  Store s;
  s.put("Patient", "a", strings("name", "ann", "Ann"));
  s.put("Patient", "b", strings("name", "ann", "Ann"));
  REQUIRE(remove(*s.store, "Patient", "b").ok());
  CHECK(s.set(on("Patient")) == Ids{"a"});
  CHECK(s.set(on("Patient", all(any(MissingCond{IndexTable::kString, "name", true})))) == Ids{});
}

TEST_CASE("chains follow references two levels deep; reverse chains find referrers") {
  Store s;
  s.put("Organization", "org1", strings("name", "acme clinic", "Acme Clinic"));
  s.put("Organization", "org2", strings("name", "other", "Other"));
  s.put("Patient", "p1", reference("organization", "Organization", "org1"));
  s.put("Patient", "p2", reference("organization", "Organization", "org2"));
  s.put("Patient", "p3");
  s.put("Observation", "o1",
        merge({reference("subject", "Patient", "p1"), token("code", "", "x")}));
  s.put("Observation", "o2",
        merge({reference("subject", "Patient", "p2"), token("code", "", "y")}));
  s.put("Observation", "o3",
        merge({reference("subject", "Patient", "p1"), token("code", "", "y")}));
  s.put("Organization", "org3", strings("name", "acme", "Acme"));
  REQUIRE(remove(*s.store, "Organization", "org3").ok());

  // Observation?subject:Patient.organization.name=acme
  const Filter acme = all(any(StringCond{"name", StringCond::Mode::kPrefix, "acme", {}}));
  const Filter org = all(any(ChainCond{"organization", "Organization", acme}));
  CHECK(s.set(on("Observation", all(any(ChainCond{"subject", "Patient", org})))) ==
        Ids{"o1", "o3"});
  // Patient?_has:Observation:subject:code=y
  const Filter code_y = all(any(TokenCond{"code", std::nullopt, "y", {}, {}, {}, false}));
  CHECK(s.set(on("Patient", all(any(ReverseCond{"Observation", "subject", code_y})))) ==
        Ids{"p1", "p2"});
  // Organization?_has:Patient:organization:_has:Observation:subject:code=x
  const Filter has_x =
      all(any(ReverseCond{"Observation", "subject",
                          all(any(TokenCond{"code", std::nullopt, "x", {}, {}, {}, false}))}));
  CHECK(s.set(on("Organization", all(any(ReverseCond{"Patient", "organization", has_x})))) ==
        Ids{"org1"});
}

TEST_CASE("sorts: by parameter ascending and descending with ties by id and missing last") {
  Store s;
  auto born = [](std::int64_t day) {
    IndexEntries e;
    e.dates.push_back({"birthdate", kJan2026 + day * kDay, kJan2026 + (day + 1) * kDay});
    return e;
  };
  s.put("Patient", "e", born(3));
  s.put("Patient", "a", born(1));
  s.put("Patient", "d", born(1));
  s.put("Patient", "b");
  s.put("Patient", "c", born(2));
  s.put("Patient", "f");

  IndexQuery q = on("Patient");
  q.sort = {{SortSpec::Kind::kParam, IndexTable::kDate, "birthdate", false}};
  CHECK(s.ids(q) == std::vector<std::string>{"a", "d", "c", "e", "b", "f"});
  q.sort[0].descending = true;
  CHECK(s.ids(q) == std::vector<std::string>{"e", "c", "a", "d", "b", "f"});

  // Paging two at a time walks the same order, through ties and the missing values.
  for (bool descending : {false, true}) {
    q.sort[0].descending = descending;
    const auto whole = s.ids(q);
    std::vector<std::string> paged;
    IndexQuery p = q;
    p.count = 2;
    for (int guard = 0; guard < 10; ++guard) {
      auto page = s.page(p);
      for (const auto& v : page.matches) paged.push_back(v.id);
      if (!page.next_cursor) break;
      p.cursor = *page.next_cursor;
    }
    CHECK(paged == whole);
  }

  IndexQuery by_id = on("Patient");
  by_id.sort = {{SortSpec::Kind::kId, IndexTable::kString, "", true}};
  CHECK(s.ids(by_id) == std::vector<std::string>{"f", "e", "d", "c", "b", "a"});
}

TEST_CASE("keyset paging returns every resource exactly once while writes happen") {
  Store s;
  for (int i = 0; i < 30; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "p%02d", i);
    s.put("Patient", id, strings("name", "x", "x"));
  }
  for (auto kind : {SortSpec::Kind::kId, SortSpec::Kind::kLastUpdated}) {
    IndexQuery q = on("Patient", all(any(StringCond{"name", StringCond::Mode::kPrefix, "x", {}})));
    q.sort = {{kind, IndexTable::kString, "", false}};
    q.count = 7;
    std::map<std::string, int> seen;
    for (int round = 0; round < 20; ++round) {
      auto page = s.page(q);
      for (const auto& v : page.matches) ++seen[v.id];
      if (!page.next_cursor) break;
      q.cursor = *page.next_cursor;
      // New resources before and after the cursor; they may or may not appear.
      s.now += 10;
      s.put("Patient", "a-new-" + std::to_string(round), strings("name", "x", "x"));
      s.put("Patient", "z-new-" + std::to_string(round), strings("name", "x", "x"));
    }
    for (int i = 0; i < 30; ++i) {
      char id[8];
      std::snprintf(id, sizeof id, "p%02d", i);
      CHECK_MESSAGE(seen[id] == 1, id);
    }
    for (const auto& [id, n] : seen) CHECK_MESSAGE(n == 1, id);
  }
}

TEST_CASE("a cursor of another sort, or garbage, is refused as invalid") {
  Store s;
  for (const char* id : {"a", "b", "c"}) s.put("Patient", id);
  IndexQuery q = on("Patient");
  q.count = 1;
  auto first = s.page(q);
  REQUIRE(first.next_cursor);
  IndexQuery other = q;
  other.sort = {{SortSpec::Kind::kLastUpdated, IndexTable::kString, "", false}};
  other.cursor = *first.next_cursor;
  auto refused = s.store->search_index(other);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kInvalid);
  other.cursor = "not a cursor!";
  CHECK(s.store->search_index(other).error().kind == ErrorKind::kInvalid);
  q.cursor = *first.next_cursor;
  CHECK(s.ids(q) == std::vector<std::string>{"b"});
}

TEST_CASE("totals count every match; count 0 gives only the total") {
  Store s;
  for (const char* id : {"a", "b", "c", "d", "e"})
    s.put("Patient", id, token("active", "", "true"));
  s.put("Patient", "f", token("active", "", "false"));
  IndexQuery q =
      on("Patient", all(any(TokenCond{"active", std::nullopt, "true", {}, {}, {}, false})));
  q.count = 2;
  q.total = true;
  auto page = s.page(q);
  CHECK(page.total == 5);
  CHECK(page.matches.size() == 2);
  q.count = 0;
  q.total = false;
  page = s.page(q);
  CHECK(page.total == 5);
  CHECK(page.matches.empty());
  CHECK_FALSE(page.next_cursor);
}

TEST_CASE("a system search covers the listed types, or every type") {
  Store s;
  s.put("Patient", "1", token("_tag", "urn:t", "x"));
  s.put("Observation", "1", token("_tag", "urn:t", "x"));
  s.put("Encounter", "1", token("_tag", "urn:t", "y"));
  IndexQuery q;
  q.where = all(any(TokenCond{"_tag", "urn:t", "x", {}, {}, {}, false}));
  q.count = 1;
  std::vector<std::string> all_types;
  for (int guard = 0; guard < 5; ++guard) {
    auto page = s.page(q);
    for (const auto& v : page.matches) all_types.push_back(v.type);
    if (!page.next_cursor) break;
    q.cursor = *page.next_cursor;
  }
  CHECK(all_types == std::vector<std::string>{"Observation", "Patient"});
  IndexQuery listed;
  listed.types = {"Encounter", "Patient"};
  listed.total = true;
  CHECK(s.page(listed).total == 2);
  // Chains need one type.
  IndexQuery chained = listed;
  chained.where = all(any(ChainCond{"subject", "Patient", {}}));
  CHECK(s.store->search_index(chained).error().kind == ErrorKind::kInvalid);
}

TEST_CASE("_include and _revinclude add referenced and referring resources, :iterate follows") {
  Store s;
  s.put("Organization", "org1");
  s.put("Patient", "p1", reference("organization", "Organization", "org1"));
  s.put("Patient", "p2");
  s.put("Observation", "o1",
        merge({reference("subject", "Patient", "p1"), token("code", "", "x")}));
  s.put("Observation", "o2",
        merge({reference("subject", "Patient", "p1"), token("code", "", "y")}));
  s.put("Provenance", "prov1", reference("target", "Observation", "o2"));
  s.put("Patient", "gone");
  s.put("Observation", "o3",
        merge({reference("subject", "Patient", "gone"), token("code", "", "x")}));
  REQUIRE(remove(*s.store, "Patient", "gone").ok());

  auto included = [&](const IndexQuery& q) {
    std::set<std::string> out;
    for (const auto& v : s.page(q).included) out.insert(v.type + "/" + v.id);
    return out;
  };
  const Filter code_x = all(any(TokenCond{"code", std::nullopt, "x", {}, {}, {}, false}));
  IndexQuery q = on("Observation", code_x);
  q.includes = {{false, false, "Observation", "subject", ""}};
  CHECK(included(q) == std::set<std::string>{"Patient/p1"});  // deleted targets are skipped
  q.includes.push_back({false, true, "Patient", "organization", ""});
  CHECK(included(q) == std::set<std::string>{"Patient/p1", "Organization/org1"});

  IndexQuery p = on("Patient", all(any(IdCond{{"p1"}})));
  p.includes = {{true, false, "Observation", "subject", ""}};
  CHECK(included(p) == std::set<std::string>{"Observation/o1", "Observation/o2"});
  // Without :iterate, Provenance is not looked for from the included Observations.
  p.includes.push_back({true, false, "Provenance", "target", ""});
  CHECK(included(p) == std::set<std::string>{"Observation/o1", "Observation/o2"});
  p.includes.back().iterate = true;
  CHECK(included(p) ==
        std::set<std::string>{"Observation/o1", "Observation/o2", "Provenance/prov1"});
  // Wildcards, and a bound on how many are included.
  p.includes = {{true, false, "", "", ""}};
  p.max_included = 1;
  auto page = s.page(p);
  CHECK(page.included.size() == 1);
  CHECK(page.included_truncated);
}

TEST_CASE("a search over its step budget or deadline stops with 'too costly'") {
  Store s;
  Status status = s.store->write([&](WriteContext& ctx) -> Status {
    for (int i = 0; i < 4000; ++i) {
      IndexEntries e;
      for (int j = 0; j < 3; ++j) {
        e.strings.push_back({"name", "name number " + std::to_string(i * 3 + j), "x"});
      }
      auto v = ctx.put("Patient", "p" + std::to_string(i), resource("Patient"), e);
      if (!v) return v.take_error();
    }
    return cg::ok_status();
  });
  REQUIRE(status.ok());
  OrGroup many;
  for (int i = 0; i < 32; ++i) {
    many.any_of.push_back(
        {StringCond{"name", StringCond::Mode::kContains, "zz" + std::to_string(i), {}}});
  }
  IndexQuery q = on("Patient", Filter{{many}});
  q.sort = {{SortSpec::Kind::kParam, IndexTable::kString, "name", true}};
  q.total = true;

  q.budget = {60'000, 20'000};
  auto steps = s.store->search_index(q);
  REQUIRE_FALSE(steps.ok());
  CHECK(steps.error().kind == ErrorKind::kInvalid);
  CHECK(steps.error().message == "the search is too costly; narrow it");

  q.budget = {1, 0};
  const auto start = std::chrono::steady_clock::now();
  auto deadline = s.store->search_index(q);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(deadline.ok());
  CHECK(deadline.error().message == "the search is too costly; narrow it");
  CHECK(elapsed < std::chrono::seconds(1));

  // The connection is fine afterwards: the same search with room completes.
  q.budget = {60'000, 0};
  CHECK(s.page(q).total == 0);
}

TEST_CASE("EXPLAIN QUERY PLAN: token and date searches start from the lookup indexes") {
  Store s;
  s.put("Observation", "o1", token("code", "http://loinc.org", "1234-5"));
  auto conn = Connection::open(s.dir.path() / "clinical.db", Connection::Mode::kExisting);
  REQUIRE(conn.ok());
  auto plan = [&](const IndexQuery& q) {
    auto lines = explain_index_search(*conn, q);
    REQUIRE_MESSAGE(lines.ok(), (lines.ok() ? "" : lines.error().message));
    std::string text;
    for (const auto& l : *lines) text += l + "\n";
    return text;
  };
  auto no_index_scan = [](const std::string& text) {
    return text.find("SCAN x0") == std::string::npos && text.find("SCAN idx_") == std::string::npos;
  };
  const std::string token_plan = plan(on(
      "Observation", all(any(TokenCond{"code", "http://loinc.org", "1234-5", {}, {}, {}, false}))));
  CAPTURE(token_plan);
  CHECK(token_plan.find("idx_token_lookup (type=? AND param=? AND code=? AND system=?)") !=
        std::string::npos);
  CHECK(no_index_scan(token_plan));

  const std::string date_plan = plan(
      on("Observation", all(any(DateCond{"date", {RangeOp::kEq, kJan2026, kJan2026 + kDay}}))));
  CAPTURE(date_plan);
  CHECK(date_plan.find("idx_date_lookup (type=? AND param=? AND low>? AND low<?)") !=
        std::string::npos);
  CHECK(no_index_scan(date_plan));

  IndexQuery range =
      on("Observation",
         all(any(DateCond{"date", {RangeOp::kGe, kJan2026, kJan2026 + kDay}}),
             any(DateCond{"date", {RangeOp::kLt, kJan2026 + 30 * kDay, kJan2026 + 31 * kDay}})));
  const std::string range_plan = plan(range);
  CAPTURE(range_plan);
  CHECK(range_plan.find("idx_date_lookup") != std::string::npos);
  CHECK(no_index_scan(range_plan));

  // The Android FHIR SDK download: _lastUpdated=gt… sorted by _lastUpdated walks the
  // (type, last_updated_ms) index in order; the only sort is of the page itself.
  IndexQuery sdk =
      on("Observation", all(any(LastUpdatedCond{{RangeOp::kGt, kJan2026, kJan2026 + 1}})));
  sdk.sort = {{SortSpec::Kind::kLastUpdated, IndexTable::kString, "", false}};
  const std::string sdk_plan = plan(sdk);
  CAPTURE(sdk_plan);
  CHECK(sdk_plan.find("resources_by_last_updated (type=? AND last_updated_ms>?)") !=
        std::string::npos);
  CHECK(sdk_plan.find("TEMP B-TREE") == sdk_plan.rfind("TEMP B-TREE"));

  // _has probes the references of each matching source; a parameter sort reads each
  // resource's own rows.
  const std::string has_plan = plan(
      on("Patient",
         all(any(ReverseCond{"Observation", "subject",
                             all(any(TokenCond{"code", std::nullopt, "x", {}, {}, {}, false}))}))));
  CAPTURE(has_plan);
  CHECK(has_plan.find("idx_reference_owner (type=? AND id=?)") != std::string::npos);
  // Without statistics (no ANALYZE yet) a chain still probes references by target.
  const std::string chain_plan = plan(
      on("Observation",
         all(any(ChainCond{"subject", "Patient",
                           all(any(StringCond{"name", StringCond::Mode::kPrefix, "mw", {}}))}))));
  CAPTURE(chain_plan);
  CHECK(chain_plan.find("idx_reference_lookup (type=? AND param=? AND target_id=?") !=
        std::string::npos);
  CHECK(chain_plan.find("idx_reference_owner") == std::string::npos);
  IndexQuery sorted = on("Patient");
  sorted.sort = {{SortSpec::Kind::kParam, IndexTable::kDate, "birthdate", false}};
  const std::string sort_plan = plan(sorted);
  CAPTURE(sort_plan);
  CHECK(sort_plan.find("idx_date_owner (type=? AND id=?)") != std::string::npos);
  CHECK(sort_plan.find("idx_date_lookup") == std::string::npos);
}

TEST_CASE("ANDed ranges on a single-valued parameter share one row; multi-valued ones do not") {
  Store s;
  IndexEntries one;
  one.dates.push_back({"date", kJan2026 + 10 * kDay, kJan2026 + 11 * kDay});
  s.put("Observation", "single", one);
  IndexEntries two;  // January and March: each bound is met by a different row
  two.dates.push_back({"when", kJan2026, kJan2026 + kDay});
  two.dates.push_back({"when", kJan2026 + 59 * kDay, kJan2026 + 60 * kDay});
  s.put("Observation", "multi", two);

  auto between = [](std::string param, std::int64_t from, std::int64_t to) {
    return on("Observation", all(any(DateCond{param, {RangeOp::kGe, from, from + kDay}}),
                                 any(DateCond{param, {RangeOp::kLt, to, to + kDay}})));
  };
  CHECK(s.set(between("date", kJan2026 + 5 * kDay, kJan2026 + 20 * kDay)) == Ids{"single"});
  CHECK(s.set(between("date", kJan2026 + 12 * kDay, kJan2026 + 20 * kDay)).empty());
  // ge Feb 1 (the March row) and lt Jan 15 (the January row): both hold, on different rows.
  CHECK(s.set(between("when", kJan2026 + 31 * kDay, kJan2026 + 14 * kDay)) == Ids{"multi"});

  auto conn = Connection::open(s.dir.path() / "clinical.db", Connection::Mode::kExisting);
  REQUIRE(conn.ok());
  auto plan_of = [&](const IndexQuery& q) {
    auto lines = explain_index_search(*conn, q);
    REQUIRE(lines.ok());
    std::string text;
    for (const auto& l : *lines) text += l + "\n";
    return text;
  };
  // One scan of [X − W, Y) for the single-valued parameter; two lists for the other.
  const std::string merged = plan_of(between("date", kJan2026, kJan2026 + 20 * kDay));
  CAPTURE(merged);
  CHECK(merged.find("idx_date_lookup (type=? AND param=? AND low>? AND low<?)") !=
        std::string::npos);
  CHECK(merged.find("LIST SUBQUERY 1") != std::string::npos);
  CHECK(merged.find("LIST SUBQUERY 2") == std::string::npos);
  const std::string separate = plan_of(between("when", kJan2026, kJan2026 + 20 * kDay));
  CAPTURE(separate);
  CHECK(separate.find("LIST SUBQUERY 2") != std::string::npos);
}

TEST_CASE("gt, ge and ap are bounded below by the widest stored range, and stay exact") {
  Store s;
  IndexEntries narrow, wide, open;
  narrow.dates.push_back({"date", kJan2026, kJan2026 + kDay});
  wide.dates.push_back({"date", kJan2026 - 30 * kDay, kJan2026 + 30 * kDay});
  open.dates.push_back({"date", kJan2026 + 100 * kDay, std::numeric_limits<std::int64_t>::max()});
  s.put("Encounter", "narrow", narrow);
  s.put("Encounter", "wide", wide);
  auto q = [](RangeOp op, std::int64_t at) {
    return on("Encounter", all(any(DateCond{"date", {op, at, at + kDay}})));
  };
  CHECK(s.set(q(RangeOp::kGt, kJan2026 + 10 * kDay)) == Ids{"wide"});
  CHECK(s.set(q(RangeOp::kGe, kJan2026)) == Ids{"narrow", "wide"});
  CHECK(s.set(q(RangeOp::kAp, kJan2026 + 20 * kDay)) == Ids{"wide"});
  CHECK(s.set(q(RangeOp::kLe, kJan2026 - 31 * kDay)).empty());
  CHECK(s.set(q(RangeOp::kLe, kJan2026 - 29 * kDay)) == Ids{"wide"});
  // An open end makes the width the whole time line: no bound, no overflow.
  s.put("Encounter", "open", open);
  CHECK(s.set(q(RangeOp::kGt, kJan2026 + 1000 * kDay)) == Ids{"open"});
  CHECK(s.set(q(RangeOp::kGt, kJan2026 + 10 * kDay)) == Ids{"wide", "open"});
}

TEST_CASE(
    "composite conditions: grouped rows match inside one grp, ungrouped inside one resource") {
  Store s;
  IndexEntries bp;  // two components: (systolic, 150) and (diastolic, 85)
  bp.tokens.push_back({"c$0", "http://loinc.org", "8480-6", {}, {}, {}, 1});
  bp.quantities.push_back({"c$1", "u", "mm[Hg]", 149.5, 150.5, {}, 0, 0, 1});
  bp.tokens.push_back({"c$0", "http://loinc.org", "8462-4", {}, {}, {}, 2});
  bp.quantities.push_back({"c$1", "u", "mm[Hg]", 84.5, 85.5, {}, 0, 0, 2});
  bp.tokens.push_back({"code", "http://loinc.org", "85354-9", {}, {}, {}, 0});
  bp.quantities.push_back({"value", "u", "mm[Hg]", 0.5, 1.5, {}, 0, 0, 0});
  s.put("Observation", "bp", bp);
  auto composite = [](std::string p0, std::string code, std::string p1, RangeOp op, double v,
                      bool grouped) {
    CompositeCond c;
    c.grouped = grouped;
    c.parts.push_back(Condition{TokenCond{p0, std::nullopt, code, {}, {}, {}, false}});
    c.parts.push_back(Condition{QuantityCond{p1, {op, v - 0.5, v + 0.5}, false, std::nullopt, {}}});
    return on("Observation", all(any(std::move(c))));
  };
  CHECK(s.set(composite("c$0", "8480-6", "c$1", RangeOp::kGt, 140, true)) == Ids{"bp"});
  CHECK(s.set(composite("c$0", "8462-4", "c$1", RangeOp::kGt, 140, true)).empty());
  CHECK(s.set(composite("c$0", "8462-4", "c$1", RangeOp::kEq, 85, true)) == Ids{"bp"});
  CHECK(s.set(composite("code", "85354-9", "value", RangeOp::kEq, 1, false)) == Ids{"bp"});
  CHECK(s.set(composite("code", "85354-9", "value", RangeOp::kEq, 2, false)).empty());
}

TEST_CASE("an OR of 1,200 tokens runs (SQLite's 500-term compound limit is not hit)") {
  Store s;
  s.put("Observation", "o1", token("code", "s", "1199"));
  s.put("Observation", "o2", token("code", "s", "5000"));
  OrGroup many;
  for (int i = 0; i < 1200; ++i) {
    many.any_of.push_back(
        Condition{TokenCond{"code", std::string("s"), std::to_string(i), {}, {}, {}, false}});
  }
  CHECK(s.set(on("Observation", Filter{{many}})) == Ids{"o1"});
}

TEST_CASE("a token page streams from its index in id order: deleted, duplicates, cursors") {
  Store s;
  IndexEntries twice = merge({token("code", "http://loinc.org", "x"),
                              token("code", "http://loinc.org", "x")});  // two codings
  for (const char* id : {"a", "b", "c", "d", "e", "f"}) s.put("Observation", id, twice);
  s.put("Observation", "other", token("code", "http://loinc.org", "y"));
  Status removed = s.store->write([&](WriteContext& ctx) -> Status {
    auto v = ctx.remove("Observation", "c");
    return v ? cg::ok_status() : Status(v.error());
  });
  REQUIRE(removed.ok());
  IndexQuery q =
      on("Observation", all(any(TokenCond{"code", "http://loinc.org", "x", {}, {}, {}, false})));
  q.count = 2;
  q.total = true;
  std::vector<std::string> seen;
  std::vector<std::string> previous;
  for (int i = 0; i < 10; ++i) {
    auto page = s.page(q);
    CHECK(page.total == (i == 0 ? 5 : page.total));
    for (const auto& v : page.matches) seen.push_back(v.id);
    if (page.previous_cursor) previous.push_back(*page.previous_cursor);
    if (!page.next_cursor) break;
    q.cursor = *page.next_cursor;
  }
  CHECK(seen == std::vector<std::string>{"a", "b", "d", "e", "f"});
  // Back from the last page: the page before it is {d, e}.
  REQUIRE(previous.size() == 2);
  q.cursor = previous.back();
  auto back = s.page(q);
  REQUIRE(back.matches.size() == 2);
  CHECK(back.matches[0].id == "d");
  CHECK(back.matches[1].id == "e");

  auto conn = Connection::open(s.dir.path() / "clinical.db", Connection::Mode::kExisting);
  REQUIRE(conn.ok());
  q.cursor.clear();
  auto lines = explain_index_search(*conn, q);
  REQUIRE(lines.ok());
  std::string plan;
  for (const auto& l : *lines) plan += l + "\n";
  CAPTURE(plan);
  CHECK(plan.find("LIST SUBQUERY") == std::string::npos);
  // The only sort is of the page's own rows, after the index walk.
  CHECK(plan.find("TEMP B-TREE") == plan.rfind("TEMP B-TREE"));
  CHECK(plan.find("TEMP B-TREE") > plan.find("SCAN p"));
  CHECK(plan.find("idx_token_lookup (type=? AND param=? AND code=? AND system=?)") !=
        std::string::npos);
}

TEST_CASE("totals from the index alone agree with totals through the resources table") {
  Store s;
  s.put("Patient", "p1", merge({token("gender", "", "male"), token("active", "", "true")}));
  s.put("Patient", "p2", merge({token("gender", "", "female"), token("active", "", "true")}));
  s.put("Patient", "p3", token("gender", "", "male"));
  s.put("Patient", "gone", token("gender", "", "male"));
  s.put("Observation", "o1", reference("subject", "Patient", "p1"));
  s.put("Observation", "o2", reference("subject", "Patient", "gone"));
  Status removed = s.store->write([&](WriteContext& ctx) -> Status {
    auto v = ctx.remove("Patient", "gone");
    return v ? cg::ok_status() : Status(v.error());
  });
  REQUIRE(removed.ok());
  auto total = [&](Filter where) {
    IndexQuery q = on("Patient", std::move(where));
    q.count = 0;
    return s.page(q).total;
  };
  const TokenCond male{"gender", std::nullopt, "male", {}, {}, {}, false};
  const TokenCond active{"active", std::nullopt, "true", {}, {}, {}, false};
  TokenCond not_active = active;
  not_active.negate = true;
  const ReverseCond has{"Observation", "subject", Filter{}};
  CHECK(total(all(any(male))) == 2);
  CHECK(total(all(any(male), any(active))) == 1);
  CHECK(total(all(any(male), any(not_active))) == 1);
  CHECK(total(all(any(male, active))) == 3);
  // _has selects targets, which may be deleted: still counted through the resources table.
  CHECK(total(all(any(has))) == 1);
  CHECK(total(all(any(male), any(has))) == 1);
  CHECK(total(all(any(male), any(LastUpdatedCond{{RangeOp::kGt, 0, 1}}))) == 2);
}

TEST_CASE("previous links walk back exactly the pages walked forward, missing values included") {
  Store s;
  // Birth dates with ties and gaps; three patients without one (they sort last).
  const std::vector<std::pair<std::string, int>> people = {
      {"p01", 5},  {"p02", 3}, {"p03", 5}, {"p04", -1}, {"p05", 1}, {"p06", 9},
      {"p07", -1}, {"p08", 3}, {"p09", 7}, {"p10", -1}, {"p11", 2}};
  for (const auto& [id, day] : people) {
    IndexEntries e;
    if (day >= 0)
      e.dates.push_back({"birthdate", kJan2026 + day * kDay, kJan2026 + (day + 1) * kDay});
    e.tokens.push_back({"active", "", "true", {}, {}, {}});
    s.put("Patient", id, e);
  }
  for (bool descending : {false, true}) {
    CAPTURE(descending);
    IndexQuery q =
        on("Patient", all(any(TokenCond{"active", std::nullopt, "true", {}, {}, {}, false})));
    q.sort = {{SortSpec::Kind::kParam, IndexTable::kDate, "birthdate", descending}};
    q.count = 3;
    std::vector<std::vector<std::string>> forward;
    std::optional<std::string> previous;
    for (int i = 0; i < 10; ++i) {
      auto page = s.page(q);
      std::vector<std::string> ids;
      for (const auto& v : page.matches) ids.push_back(v.id);
      forward.push_back(ids);
      previous = page.previous_cursor;
      if (!page.next_cursor) break;
      q.cursor = *page.next_cursor;
    }
    REQUIRE(forward.size() == 4);
    // The last page holds patients without a birth date; walk back from it.
    std::vector<std::vector<std::string>> backward;
    while (previous) {
      q.cursor = *previous;
      auto page = s.page(q);
      std::vector<std::string> ids;
      for (const auto& v : page.matches) ids.push_back(v.id);
      backward.push_back(ids);
      previous = page.previous_cursor;
    }
    REQUIRE(backward.size() == 3);
    CHECK(backward[0] == forward[2]);
    CHECK(backward[1] == forward[1]);
    CHECK(backward[2] == forward[0]);
  }
}
