#include "protocols/hl7v2/path.hpp"

#include <doctest/doctest.h>

using namespace cg::hl7v2;

TEST_CASE("a full terse path names segment, field, repetition, component and subcomponent") {
  auto p = parse_path("PID-3(2).4.1");
  REQUIRE(p);
  CHECK(*p == Path{"PID", 0, 3, 2, 4, 1});
  CHECK(to_string(*p) == "PID-3(2).4.1");
}

TEST_CASE("segment occurrences are written [n] and read as [n] or (n)") {
  auto p = parse_path("OBX[3]-5");
  REQUIRE(p);
  CHECK(*p == Path{"OBX", 3, 5, 0, 0, 0});
  auto hapi = parse_path("OBX(3)-5");
  REQUIRE(hapi);
  CHECK(*hapi == *p);
  CHECK(to_string(*hapi) == "OBX[3]-5");
}

TEST_CASE("HAPI's dashes between component and subcomponent are accepted") {
  auto p = parse_path("PID-3(2)-4-1");
  REQUIRE(p);
  CHECK(*p == Path{"PID", 0, 3, 2, 4, 1});
}

TEST_CASE("trailing parts may be left out") {
  CHECK(*parse_path("PID") == Path{"PID", 0, 0, 0, 0, 0});
  CHECK(*parse_path("PID-3") == Path{"PID", 0, 3, 0, 0, 0});
  CHECK(*parse_path("PID-3.4") == Path{"PID", 0, 3, 0, 4, 0});
  CHECK(*parse_path("MSH-9.2") == Path{"MSH", 0, 9, 0, 2, 0});
  CHECK(*parse_path("ZB1[2]") == Path{"ZB1", 2, 0, 0, 0, 0});
  CHECK(to_string(Path{"PID", 0, 3, 0, 4, 0}) == "PID-3.4");
}

TEST_CASE("malformed paths are kInvalid") {
  for (const char* text :
       {"",         "PI",          "pid-3",      "1ID-3",    "PID3",
        "PID-",     "PID-0",       "PID-3(0)",   "PID-3(2",  "PID-3.",
        "PID-3..1", "PID-3.1.1.1", "PID-100000", "PID[0]-1", "PID[2",
        "PID-3 ",   "PID-3(1)(2)", "PID.3",      "PID-3.-1", "PID-99999999999999999999"}) {
    CAPTURE(text);
    auto p = parse_path(text);
    REQUIRE_FALSE(p);
    CHECK(p.error().kind == cg::ErrorKind::kInvalid);
  }
}

TEST_CASE("the largest numbers are accepted") {
  CHECK(parse_path("PID-99999(99999).99999.99999"));
  CHECK(parse_path("OBX[1000000]-1"));
  CHECK_FALSE(parse_path("OBX[1000001]-1"));
}

TEST_CASE("segment ids are an upper-case letter and two upper-case letters or digits") {
  CHECK(is_segment_id("MSH"));
  CHECK(is_segment_id("ZB1"));
  CHECK(is_segment_id("PV1"));
  CHECK_FALSE(is_segment_id("1PV"));
  CHECK_FALSE(is_segment_id("Pid"));
  CHECK_FALSE(is_segment_id("PI"));
  CHECK_FALSE(is_segment_id("PIDX"));
}
