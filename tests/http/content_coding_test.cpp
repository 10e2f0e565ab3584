#include "protocols/http/content_coding.hpp"

#include <doctest/doctest.h>

#include "protocols/http/gzip.hpp"

namespace cg::http {

TEST_CASE("Accept-Encoding allows gzip by name, alias or wildcard unless q=0") {
  CHECK(accepts_gzip("gzip"));
  CHECK(accepts_gzip("deflate, gzip;q=0.5, br"));
  CHECK(accepts_gzip("GZIP"));
  CHECK(accepts_gzip("x-gzip"));
  CHECK(accepts_gzip("*"));
  CHECK(accepts_gzip("br;q=1.0, *;q=0.1"));
  CHECK(accepts_gzip("gzip ; q=1"));
  CHECK_FALSE(accepts_gzip(""));
  CHECK_FALSE(accepts_gzip("identity"));
  CHECK_FALSE(accepts_gzip("br, deflate"));
  CHECK_FALSE(accepts_gzip("gzip;q=0"));
  CHECK_FALSE(accepts_gzip("gzip;q=0.000"));
  CHECK_FALSE(accepts_gzip("gzip; q=0.0, *"));  // explicit refusal beats the wildcard
  CHECK_FALSE(accepts_gzip("*;q=0"));
  CHECK_FALSE(accepts_gzip("gzip;q=banana"));  // malformed qvalue counts as zero
  CHECK_FALSE(accepts_gzip("gzip;q=1.5"));
  CHECK(accepts_gzip("gzip;q=0.001"));
}

TEST_CASE("Content-Encoding is identity, gzip or unsupported") {
  CHECK(parse_content_encoding("") == ContentCoding::kIdentity);
  CHECK(parse_content_encoding("identity") == ContentCoding::kIdentity);
  CHECK(parse_content_encoding(" gzip ") == ContentCoding::kGzip);
  CHECK(parse_content_encoding("x-gzip") == ContentCoding::kGzip);
  CHECK(parse_content_encoding("br") == ContentCoding::kUnsupported);
  CHECK(parse_content_encoding("gzip, gzip") == ContentCoding::kUnsupported);
}

TEST_CASE("a gzip request body is inflated and its wire headers dropped") {
  Request request;
  const std::string json = R"({"resourceType":"Patient"})";
  request.body = *gzip_compress(json);
  request.headers = {{"Content-Encoding", "gzip"},
                     {"Content-Length", std::to_string(request.body.size())},
                     {"Content-Type", "application/fhir+json"}};
  REQUIRE(decode_request_body(request, 1024).ok());
  CHECK(request.body == json);
  CHECK(request.header("Content-Encoding").empty());
  CHECK(request.header("Content-Length").empty());
  CHECK(request.header("Content-Type") == "application/fhir+json");
}

TEST_CASE("request body decoding errors carry the right kind") {
  Request request;
  request.headers = {{"Content-Encoding", "gzip"}};
  SUBCASE("bomb") {
    request.body = *gzip_compress(std::string(100'000, 'x'));
    auto s = decode_request_body(request, 1000);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kTooLarge);
  }
  SUBCASE("corrupt") {
    request.body = "definitely not gzip";
    auto s = decode_request_body(request, 1000);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kInvalid);
  }
  SUBCASE("unsupported coding") {
    request.headers = {{"Content-Encoding", "br"}};
    auto s = decode_request_body(request, 1000);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::kUnsupported);
  }
  SUBCASE("identity is untouched") {
    request.headers.clear();
    request.body = "raw";
    REQUIRE(decode_request_body(request, 1).ok());  // limits are the parser's job here
    CHECK(request.body == "raw");
  }
}

TEST_CASE("responses are compressed only when accepted, large enough and not pre-encoded") {
  Response response;
  response.set_header("Content-Type", "application/fhir+json");
  const std::string body(4096, 'a');
  response.body = body;

  SUBCASE("accepted") {
    compress_response("gzip, deflate", response, 1024);
    CHECK(response.header("Content-Encoding") == "gzip");
    CHECK(response.header("Vary") == "Accept-Encoding");
    CHECK(*gzip_inflate(response.body, body.size()) == body);
  }
  SUBCASE("not accepted still varies") {
    compress_response("identity", response, 1024);
    CHECK(response.header("Content-Encoding").empty());
    CHECK(response.header("Vary") == "Accept-Encoding");
    CHECK(response.body == body);
  }
  SUBCASE("too small") {
    compress_response("gzip", response, 8192);
    CHECK(response.header("Content-Encoding").empty());
    CHECK(response.header("Vary").empty());
  }
  SUBCASE("handler chose an encoding") {
    response.set_header("Content-Encoding", "br");
    compress_response("gzip", response, 1024);
    CHECK(response.header("Content-Encoding") == "br");
    CHECK(response.body == body);
  }
  SUBCASE("already compressed media") {
    response.set_header("Content-Type", "image/jpeg");
    compress_response("gzip", response, 1024);
    CHECK(response.header("Content-Encoding").empty());
  }
  SUBCASE("existing Vary is extended once") {
    response.set_header("Vary", "Origin");
    compress_response("gzip", response, 1024);
    CHECK(response.header("Vary") == "Origin, Accept-Encoding");
  }
  SUBCASE("Vary that already names Accept-Encoding is kept") {
    response.set_header("Vary", "origin, accept-encoding");
    compress_response("gzip", response, 1024);
    CHECK(response.header("Vary") == "origin, accept-encoding");
  }
}

}  // namespace cg::http
