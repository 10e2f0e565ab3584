#include "protocols/atna/syslog_writer.hpp"

#include <doctest/doctest.h>

#include "protocols/atna/syslog_framer.hpp"
#include "protocols/atna/syslog_timestamp.hpp"
#include "tests/atna/logger_samples.hpp"

namespace cg::atna {
namespace {

// What the gateway will send for one of its own audit records.
SyslogMessage gateway_audit() {
  SyslogMessage m;
  m.facility = 10;  // authpriv: "<85>", as ATNA audit messages usually carry
  m.severity = 5;
  m.timestamp = format_rfc5424_timestamp(1709280930250);
  m.hostname = "clinic-gw.local";
  m.app_name = "clinic-gateway";
  m.procid = "812";
  m.msgid = "IHE+RFC-3881";
  m.structured_data = {{"origin@32473", {{"software", "clinic \"gw\" [1]\\x"}}}};
  m.msg = "<?xml version=\"1.0\"?>\n<AuditMessage/>";
  m.msg_bom = true;
  return m;
}

std::string written(const SyslogMessage& m) {
  Result<std::string> text = format_rfc5424(m);
  if (!text) FAIL_CHECK(text.error().message);
  REQUIRE(text.ok());
  return std::move(text).value();
}

}  // namespace

TEST_CASE("a gateway audit record is written as RFC 5424 with escapes and BOM") {
  CHECK(written(gateway_audit()) ==
        "<85>1 2024-03-01T08:15:30.250Z clinic-gw.local clinic-gateway 812 IHE+RFC-3881 "
        "[origin@32473 software=\"clinic \\\"gw\\\" [1\\]\\\\x\"] \xEF\xBB\xBF"
        "<?xml version=\"1.0\"?>\n<AuditMessage/>");
}

TEST_CASE("empty fields are written as NILVALUE and an empty MSG leaves out its SP") {
  SyslogMessage m;
  m.facility = 0;
  m.severity = 0;
  CHECK(written(m) == "<0>1 - - - - - -");
}

TEST_CASE("what the writer writes parses back to the same fields") {
  SyslogMessage m = gateway_audit();
  Result<SyslogMessage> back = parse_syslog_message(written(m));
  REQUIRE(back.ok());
  m.format = SyslogFormat::kRfc5424;
  m.timestamp_ms = 1709280930250;
  CHECK(*back == m);
}

TEST_CASE("real logger messages parse and write back to the same bytes") {
  using namespace logger_samples;
  for (std::string_view sample : {kOctetCountedWithSd.substr(4), kOctetCounted.substr(3),
                                  kOctetCountedNil.substr(3), kRfc5424Datagram}) {
    CAPTURE(sample);
    Result<SyslogMessage> m = parse_syslog_message(sample);
    REQUIRE(m.ok());
    CHECK(written(*m) == sample);
  }
}

TEST_CASE("the octet frame of a written message is read back by the framer") {
  const std::string msg = written(gateway_audit());
  const std::string stream = octet_frame(msg);
  SyslogFramer framer;
  std::string_view input = stream;
  auto event = framer.extract(&input);
  REQUIRE(event);
  CHECK(event->message == msg);
}

TEST_CASE("fields the parser would not read back are refused, naming the field") {
  auto refused = [](SyslogMessage m) {
    Result<std::string> text = format_rfc5424(m);
    REQUIRE_FALSE(text.ok());
    CHECK(text.error().kind == ErrorKind::kInvalid);
    return text.error().message;
  };
  SyslogMessage m = gateway_audit();
  m.facility = 24;
  CHECK(refused(m) == "facility not 0..23");
  m = gateway_audit();
  m.severity = -1;
  CHECK(refused(m) == "severity not 0..7");
  m = gateway_audit();
  m.hostname = "clinic gw";
  CHECK(refused(m) == "HOSTNAME not printable ASCII");
  m = gateway_audit();
  m.app_name = std::string(49, 'a');
  CHECK(refused(m) == "APP-NAME longer than 48");
  m = gateway_audit();
  m.structured_data[0].id = "bad]id";
  CHECK(refused(m) == "SD-ID has a bad character");
  m = gateway_audit();
  m.structured_data[0].params[0].name = "";
  CHECK(refused(m) == "PARAM-NAME empty or has a bad character");
}

}  // namespace cg::atna
