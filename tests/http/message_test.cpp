#include "protocols/http/message.hpp"

#include <doctest/doctest.h>

namespace cg::http {

TEST_CASE("header lookup ignores case and returns the first value") {
  Request request;
  request.headers = {{"Content-Type", "application/fhir+json"}, {"X-A", "1"}, {"x-a", "2"}};
  CHECK(request.header("content-type") == "application/fhir+json");
  CHECK(request.header("X-A") == "1");
  CHECK(request.header("Missing").empty());
}

TEST_CASE("set_header replaces every header of that name whatever its case") {
  Response response;
  response.headers = {{"etag", "W/\"1\""}, {"ETag", "W/\"2\""}, {"Location", "/x"}};
  response.set_header("ETag", "W/\"3\"");
  CHECK(response.headers.size() == 2);
  CHECK(response.header("etag") == "W/\"3\"");
}

TEST_CASE("iequals compares lengths and letters only") {
  CHECK(iequals("Accept-Encoding", "accept-encoding"));
  CHECK_FALSE(iequals("gzip", "gzip2"));
  CHECK(iequals("", ""));
}

}  // namespace cg::http
