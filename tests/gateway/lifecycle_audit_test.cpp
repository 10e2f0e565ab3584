#include "gateway/lifecycle_audit.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/validation.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {

std::string code_of(const boost::json::value& coding) {
  return std::string(coding.at("code").as_string());
}

const AuditSource kSource{"clinic-7", "10.0.0.1"};

}  // namespace

TEST_CASE("start and stop are Application Activity with the gateway and its launcher") {
  ApplicationActivity start;
  start.launcher = "clinic-gateway";
  start.version = "0.1.0";
  auto e = application_event(kSource, start, 1'795'255'200'000);
  CHECK(fhir::validate_structure(e).empty());
  CHECK(code_of(e.at("type")) == "110100");
  CHECK(code_of(e.at("subtype").as_array()[0]) == "110120");
  CHECK(e.at("action").as_string() == "E");
  CHECK(e.at("outcome").as_string() == "0");
  const auto& agents = e.at("agent").as_array();
  REQUIRE(agents.size() == 2);
  CHECK(code_of(agents[0].at("type").at("coding").as_array()[0]) == "110150");
  CHECK(agents[0].at("who").at("identifier").at("value").as_string() == "clinic-7");
  CHECK(code_of(agents[1].at("type").at("coding").as_array()[0]) == "110151");
  CHECK(agents[1].at("who").at("identifier").at("value").as_string() == "clinic-gateway");

  ApplicationActivity stop;
  stop.start = false;
  auto s = application_event(kSource, stop, 0);
  CHECK(code_of(s.at("subtype").as_array()[0]) == "110121");
  CHECK(s.at("agent").as_array().size() == 1);  // no launcher known
}

TEST_CASE("a reload is a Security Configuration alert; problems make it outcome 4") {
  auto ok = reload_event(kSource, "", 0);
  CHECK(fhir::validate_structure(ok).empty());
  CHECK(code_of(ok.at("type")) == "110113");
  CHECK(code_of(ok.at("subtype").as_array()[0]) == "110129");
  CHECK(ok.at("outcome").as_string() == "0");
  auto bad = reload_event(kSource, "MLLP TLS: cannot read the key", 0);
  CHECK(bad.at("outcome").as_string() == "4");
  CHECK(bad.at("outcomeDesc").as_string().find("MLLP TLS") != std::string::npos);
}
