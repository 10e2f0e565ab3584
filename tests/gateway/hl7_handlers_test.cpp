#include "gateway/hl7_handlers.hpp"

#include <doctest/doctest.h>

#include "protocols/hl7v2/parser.hpp"
#include "storage/index_query.hpp"
#include "storage/write_gate.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
namespace st = cg::storage;

namespace {

st::StoreConfig gated(std::shared_ptr<st::WriteGate> write_gate) {
  st::StoreConfig config;
  config.write_gate = std::move(write_gate);
  return config;
}

struct Gateway {
  st::testing::TempDir dir;
  std::unique_ptr<st::ResourceStore> store;
  std::unique_ptr<st::MessageArchive> archive;
  std::unique_ptr<hl7v2::MessageReceiver> receiver;

  // `write_gate`: the store's (storage/write_gate.hpp); null: none.
  explicit Gateway(std::shared_ptr<st::WriteGate> write_gate = nullptr)
      : store(st::testing::open_store(dir.path() / "clinical", gated(write_gate))) {
    st::ArchiveConfig config;
    config.file = dir.path() / "clinical" / "clinical.db";
    archive = std::move(st::MessageArchive::open(*store, config).value());
    hl7v2::ReceiverConfig receiving;
    if (auto* gate = write_gate.get()) {
      receiving.write_refusal_reason = [gate] { return gate->write_refusal_reason(); };
    }
    receiver = std::make_unique<hl7v2::MessageReceiver>(*archive, std::move(receiving));
    gateway::Hl7Settings settings;
    settings.identifier_systems["CLINIC"] = "http://clinic.example/mrn";
    gateway::register_hl7_handlers(*receiver, *store, settings);
  }

  hl7v2::Message answer(const std::string& message) {
    auto ack = hl7v2::parse(receiver->receive(message, "test"));
    REQUIRE(ack.ok());
    return std::move(*ack);
  }
  std::string ack_code(const std::string& message) { return answer(message).get("MSA-1"); }

  std::vector<st::StoredVersion> patients(std::string_view identifier) {
    st::IndexQuery q;
    q.types = {"Patient"};
    st::TokenCond t{
        "identifier", std::string("http://clinic.example/mrn"), std::string(identifier), {}, {}, {},
        false};
    q.where.all_of.push_back(st::OrGroup{{st::Condition{t}}});
    return store->search_index(q).value().matches;
  }
};

std::string a28(std::string_view control_id, std::string_view mrn_escaped,
                std::string_view family) {
  return "MSH|^~\\&|EMR|CLINIC|GW|GW|20261121||ADT^A28^ADT_A05|" + std::string(control_id) +
         "|P|2.5.1\rPID|1||" + std::string(mrn_escaped) + "^^^CLINIC^MR||" + std::string(family) +
         "^Ada||19900101|F\r";
}

}  // namespace

TEST_CASE("the identity feed creates one Patient per identifier and updates it in place") {
  Gateway g;
  CHECK(g.ack_code(a28("1", "M-1", "Okafor")) == "AA");
  auto first = g.patients("M-1");
  REQUIRE(first.size() == 1);
  CHECK(g.ack_code(a28("2", "M-1", "Okafor-Nwosu")) == "AA");
  auto second = g.patients("M-1");
  REQUIRE(second.size() == 1);
  CHECK(second[0].id == first[0].id);
  CHECK(second[0].version == 2);
  CHECK(second[0].json.find("Okafor-Nwosu") != std::string::npos);
}

TEST_CASE("identifiers holding search delimiters (, | $ \\) still match exactly") {
  Gateway g;
  // PID-3 "A,B|C$D\E" written with HL7 escapes for | and \ .
  CHECK(g.ack_code(a28("1", "A,B\\F\\C$D\\E\\E", "Otieno")) == "AA");
  CHECK(g.ack_code(a28("2", "A,B\\F\\C$D\\E\\E", "Otieno")) == "AA");
  auto found = g.patients("A,B|C$D\\E");
  REQUIRE(found.size() == 1);
  CHECK(found[0].version == 2);
  CHECK(g.patients("A").empty());
}

TEST_CASE("a visit event without its PV1 is AE 100 and stores nothing, not even the Patient") {
  Gateway g;
  std::string a01 = a28("1", "M-9", "Kamau");
  a01.replace(a01.find("ADT^A28^ADT_A05"), 15, "ADT^A01^ADT_A01");
  CHECK(g.ack_code(a01) == "AE");
  CHECK(g.patients("M-9").empty());
}

TEST_CASE("VXU: the Immunization is found by patient and vaccine code, and a resend updates it") {
  Gateway g;
  auto vxu = [](std::string_view control_id, std::string_view lot) {
    return "MSH|^~\\&|EMR|CLINIC|GW|GW|20261121103000+0100||VXU^V04^VXU_V04|" +
           std::string(control_id) +
           "|P|2.5.1\rPID|1||M-20^^^CLINIC^MR||Wanjiru^Amani||20250301|F\r"
           "ORC|RE||IZ-4711^CLINIC\r"
           "RXA|0|1|20261121100000||08^Hep B, adolescent or pediatric^CVX|0.5|mL^^UCUM||"
           "00^new record^NIP001||||||" +
           std::string(lot) + "||MSD^Merck^MVX|||CP|A\r";
  };
  auto immunizations = [&](st::Condition condition) {
    st::IndexQuery q;
    q.types = {"Immunization"};
    q.where.all_of.push_back(st::OrGroup{{std::move(condition)}});
    return g.store->search_index(q).value().matches;
  };
  CHECK(g.ack_code(vxu("VXU-1", "LOT-A")) == "AA");
  auto patient = g.patients("M-20");
  REQUIRE(patient.size() == 1);
  st::ReferenceCond by_patient;
  by_patient.param = "patient";
  by_patient.target_type = "Patient";
  by_patient.target_id = patient[0].id;
  auto found = immunizations(st::Condition{by_patient});
  REQUIRE(found.size() == 1);
  st::TokenCond by_vaccine{
      "vaccine-code", std::string("http://hl7.org/fhir/sid/cvx"), "08", {}, {}, {}, false};
  auto coded = immunizations(st::Condition{by_vaccine});
  REQUIRE(coded.size() == 1);
  CHECK(coded[0].id == found[0].id);

  // The same administration sent again under a new control id (a correction of the lot).
  CHECK(g.ack_code(vxu("VXU-2", "LOT-B")) == "AA");
  auto after = immunizations(st::Condition{by_patient});
  REQUIRE(after.size() == 1);
  CHECK(after[0].id == found[0].id);
  CHECK(after[0].version == 2);
  CHECK(after[0].json.find("LOT-B") != std::string::npos);
  CHECK(g.patients("M-20").size() == 1);
}

TEST_CASE("VXU without RXA is AE and stores nothing") {
  Gateway g;
  CHECK(g.ack_code("MSH|^~\\&|EMR|CLINIC|GW|GW|20261121||VXU^V04^VXU_V04|VXU-9|P|2.5.1\r"
                   "PID|1||M-21^^^CLINIC^MR||Kiprop^Tom\r") == "AE");
  CHECK(g.patients("M-21").empty());
}

TEST_CASE("ORU^R01 stores searchable results; a corrected resend updates them") {
  Gateway g;
  auto search = [&](std::string type, st::Condition condition) {
    st::IndexQuery q;
    q.types = {std::move(type)};
    q.where.all_of.push_back(st::OrGroup{{std::move(condition)}});
    return g.store->search_index(q).value().matches;
  };
  auto by_code = [&](std::string code) {
    return search(
        "Observation",
        st::Condition{st::TokenCond{
            "code", std::string("http://loinc.org"), std::move(code), {}, {}, {}, false}});
  };
  auto reference = [](std::string param, std::string type, std::string id) {
    st::ReferenceCond r;
    r.param = std::move(param);
    r.target_type = std::move(type);
    r.target_id = std::move(id);
    return st::Condition{r};
  };
  auto oru = [](std::string_view control_id, std::string_view potassium, std::string_view status) {
    return "MSH|^~\\&|LAB|CLINIC|GW|GW|20261121090000+0300||ORU^R01^ORU_R01|" +
           std::string(control_id) +
           "|P|2.5.1\r"
           "PID|1||M-5^^^CLINIC^MR||Wanjiru^Esther||19800202|F\r"
           "ORC|RE|PL-1|F-77^LAB\r"
           "OBR|1|PL-1|F-77^LAB|24326-1^Electrolytes^LN|||20261121080000+0300|||||||||||||||"
           "|||" +
           std::string(status) +
           "\r"
           "OBX|1|NM|2951-2^Sodium^LN||140|mmol/L^^UCUM|135-145|N|||F\r"
           "OBX|2|NM|2823-3^Potassium^LN||" +
           std::string(potassium) + "|mmol/L^^UCUM|3.5-5.1||||" + std::string(status) + "\r";
  };
  CHECK(g.ack_code(oru("R-1", "5.9", "F")) == "AA");
  auto patients = g.patients("M-5");
  REQUIRE(patients.size() == 1);
  auto sodium = by_code("2951-2");
  auto potassium = by_code("2823-3");
  REQUIRE(sodium.size() == 1);
  REQUIRE(potassium.size() == 1);
  CHECK(potassium[0].json.find("5.9") != std::string::npos);
  auto of_patient = search("Observation", reference("subject", "Patient", patients[0].id));
  CHECK(of_patient.size() == 2);
  auto reports = search("DiagnosticReport", reference("result", "Observation", potassium[0].id));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].json.find("\"final\"") != std::string::npos);

  CHECK(g.ack_code(oru("R-2", "4.9", "C")) == "AA");
  auto corrected = by_code("2823-3");
  REQUIRE(corrected.size() == 1);
  CHECK(corrected[0].id == potassium[0].id);
  CHECK(corrected[0].version == 2);
  CHECK(corrected[0].json.find("4.9") != std::string::npos);
  CHECK(corrected[0].json.find("\"corrected\"") != std::string::npos);
  CHECK(by_code("2951-2").size() == 1);
  CHECK(g.patients("M-5").size() == 1);
  auto reports_after =
      search("DiagnosticReport", reference("result", "Observation", potassium[0].id));
  REQUIRE(reports_after.size() == 1);
  CHECK(reports_after[0].id == reports[0].id);
  CHECK(reports_after[0].json.find("\"corrected\"") != std::string::npos);

  // Not a number where OBX-2 says NM: AE, and nothing of the message is stored.
  std::string bad = oru("R-3", "high", "F");
  CHECK(g.ack_code(bad) == "AE");
  CHECK(by_code("2823-3")[0].version == 2);
}

TEST_CASE("a lab result's sparse PID never overwrites the demographics the ADT feed stored") {
  Gateway g;
  std::string adt = a28("1", "M-30", "Chebet");
  adt.insert(adt.size() - 1, "|||12 Kondele Rd^^Kisumu^^40100^KE");
  CHECK(g.ack_code(adt) == "AA");
  const std::string oru =
      "MSH|^~\\&|LAB|CLINIC|GW|GW|20261121103000+0300||ORU^R01^ORU_R01|ORU-30|P|2.5.1\r"
      "PID|1||M-30^^^CLINIC^MR||CHEBET\r"
      "OBR|1||FIL-30^LAB|718-7^Hemoglobin^LN|||20261121090000+0300|||||||||||||||20261121100000+"
      "0300|||F\r"
      "OBX|1|NM|718-7^Hemoglobin^LN||13.2|g/dL^g/dL^UCUM|12-16||||F\r";
  CHECK(g.ack_code(oru) == "AA");
  auto patient = g.patients("M-30");
  REQUIRE(patient.size() == 1);
  CHECK(patient[0].version == 1);
  CHECK(patient[0].json.find("Kondele") != std::string::npos);
  // A result for a patient the gateway has never seen creates it.
  std::string unknown = oru;
  unknown.replace(unknown.find("M-30"), 4, "M-31");
  unknown.replace(unknown.find("ORU-30"), 6, "ORU-31");
  unknown.replace(unknown.find("FIL-30"), 6, "FIL-31");
  CHECK(g.ack_code(unknown) == "AA");
  CHECK(g.patients("M-31").size() == 1);
}

TEST_CASE("SIU: an S15 with the S12's SCH-2 cancels the one Appointment, found by patient") {
  Gateway g;
  auto siu = [](std::string_view event, std::string_view control_id) {
    return "MSH|^~\\&|SCHED|CLINIC|GW|GW|20261121090000+0300||SIU^" + std::string(event) +
           "^SIU_S12|" + std::string(control_id) +
           "|P|2.5.1\r"
           "SCH||APT-7^SCHED|||||CHECKUP^Check-up^HL70276||20|min|^^^202611251000\r"
           "PID|1||M-40^^^CLINIC^MR||Otieno^Brian||19750505|M\r"
           "RGS|1\r"
           "AIP|1||77^Achieng^Grace^^^Dr\r";
  };
  auto appointments = [&](std::string_view patient_id) {
    st::ReferenceCond r;
    r.param = "patient";
    r.target_type = "Patient";
    r.target_id = std::string(patient_id);
    st::IndexQuery q;
    q.types = {"Appointment"};
    q.where.all_of.push_back(st::OrGroup{{st::Condition{r}}});
    return g.store->search_index(q).value().matches;
  };
  CHECK(g.ack_code(siu("S12", "S-1")) == "AA");
  auto patient = g.patients("M-40");
  REQUIRE(patient.size() == 1);
  auto booked = appointments(patient[0].id);
  REQUIRE(booked.size() == 1);
  CHECK(booked[0].json.find("\"booked\"") != std::string::npos);

  CHECK(g.ack_code(siu("S15", "S-2")) == "AA");
  auto cancelled = appointments(patient[0].id);
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0].id == booked[0].id);
  CHECK(cancelled[0].version == 2);
  CHECK(cancelled[0].json.find("\"cancelled\"") != std::string::npos);
  CHECK(g.patients("M-40").size() == 1);
}

TEST_CASE("a full disk: AR 207 naming the disk, nothing stored; once it heals the resend is AA") {
  bool healed = false;
  st::WriteGateConfig config;
  config.directory = std::filesystem::temp_directory_path();
  config.min_free_bytes = 0;
  config.probe = [&healed](const std::filesystem::path&) -> Status {
    return healed ? ok_status() : Status(Error::unavailable("still full"));
  };
  auto gate = std::make_shared<st::WriteGate>(std::move(config));
  Gateway g(gate);
  (void)gate->note_failure(st::DiskProblem::kFull, "database or disk is full");

  hl7v2::Message refused = g.answer(a28("F1", "M-9", "Okafor"));
  CHECK(refused.get("MSA-1") == "AR");  // never AA: the sender keeps the message
  REQUIRE(refused.find("ERR") != nullptr);
  CHECK(refused.find("ERR")->get(3) == "207");
  CHECK(refused.get("ERR-8").find("disk is full") != std::string::npos);
  CHECK(refused.get("ERR-8").find("Okafor") == std::string::npos);
  CHECK(g.patients("M-9").empty());
  // A message with an error would be AE, but its answer cannot be archived either: AR.
  hl7v2::Message unarchived = g.answer(
      "MSH|^~\\&|EMR|CLINIC|GW|GW|20261121||ADT^A01^ADT_A01|F2|P|2.5.1\rPID|1||M-8^^^CLINIC^MR||"
      "Doe^Ann\r");
  CHECK(unarchived.get("MSA-1") == "AR");
  CHECK(unarchived.get("ERR-8").find("disk is full") != std::string::npos);

  healed = true;
  REQUIRE(gate->check());
  CHECK(g.ack_code(a28("F1", "M-9", "Okafor")) == "AA");
  CHECK(g.patients("M-9").size() == 1);
}
