#include "gateway/hl7_metrics.hpp"

#include <doctest/doctest.h>

using namespace cg::gateway;

namespace {
const std::string kAdt =
    "MSH|^~\\&|EMR|CLINIC|CG|CLINIC|20261121101500||ADT^A01^ADT_A01|MSG1|P|2.5\r"
    "PID|1||12345^^^KISUMU||Otieno^Amina\r";
const std::string kAck =
    "MSH|^~\\&|CG|CLINIC|EMR|CLINIC|20261121101501||ACK^A01^ACK|CG1|P|2.5\rMSA|AE|MSG1\r";
}  // namespace

TEST_CASE("MSH-9 code and trigger, and MSA-1, read straight from the bytes") {
  auto t = hl7_message_type(kAdt);
  CHECK(t.code == "ADT");
  CHECK(t.trigger == "A01");
  CHECK(hl7_message_type("MSH#^~\\&#A#B#C#D#T##ORU^R01#1#P#2.5\r").code == "ORU");
  CHECK(hl7_message_type("MSH|^~\\&|A|B|C|D|T||ADT|1|P|2.5").trigger.empty());
  CHECK(hl7_message_type("PID|1").code.empty());
  CHECK(hl7_message_type("MSH|^~\\&|short").code.empty());
  CHECK(hl7_ack_code(kAck) == "AE");
  CHECK(hl7_ack_code("MSH|^~\\&|CG\nMSA|AA|1\n") == "AA");
  CHECK(hl7_ack_code("MSH|^~\\&|CG\r").empty());
  CHECK(hl7_ack_code("garbage").empty());
}

TEST_CASE("messages are counted by known type and ack code; the rest is \"other\"") {
  Hl7Metrics m({"ADT^A01", "ORU^R01"});
  m.record(kAdt, kAck);
  m.record(kAdt, kAck);
  m.record("MSH|^~\\&|A|B|C|D|T||ZZZ^Z99|1|P|2.5\r", "MSH|^~\\&|CG\rMSA|AR|1\r");
  m.record("not hl7 at all", "MSH|^~\\&|CG\rMSA|XX|1\r");
  CHECK(m.count("ADT^A01", "AE") == 2);
  CHECK(m.count("ADT^A01", "AA") == 0);
  CHECK(m.count("other", "AR") == 1);
  CHECK(m.count("other", "other") == 1);
  PrometheusText out;
  m.write(out);
  CHECK(out.text() ==
        "# HELP clinic_gateway_hl7_messages_total HL7v2 messages received over MLLP, by message "
        "type (MSH-9) and acknowledgment code (MSA-1).\n"
        "# TYPE clinic_gateway_hl7_messages_total counter\n"
        "clinic_gateway_hl7_messages_total{type=\"ADT^A01\",ack=\"AE\"} 2\n"
        "clinic_gateway_hl7_messages_total{type=\"other\",ack=\"AR\"} 1\n"
        "clinic_gateway_hl7_messages_total{type=\"other\",ack=\"other\"} 1\n");
}
