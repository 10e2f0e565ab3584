#include "protocols/fhir/rest/code_subsumption.hpp"

#include <doctest/doctest.h>

#include <set>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/fhir_api.hpp"
#include "protocols/fhir/rest/valueset_expansion.hpp"
#include "temp_store.hpp"

using namespace cg;
using namespace cg::fhir;
namespace json = boost::json;

namespace {

constexpr std::string_view kSys = "http://example.org/cs/findings";

// A store with an API in front of it: CodeSystems and Observations are written through the
// API so that they are indexed as in production.
struct Server {
  testing::TempStore store;
  FhirApi api{*store, FhirApiConfig{}};

  http::Response call(std::string method, const std::string& target, std::string body = {}) {
    http::Request r;
    r.method = std::move(method);
    r.target = target;
    r.body = std::move(body);
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/fhir+json");
    auto q = target.find('?');
    return api.handle(r, target.substr(0, q), q == std::string::npos ? "" : target.substr(q + 1),
                      "http://gw.test/fhir");
  }

  std::string create(const std::string& type, const std::string& body) {
    auto r = call("POST", type, body);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    std::string loc(r.header("Location"));
    auto start = loc.find("/" + type + "/") + type.size() + 2;
    return loc.substr(start, loc.find('/', start) - start);
  }

  // Observations are created with one coding each; the answer is the set of their codes.
  std::string observation(const std::string& system, const std::string& code,
                          const std::string& extra = {}) {
    return create("Observation", R"({"resourceType":"Observation","status":"final",
      "code":{"coding":[{"system":")" +
                                     system + R"(","code":")" + code + R"("}]})" + extra + "}");
  }

  // The codes of the Observations a search finds (REQUIREs 200).
  std::set<std::string> codes(const std::string& target) {
    auto r = call("GET", target);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    std::set<std::string> out;
    auto bundle = parse_json(r.body)->as_object();
    if (const auto* entries = bundle.if_contains("entry")) {
      for (const auto& e : entries->as_array()) {
        const auto& res = e.at("resource").as_object();
        if (res.at("resourceType") != "Observation") continue;
        out.insert(std::string(res.at("code").at("coding").at(0).at("code").as_string()));
      }
    }
    return out;
  }

  // A 400's diagnostics and expression.
  std::pair<std::string, std::string> refused(const std::string& target) {
    auto r = call("GET", target);
    REQUIRE_MESSAGE(r.status == 400, r.body);
    auto issue = parse_json(r.body)->as_object().at("issue").at(0).as_object();
    return {std::string(issue.at("diagnostics").as_string()),
            std::string(issue.at("expression").at(0).as_string())};
  }
};

using Codes = std::set<std::string>;

// findings (is-a, nested):   a ─┬─ a1 ─── a11
//                               └─ a2
//                            b
void store_nested(Server& s) {
  s.create("CodeSystem", R"({"resourceType":"CodeSystem","url":")" + std::string(kSys) + R"(",
    "status":"active","content":"complete","hierarchyMeaning":"is-a","concept":[
      {"code":"a","concept":[{"code":"a1","concept":[{"code":"a11"}]},{"code":"a2"}]},
      {"code":"b"}]})");
  for (const char* code : {"a", "a1", "a11", "a2", "b"}) s.observation(std::string(kSys), code);
  s.observation("http://other.org", "a1");  // same code, other system: never matches
}

std::string below(const std::string& value) {
  return "Observation?code:below=" + value;
}
std::string above(const std::string& value) {
  return "Observation?code:above=" + value;
}
std::string sys(const std::string& code) {
  return std::string(kSys) + "|" + code;
}

}  // namespace

TEST_CASE(":below finds the code and every concept nested under it") {
  Server s;
  store_nested(s);
  CHECK(s.codes(below(sys("a"))) == Codes{"a", "a1", "a11", "a2"});
  CHECK(s.codes(below(sys("a1"))) == Codes{"a1", "a11"});
  CHECK(s.codes(below(sys("a11"))) == Codes{"a11"});
  CHECK(s.codes(below(sys("b"))) == Codes{"b"});
}

TEST_CASE(":above finds the code and every ancestor") {
  Server s;
  store_nested(s);
  CHECK(s.codes(above(sys("a11"))) == Codes{"a", "a1", "a11"});
  CHECK(s.codes(above(sys("a2"))) == Codes{"a", "a2"});
  CHECK(s.codes(above(sys("a"))) == Codes{"a"});
}

TEST_CASE("the rewrite is a plain OR of system|code tokens, and leaves other criteria alone") {
  Server s;
  store_nested(s);
  std::vector<search::ParamView> params{{"code:below", "http://example.org/cs/findings|a1"},
                                        {"code:not", "http://other.org|a1"},
                                        {"subject:below", "Patient/1"}};
  auto request =
      search::parse_search("Observation", std::span<const search::ParamView>(params), {}, false);
  REQUIRE(request.ok());
  REQUIRE(expand_subsumption_criteria(*request, *s.store).ok());
  const auto& c = request->criteria[0];
  CHECK(c.modifier == search::Modifier::kNone);
  CHECK(c.raw_value == "http://example.org/cs/findings|a1");  // the self link shows the query
  REQUIRE(c.any_of.size() == 2);
  for (const auto& v : c.any_of) {
    const auto& t = std::get<search::TokenValue>(v);
    CHECK(t.system_match == search::SystemMatch::kExact);
    CHECK(t.system == kSys);
  }
  CHECK(std::get<search::TokenValue>(c.any_of[0]).code == "a1");
  CHECK(std::get<search::TokenValue>(c.any_of[1]).code == "a11");
  CHECK(request->criteria[1].modifier == search::Modifier::kNot);
  CHECK(request->criteria[2].modifier == search::Modifier::kBelow);  // a reference: not ours
}

TEST_CASE("parent, child and subsumedBy properties build the hierarchy too") {
  Server s;
  // root ─ mid (mid says parent=root) ─ leaf (mid says child=leaf) ; side subsumedBy root;
  // a declared property "broader" with the concept-properties#parent uri counts; a local
  // "parent" declared with some other uri does not.
  s.create("CodeSystem", R"({"resourceType":"CodeSystem","url":"http://example.org/cs/props",
    "status":"active","content":"complete",
    "property":[{"code":"broader","uri":"http://hl7.org/fhir/concept-properties#parent","type":"code"},
                {"code":"parent","uri":"http://example.org/not-a-hierarchy","type":"code"}],
    "concept":[{"code":"root"},
      {"code":"mid","property":[{"code":"broader","valueCode":"root"}]},
      {"code":"leaf"},
      {"code":"side","property":[{"code":"subsumedBy","valueCode":"root"}]},
      {"code":"loose","property":[{"code":"parent","valueCode":"root"}]},
      {"code":"mid2","property":[{"code":"child","valueCode":"leaf"},
                                 {"code":"broader","valueCode":"mid"}]}]})");
  const std::string p = "http://example.org/cs/props";
  for (const char* code : {"root", "mid", "leaf", "side", "loose", "mid2"}) s.observation(p, code);
  CHECK(s.codes(below(p + "|root")) == Codes{"root", "mid", "mid2", "leaf", "side"});
  CHECK(s.codes(below(p + "|mid")) == Codes{"mid", "mid2", "leaf"});
  CHECK(s.codes(above(p + "|leaf")) == Codes{"leaf", "mid2", "mid", "root"});
  CHECK(s.codes(above(p + "|loose")) == Codes{"loose"});
}

TEST_CASE("undeclared parent and child properties count, with nested concepts") {
  Server s;
  s.create("CodeSystem", R"({"resourceType":"CodeSystem","url":"http://example.org/cs/mixed",
    "status":"active","content":"complete","concept":[
      {"code":"x","concept":[{"code":"x1"}]},
      {"code":"y","property":[{"code":"parent","valueCode":"x1"}]},
      {"code":"z","property":[{"code":"child","valueCode":"x"}]}]})");
  const std::string m = "http://example.org/cs/mixed";
  for (const char* code : {"x", "x1", "y", "z"}) s.observation(m, code);
  CHECK(s.codes(below(m + "|z")) == Codes{"z", "x", "x1", "y"});
  CHECK(s.codes(above(m + "|y")) == Codes{"y", "x1", "x", "z"});
}

TEST_CASE("a cycle in the hierarchy ends: each code is visited once") {
  Server s;
  s.create("CodeSystem", R"({"resourceType":"CodeSystem","url":"http://example.org/cs/cycle",
    "status":"active","content":"complete","concept":[
      {"code":"p","property":[{"code":"parent","valueCode":"r"}],
       "concept":[{"code":"q","property":[{"code":"child","valueCode":"q"}]}]},
      {"code":"r","property":[{"code":"parent","valueCode":"q"}]},
      {"code":"alone"}]})");
  const std::string c = "http://example.org/cs/cycle";
  for (const char* code : {"p", "q", "r", "alone"}) s.observation(c, code);
  CHECK(s.codes(below(c + "|p")) == Codes{"p", "q", "r"});
  CHECK(s.codes(above(c + "|q")) == Codes{"p", "q", "r"});
  CHECK(s.codes(below(c + "|alone")) == Codes{"alone"});
}

TEST_CASE("ORed values are each expanded, codes found twice are searched once") {
  Server s;
  store_nested(s);
  CHECK(s.codes(below(sys("a1") + "," + sys("b"))) == Codes{"a1", "a11", "b"});
  CHECK(s.codes(below(sys("a") + "," + sys("a1"))) == Codes{"a", "a1", "a11", "a2"});
  s.create("CodeSystem", R"({"resourceType":"CodeSystem","url":"http://other.org",
    "status":"active","content":"complete","concept":[{"code":"a1"}]})");
  auto both = s.call("GET", below(sys("a11") + ",http://other.org|a1") + "&_summary=count");
  REQUIRE_MESSAGE(both.status == 200, both.body);
  CHECK(parse_json(both.body)->at("total") == 2);  // kSys a11 and other.org a1
  // Repeating the parameter ANDs the expansions.
  CHECK(s.codes(below(sys("a")) + "&code:above=" + sys("a11")) == Codes{"a", "a1", "a11"});
}

TEST_CASE("chained, reverse-chained and compartment searches expand too") {
  Server s;
  store_nested(s);
  std::string patient = s.create("Patient", R"({"resourceType":"Patient"})");
  std::string obs = s.observation(std::string(kSys), "a11",
                                  R"(,"subject":{"reference":"Patient/)" + patient + R"("})");
  std::string other = s.observation(std::string(kSys), "b");
  s.create("DiagnosticReport", R"({"resourceType":"DiagnosticReport","status":"final",
    "code":{"text":"r1"},"result":[{"reference":"Observation/)" +
                                   obs + R"("}]})");
  s.create("DiagnosticReport", R"({"resourceType":"DiagnosticReport","status":"final",
    "code":{"text":"r2"},"result":[{"reference":"Observation/)" +
                                   other + R"("}]})");
  auto total = [&](const std::string& target) {
    auto r = s.call("GET", target);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return parse_json(r.body)->at("total").as_int64();
  };
  CHECK(total("DiagnosticReport?result.code:below=" + sys("a")) == 1);
  CHECK(total("DiagnosticReport?result:Observation.code:below=" + sys("b")) == 1);
  CHECK(total("DiagnosticReport?result.code:above=" + sys("a1")) == 0);
  CHECK(total("Patient?_has:Observation:subject:code:below=" + sys("a1")) == 1);
  CHECK(total("Patient/" + patient + "/Observation?code:below=" + sys("a")) == 1);
  CHECK(total("Patient/" + patient + "/Observation?code:below=" + sys("b")) == 0);
  CHECK(s.refused("DiagnosticReport?result.code:below=" + sys("nope")).second ==
        "result.code:below");
}

TEST_CASE("values without system or code, unknown systems and unknown codes are 400") {
  Server s;
  store_nested(s);
  auto [no_system, where] = s.refused(below("a"));
  CHECK(where == "code:below");
  CHECK(no_system.find("system|code") != std::string::npos);
  CHECK(s.refused(below("|a")).second == "code:below");
  CHECK(s.refused(above(std::string(kSys) + "|")).second == "code:above");
  auto [unknown, at] = s.refused(below("http://example.org/cs/unknown|a"));
  CHECK(at == "code:below");
  CHECK(unknown.find("http://example.org/cs/unknown") != std::string::npos);
  CHECK(unknown.find("not stored") != std::string::npos);
  auto [no_code, at2] = s.refused(above(sys("zz")));
  CHECK(at2 == "code:above");
  CHECK(no_code.find("'zz'") != std::string::npos);
  CHECK(no_code.find(std::string(kSys)) != std::string::npos);
}

TEST_CASE("a CodeSystem without concepts or with a non-is-a hierarchy is refused") {
  Server s;
  s.create("CodeSystem", R"({"resourceType":"CodeSystem","url":"http://example.org/cs/empty",
    "status":"active","content":"not-present"})");
  auto [absent, where] = s.refused(below("http://example.org/cs/empty|a"));
  CHECK(where == "code:below");
  CHECK(absent.find("http://example.org/cs/empty") != std::string::npos);
  for (const char* meaning : {"grouped-by", "part-of", "classified-with"}) {
    const std::string url = std::string("http://example.org/cs/") + meaning;
    s.create("CodeSystem", R"({"resourceType":"CodeSystem","url":")" + url +
                               R"(","status":"active","content":"complete","hierarchyMeaning":")" +
                               meaning + R"(","concept":[{"code":"a"}]})");
    auto [why, at] = s.refused(below(url + "|a"));
    CHECK(at == "code:below");
    CHECK(why.find("not subsumption") != std::string::npos);
    CHECK(why.find(url) != std::string::npos);
  }
  s.create("CodeSystem", R"({"resourceType":"CodeSystem","url":"http://example.org/cs/frag",
    "status":"active","content":"fragment","concept":[{"code":"a","concept":[{"code":"b"}]}]})");
  s.observation("http://example.org/cs/frag", "b");
  CHECK(s.codes(below("http://example.org/cs/frag|a")) == Codes{"b"});
}

TEST_CASE("the latest written CodeSystem of a url is used; a deleted one is not stored") {
  Server s;
  const std::string url = "http://example.org/cs/versioned";
  auto put = [&](const std::string& id, const std::string& version, const std::string& concepts) {
    auto r = s.call("PUT", "CodeSystem/" + id,
                    R"({"resourceType":"CodeSystem","id":")" + id + R"(","url":")" + url +
                        R"(","version":")" + version +
                        R"(","status":"active","content":"complete","concept":)" + concepts + "}");
    REQUIRE_MESSAGE(r.status / 100 == 2, r.body);
  };
  // cs-a is written last and has the smaller id: it wins whether or not both writes fall in
  // the same millisecond (the tie-break), so the test does not depend on the clock.
  put("cs-b", "2", R"([{"code":"a","concept":[{"code":"new"}]}])");
  put("cs-a", "1", R"([{"code":"a","concept":[{"code":"old"}]}])");
  for (const char* code : {"a", "old", "new"}) s.observation(url, code);
  CHECK(s.codes(below(url + "|a")) == Codes{"a", "old"});
  put("cs-a", "1", R"([{"code":"a"}])");  // its current version is what counts
  CHECK(s.codes(below(url + "|a")) == Codes{"a"});
  REQUIRE(s.call("DELETE", "CodeSystem/cs-a").status / 100 == 2);
  CHECK(s.codes(below(url + "|a")) == Codes{"a", "new"});
  REQUIRE(s.call("DELETE", "CodeSystem/cs-b").status / 100 == 2);
  CHECK(s.refused(below(url + "|a")).first.find("not stored") != std::string::npos);
}

TEST_CASE("more codes than kMaxValueSetCodes are refused naming the parameter") {
  Server s;
  auto system_of = [](std::size_t children) {
    std::string concepts;
    for (std::size_t i = 0; i < children; ++i)
      concepts += std::string(i ? "," : "") + R"({"code":"c)" + std::to_string(i) + R"("})";
    return R"({"resourceType":"CodeSystem","status":"active","content":"complete",
      "url":"http://example.org/cs/big)" +
           std::to_string(children) + R"(","concept":[{"code":"root","concept":[)" + concepts +
           "]}]}";
  };
  s.create("CodeSystem", system_of(kMaxValueSetCodes - 1));  // root + 1,999: at the cap
  s.create("CodeSystem", system_of(kMaxValueSetCodes));      // root + 2,000: one over
  s.create("CodeSystem", system_of(300));
  const std::string at_cap = "http://example.org/cs/big" + std::to_string(kMaxValueSetCodes - 1);
  const std::string over = "http://example.org/cs/big" + std::to_string(kMaxValueSetCodes);
  auto expanded = [&](const std::string& value) -> Result<std::size_t> {
    std::vector<search::ParamView> params{{"code:below", value}};
    auto request =
        search::parse_search("Observation", std::span<const search::ParamView>(params), {}, false);
    REQUIRE(request.ok());
    if (auto st = expand_subsumption_criteria(*request, *s.store); !st) return st.take_error();
    return request->criteria[0].any_of.size();
  };
  auto full = expanded(at_cap + "|root");
  REQUIRE(full.ok());
  CHECK(*full == kMaxValueSetCodes);
  auto one_over = expanded(over + "|root");
  REQUIRE_FALSE(one_over.ok());
  CHECK(one_over.error().location == "code:below");
  CHECK(one_over.error().message.find(std::to_string(kMaxValueSetCodes)) != std::string::npos);
  CHECK(one_over.error().message.find(over) != std::string::npos);
  // The cap counts the codes of all ORed values together.
  CHECK_FALSE(expanded(at_cap + "|root," + over + "|c1").ok());
  CHECK(expanded(over + "|c1").ok());
  // Through the API: a 400 naming the parameter, and a large expansion that is searched.
  CHECK(s.refused(below(over + "|root")).second == "code:below");
  s.observation("http://example.org/cs/big300", "c299");
  CHECK(s.codes(below("http://example.org/cs/big300|root")) == Codes{"c299"});
}

TEST_CASE(":not and other modifiers are left to the planner") {
  Server s;
  store_nested(s);
  CHECK(s.codes("Observation?code:not=" + sys("a")) == Codes{"a1", "a11", "a2", "b"});
  CHECK(s.codes("Observation?code=" + sys("a")) == Codes{"a"});
}
