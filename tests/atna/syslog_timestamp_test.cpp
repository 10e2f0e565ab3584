#include "protocols/atna/syslog_timestamp.hpp"

#include <doctest/doctest.h>

namespace cg::atna {

TEST_CASE("RFC 5424 §6.2.3.1 examples give their instants") {
  CHECK(rfc5424_timestamp_ms("1985-04-12T23:20:50.52Z") == 482196050520);
  CHECK(rfc5424_timestamp_ms("1985-04-12T19:20:50.52-04:00") == 482196050520);
  CHECK(rfc5424_timestamp_ms("2003-10-11T22:14:15.003Z") == 1065910455003);
  CHECK(rfc5424_timestamp_ms("2003-08-24T05:14:15.000003-07:00") == 1061727255000);
  CHECK(rfc5424_timestamp_ms("1970-01-01T00:00:00Z") == 0);
}

TEST_CASE("RFC 5424 §6.2.3.1 invalid examples and other broken forms give nothing") {
  CHECK_FALSE(rfc5424_timestamp_ms("1990-12-31T23:59:60Z"));      // leap second
  CHECK_FALSE(rfc5424_timestamp_ms("2003-10-11t22:14:15.003Z"));  // lower-case t
  CHECK_FALSE(rfc5424_timestamp_ms("2003-10-11T22:14:15.003z"));
  CHECK_FALSE(rfc5424_timestamp_ms("2003-10-11T22:14:15"));  // no offset
  CHECK_FALSE(rfc5424_timestamp_ms("2003-10-11T24:00:00Z"));
  CHECK_FALSE(rfc5424_timestamp_ms("2023-02-29T00:00:00Z"));
  CHECK(rfc5424_timestamp_ms("2024-02-29T00:00:00Z"));
  CHECK_FALSE(rfc5424_timestamp_ms("2003-10-11T22:14:15.Z"));
  CHECK_FALSE(rfc5424_timestamp_ms("2003-10-11T22:14:15Z "));
  CHECK_FALSE(rfc5424_timestamp_ms("2003-10-11T22:14:15+0100"));
  CHECK_FALSE(rfc5424_timestamp_ms(""));
}

TEST_CASE("more than six fraction digits are tolerated and truncated to milliseconds") {
  // RFC 5424 lists this one as invalid; senders that write 7+ digits exist, so it is read.
  CHECK(rfc5424_timestamp_ms("2003-08-24T05:14:15.000000003-07:00") == 1061727255000);
  CHECK(rfc5424_timestamp_ms("2024-01-01T00:00:00.1239999Z") ==
        rfc5424_timestamp_ms("2024-01-01T00:00:00.123Z"));
}

TEST_CASE("the RFC 3164 timestamp is recognised by shape and range") {
  CHECK(is_rfc3164_timestamp("Oct 11 22:14:15"));
  CHECK(is_rfc3164_timestamp("Feb  5 17:32:18"));
  CHECK(is_rfc3164_timestamp("Feb 05 17:32:18"));
  CHECK_FALSE(is_rfc3164_timestamp("Foo 11 22:14:15"));
  CHECK_FALSE(is_rfc3164_timestamp("Oct 32 22:14:15"));
  CHECK_FALSE(is_rfc3164_timestamp("Oct  0 22:14:15"));
  CHECK_FALSE(is_rfc3164_timestamp("Oct 11 25:14:15"));
  CHECK_FALSE(is_rfc3164_timestamp("Oct 11 22:14:1"));
  CHECK_FALSE(is_rfc3164_timestamp("oct 11 22:14:15"));
}

TEST_CASE("format_rfc5424_timestamp writes UTC milliseconds that read back") {
  CHECK(format_rfc5424_timestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc5424_timestamp(1709280930250) == "2024-03-01T08:15:30.250Z");
  CHECK(format_rfc5424_timestamp(-1) == "1969-12-31T23:59:59.999Z");
  for (std::int64_t ms :
       {std::int64_t{0}, std::int64_t{951782400123}, std::int64_t{4102444799999}}) {
    CHECK(rfc5424_timestamp_ms(format_rfc5424_timestamp(ms)) == ms);
  }
}

}  // namespace cg::atna
