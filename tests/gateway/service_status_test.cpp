#include "gateway/service_status.hpp"

#include <doctest/doctest.h>

using namespace cg::gateway;
using namespace std::chrono_literals;

TEST_CASE("the status line: listeners, then the last minute's load") {
  const std::vector<std::string> listeners{"FHIR on http://0.0.0.0:8080/fhir",
                                           "HL7v2 MLLP on 0.0.0.0:2575"};
  const LoadSample start{};
  CHECK(service_status(listeners, nullptr, start, 60s) ==
        "FHIR on http://0.0.0.0:8080/fhir, HL7v2 MLLP on 0.0.0.0:2575");
  const LoadSample before{1000, 10, 5000, 3};
  const LoadSample now{2204, 66, 6318, 9};
  CHECK(service_status(listeners, &before, now, 60s) ==
        "FHIR on http://0.0.0.0:8080/fhir, HL7v2 MLLP on 0.0.0.0:2575; last 60 s: 1,204 HTTP "
        "requests, 56 HL7v2 messages, 1,318 audit records; 9 connections");
  const LoadSample one{2204, 66, 6318, 1};
  CHECK(service_status({"FHIR on x"}, &now, one, 60s) ==
        "FHIR on x; last 60 s: 0 HTTP requests, 0 HL7v2 messages, 0 audit records; 1 connection");
}

TEST_CASE("thousands separators") {
  CHECK(thousands(0) == "0");
  CHECK(thousands(999) == "999");
  CHECK(thousands(1000) == "1,000");
  CHECK(thousands(1234567) == "1,234,567");
}
