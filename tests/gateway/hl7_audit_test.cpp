#include "gateway/hl7_audit.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/base64.hpp"
#include "protocols/fhir/model/validation.hpp"
#include "protocols/hl7v2/parser.hpp"
#include "tests/gateway/hl7_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

// Every HL7v2 message a handler or answerer ran for leaves an audit record: stored ones in
// the message's own commit, failures and queries after the answer. Driven through the
// receiver with the gateway's handlers, as the daemon wires them.
namespace {

std::string code_of(const boost::json::value& coding) {
  return std::string(coding.at("code").as_string());
}

std::vector<std::string> subtypes(const boost::json::object& e) {
  std::vector<std::string> out;
  for (const auto& s : e.at("subtype").as_array()) out.push_back(code_of(s));
  return out;
}

bool has(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// The entities of `e` with this object role (1 patient, 4 resource, 24 query).
std::vector<boost::json::object> entities(const boost::json::object& e, std::string_view role) {
  std::vector<boost::json::object> out;
  for (const auto& x : e.at("entity").as_array()) {
    if (x.at("role").at("code").as_string() == role) out.push_back(x.as_object());
  }
  return out;
}

const std::string kAdmit =
    "EVN|A01|20261121080000\rPID|1||M-1^^^CLINIC^MR~N-1^^^&2.16.1&ISO^NI||Achieng^Mary||"
    "19800101|F\rPV1|1|I|WARD^1^2||||||||||||||||V-1^^^CLINIC^VN\r";

std::string patient_id(testing::Hl7Gateway& g, std::string_view mrn) {
  auto found = g.find("Patient", "identifier", "http://clinic.example/mrn", std::string(mrn));
  REQUIRE(found.size() == 1);
  return "Patient/" + found[0].id;
}

}  // namespace

TEST_CASE(
    "ADT^A01 leaves an ITI-8 Patient Record, found by patient and identifier, committed "
    "with the message") {
  testing::Hl7Gateway g(true);
  g.peer = "10.1.2.3";
  REQUIRE(g.send(kAdmit, "ADT^A01^ADT_A01").get("MSA-1") == "AA");
  auto by_patient = g.audit_records("patient", patient_id(g, "M-1"));
  REQUIRE(by_patient.size() == 1);
  const auto& e = by_patient[0];
  CHECK(fhir::validate_structure(e).empty());
  CHECK(code_of(e.at("type")) == "110110");
  CHECK(has(subtypes(e), "ITI-8"));
  CHECK(has(subtypes(e), "A01"));
  CHECK(e.at("action").as_string() == "C");
  CHECK(e.at("outcome").as_string() == "0");
  const auto& sender = e.at("agent").as_array()[0];
  CHECK(sender.at("who").at("identifier").at("value").as_string() == "EMR|WARD");
  CHECK(sender.at("network").at("address").as_string() == "10.1.2.3");
  CHECK(sender.at("requestor").as_bool());
  CHECK(code_of(e.at("agent").as_array()[1].at("type").at("coding").as_array()[0]) == "110152");
  // The patient, its two identifiers, and the Encounter written with it.
  CHECK(entities(e, "1").size() == 3);
  CHECK(entities(e, "4").size() == 1);
  const auto patients = entities(e, "1");
  const auto& detail = patients[0].at("detail").as_array()[0];
  CHECK(detail.at("type").as_string() == "MSH-10");
  CHECK(detail.at("valueBase64Binary").as_string() == base64_encode("C1"));
  CHECK(g.audit_records("patient-identifier", "N-1").size() == 1);
  // Through the outbox of clinical.db (it commits with the message), not the emit queue.
  CHECK(g.emitter->counters().moved == 1);
  CHECK(g.emitter->counters().emitted == 0);
}

TEST_CASE("identity feed, update and merge events get their IHE transaction and action") {
  testing::Hl7Gateway g(true);
  REQUIRE(g.send("PID|1||M-2^^^CLINIC^MR||Otieno^John\r", "ADT^A28^ADT_A05").get("MSA-1") == "AA");
  REQUIRE(g.send("PID|1||M-2^^^CLINIC^MR||Otieno^Johnny\r", "ADT^A31^ADT_A05").get("MSA-1") ==
          "AA");
  auto records = g.audit_records("patient-identifier", "M-2");
  REQUIRE(records.size() == 2);
  CHECK(has(subtypes(records[0]), "ITI-30"));
  CHECK(records[0].at("action").as_string() == "U");
  CHECK(has(subtypes(records[1]), "A28"));
  CHECK(records[1].at("action").as_string() == "C");

  REQUIRE(g.send("PID|1||M-3^^^CLINIC^MR||Otieno^J\r", "ADT^A28^ADT_A05").get("MSA-1") == "AA");
  REQUIRE(g.send("EVN|A40|20261121103000\rPID|1||M-2^^^CLINIC^MR||Otieno^John\r"
                 "MRG|M-3^^^CLINIC^MR\r",
                 "ADT^A40^ADT_A39")
              .get("MSA-1") == "AA");
  auto merged = g.audit_records("patient-identifier", "M-3");
  REQUIRE(merged.size() == 2);
  CHECK(has(subtypes(merged[0]), "ITI-8"));
  CHECK(has(subtypes(merged[0]), "A40"));
  CHECK(merged[0].at("action").as_string() == "U");
  // Both patients are named: the survivor and the merged-away one.
  CHECK(g.audit_records("patient", patient_id(g, "M-2")).size() == 3);
}

TEST_CASE("VXU is a Patient Record without an IHE transaction, naming the Immunization") {
  testing::Hl7Gateway g(true);
  REQUIRE(g.send("PID|1||M-20^^^CLINIC^MR||Wanjiru^Amani||20250301|F\rORC|RE||IZ-4711^CLINIC\r"
                 "RXA|0|1|20261121100000||08^Hep B^CVX|0.5|mL^^UCUM||00^new record^NIP001||||||"
                 "LOT-A||MSD^Merck^MVX|||CP|A\r",
                 "VXU^V04^VXU_V04")
              .get("MSA-1") == "AA");
  auto records = g.audit_records("patient-identifier", "M-20");
  REQUIRE(records.size() == 1);
  CHECK(subtypes(records[0]) == std::vector<std::string>{"V04"});
  CHECK(records[0].at("action").as_string() == "C");
  auto resources = entities(records[0], "4");
  REQUIRE(resources.size() == 1);
  CHECK(resources[0].at("what").at("reference").as_string().starts_with("Immunization/"));
}

TEST_CASE("a failed message leaves an outcome-4 record after its AE, and stores nothing") {
  testing::Hl7Gateway g(true);
  // A visit event without its PV1: AE 100.
  REQUIRE(g.send("PID|1||M-9^^^CLINIC^MR||Kamau^Ann\r", "ADT^A01^ADT_A01").get("MSA-1") == "AE");
  auto records = g.audit_records("patient-identifier", "M-9");
  REQUIRE(records.size() == 1);
  CHECK(records[0].at("outcome").as_string() == "4");
  CHECK(!records[0].at("outcomeDesc").as_string().empty());
  CHECK(entities(records[0], "1").size() == 1);  // the identifier; no Patient was written
  CHECK(g.emitter->counters().moved == 0);
  // A resend is a duplicate: answered from the archive, nothing run, nothing recorded.
  g.control = 0;
  REQUIRE(g.send("PID|1||M-9^^^CLINIC^MR||Kamau^Ann\r", "ADT^A01^ADT_A01").get("MSA-1") == "AE");
  CHECK(g.audit_records("patient-identifier", "M-9").size() == 1);
}

TEST_CASE("PDQ leaves an ITI-21 Query record with the QPD and the patients answered") {
  testing::Hl7Gateway g(true);
  REQUIRE(g.send("PID|1||M-1^^^CLINIC^MR||Achieng^Mary\r", "ADT^A28^ADT_A05").get("MSA-1") == "AA");
  REQUIRE(g.send("PID|1||M-2^^^CLINIC^MR||Achieng^Grace\r", "ADT^A28^ADT_A05").get("MSA-1") ==
          "AA");
  const std::string qpd = "QPD|IHE PDQ Query|Q1|@PID.5.1.1^ACHIENG";
  auto answer = g.send(qpd + "\rRCP|I\r", "QBP^Q22^QBP_Q21");
  REQUIRE(answer.count("PID") == 2);
  auto queries = g.audit_records("type", "110112");
  REQUIRE(queries.size() == 1);
  const auto& e = queries[0];
  CHECK(fhir::validate_structure(e).empty());
  CHECK(has(subtypes(e), "ITI-21"));
  CHECK(e.at("action").as_string() == "E");
  CHECK(e.at("outcome").as_string() == "0");
  auto query = entities(e, "24");
  REQUIRE(query.size() == 1);
  CHECK(query[0].at("query").as_string() == base64_encode(qpd));
  CHECK(entities(e, "1").size() == 2);
  CHECK(g.audit_records("patient-identifier", "M-2").size() == 2);  // its feed and the query

  // The same query again (a duplicate) discloses the same patients again: recorded again.
  g.control -= 1;
  REQUIRE(g.send(qpd + "\rRCP|I\r", "QBP^Q22^QBP_Q21").count("PID") == 2);
  auto again = g.audit_records("type", "110112");
  REQUIRE(again.size() == 2);
  CHECK(again[0].at("outcomeDesc").as_string().find("duplicate") != std::string::npos);
}

TEST_CASE("PIX names the identifier asked about; an unknown one is outcome 4") {
  testing::Hl7Gateway g(true);
  REQUIRE(g.send("PID|1||M-1^^^CLINIC^MR~N-1^^^&2.16.1&ISO^NI||Achieng^Mary\r", "ADT^A28^ADT_A05")
              .get("MSA-1") == "AA");
  REQUIRE(
      g.send("QPD|IHE PIX Query|P1|M-1^^^CLINIC^MR|\rRCP|I\r", "QBP^Q23^QBP_Q21").get("MSA-1") ==
      "AA");
  auto pix = g.audit_records("subtype", "ITI-9");
  REQUIRE(pix.size() == 1);
  CHECK(g.audit_records("patient-identifier", "N-1").size() == 2);

  REQUIRE(
      g.send("QPD|IHE PIX Query|P2|M-404^^^CLINIC^MR|\rRCP|I\r", "QBP^Q23^QBP_Q21").get("MSA-1") ==
      "AE");
  auto unknown = g.audit_records("patient-identifier", "M-404");
  REQUIRE(unknown.size() == 1);
  CHECK(unknown[0].at("outcome").as_string() == "4");
}

TEST_CASE(
    "a refused sender is a Node Authentication security alert; a query cancel is not "
    "recorded") {
  auto message = hl7v2::parse(
                     "MSH|^~\\&|ROGUE|NOWHERE|GW|GW|20261121||ADT^A01^ADT_A01|X1|P|2.5\r"
                     "PID|1||M-1^^^CLINIC^MR\r")
                     .value();
  hl7v2::AuditedMessage refused(message, {"10.9.9.9", "", "10.9.9.9"});
  refused.disposition = hl7v2::MessageDisposition::kSenderRefused;
  refused.ack_code = "AR";
  auto spec = hl7_message_event({"gw", ""}, refused, {});
  REQUIRE(spec);
  auto event = std::optional(build_audit_event({"gw", ""}, *spec, 0));
  CHECK(fhir::validate_structure(*event).empty());
  CHECK(code_of(event->at("type")) == "110113");
  CHECK(has(subtypes(*event), "110126"));
  CHECK(event->at("outcome").as_string() == "4");
  CHECK(!event->contains("entity"));  // nothing of the message was read

  auto cancel = hl7v2::parse(
                    "MSH|^~\\&|EMR|WARD|GW|GW|20261121||QCN^J01^QCN_J01|X2|P|2.5\r"
                    "QID|Q1|IHE PDQ Query\r")
                    .value();
  hl7v2::AuditedMessage cancelled(cancel, {"10.1.1.1", "", "10.1.1.1"});
  cancelled.disposition = hl7v2::MessageDisposition::kAnswered;
  cancelled.ack_code = "AA";
  CHECK(!hl7_message_event({"gw", ""}, cancelled, {}));
}

TEST_CASE("a reprocessed message is recorded again, marked as a rerun") {
  testing::Hl7Gateway g(true);
  REQUIRE(g.send("PID|1||M-5^^^CLINIC^MR||Njeri^Wambui\r", "ADT^A01^ADT_A01").get("MSA-1") == "AE");
  auto archived = g.archive->find({"EMR", "WARD", "C1"}).value();
  REQUIRE(archived);
  auto run = g.receiver->reprocess(archived->id);
  REQUIRE(run.ok());
  auto records = g.audit_records("patient-identifier", "M-5");
  REQUIRE(records.size() == 2);
  CHECK(records[0].at("outcomeDesc").as_string().find("rerun") != std::string::npos);
  CHECK(!records[0].at("agent").as_array()[0].as_object().contains("network"));
}
