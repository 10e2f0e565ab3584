#include "protocols/atna/syslog_datagram.hpp"

#include <doctest/doctest.h>

#include <string>

#include "tests/atna/logger_samples.hpp"

namespace cg::atna {

using namespace std::string_view_literals;

TEST_CASE("a logger datagram is one whole message") {
  Result<std::string_view> m = datagram_message(logger_samples::kRfc5424Datagram, 1024);
  REQUIRE(m.ok());
  CHECK(*m == logger_samples::kRfc5424Datagram);
}

TEST_CASE("one trailing LF, CRLF or NUL is dropped, nothing more") {
  CHECK(*datagram_message("<13>x\n", 100) == "<13>x");
  CHECK(*datagram_message("<13>x\r\n", 100) == "<13>x");
  CHECK(*datagram_message("<13>x\0"sv, 100) == "<13>x");
  CHECK(*datagram_message("<13>x\n\n", 100) == "<13>x\n");
  CHECK(*datagram_message("<13>x\r", 100) == "<13>x\r");
}

TEST_CASE("an empty datagram is invalid, a datagram over the limit too large") {
  CHECK(datagram_message("", 100).error().kind == ErrorKind::kInvalid);
  CHECK(datagram_message("\n", 100).error().kind == ErrorKind::kInvalid);
  CHECK(datagram_message("<13>x", 5).ok());
  CHECK(datagram_message("<13>xy", 5).error().kind == ErrorKind::kTooLarge);
  CHECK(datagram_message("<13>x\r\n", 5).ok());  // the trailer does not count
}

}  // namespace cg::atna
