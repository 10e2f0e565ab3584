#include "gateway/audit_intake.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <future>
#include <string>

#include "tests/atna/audit_samples.hpp"
#include "tests/http/log_capture.hpp"
#include "tests/storage/store_fixture.hpp"

namespace cg::gateway {
namespace {

using atna::testing::ipf_audit;
using atna::testing::ipf_audit_files;
using atna::testing::read_bytes;

constexpr std::int64_t kReceived = 1'709'280'000'000;

// What util-linux logger --rfc5424 sends, around `payload`.
std::string syslog_of(std::string_view payload) {
  return "<85>1 2024-03-01T08:15:30.250+01:00 emr.clinic.local ATNA 4242 IHE+DICOM - " +
         std::string(payload);
}

storage::AuditRecord record_of(std::string_view message,
                               const hl7v2::IdentifierSystems& systems = {}) {
  return audit_record(message, "tcp", "10.0.0.7", kReceived, audit_map_options(systems));
}

bool has_key(const storage::AuditRecord& r, std::string_view param, std::string_view system,
             std::string_view code) {
  return std::any_of(r.keys.begin(), r.keys.end(), [&](const storage::AuditKey& k) {
    return k.param == param && k.system == system && k.code == code;
  });
}

constexpr std::string_view kFhirAuditEvent = R"({
  "resourceType": "AuditEvent",
  "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
  "action": "R",
  "recorded": "2024-03-01T08:15:30Z",
  "outcome": "0",
  "agent": [{"who": {"identifier": {"value": "nurse-1"}}, "requestor": true}],
  "source": {"observer": {"display": "tablet-3"}},
  "entity": [{
    "what": {"identifier": {"system": "urn:oid:1.2.3", "value": "P-77"}},
    "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
    "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}
  }]
})";

}  // namespace

TEST_CASE("every IPF sample in a syslog message becomes a stored AuditEvent with its keys") {
  auto files = ipf_audit_files();
  if (files.empty()) {
    MESSAGE("skipped: ../shared/data/atna/ipf is absent");
    return;
  }
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const std::string xml = read_bytes(file);
    const storage::AuditRecord r = record_of(syslog_of(xml));
    CHECK(r.problem.empty());
    CHECK(r.format == "dicom");
    CHECK(r.raw == xml);  // the payload, without the syslog header
    CHECK(r.transport == "tcp");
    CHECK(r.peer == "10.0.0.7");
    CHECK(r.received_ms == kReceived);
    CHECK(r.recorded_ms.has_value());
    CHECK(std::count_if(r.keys.begin(), r.keys.end(),
                        [](const auto& k) { return k.param == "type"; }) == 1);
    const auto event = boost::json::parse(r.resource_json);
    CHECK(event.at("resourceType") == "AuditEvent");
  }
  const storage::AuditRecord feed = record_of(syslog_of(ipf_audit("pixfeed.xml")));
  CHECK(has_key(feed, "patient-identifier", "urn:oid:2.16.840.1.113883.3.37.4.1.1.2.411.1",
                "7627199"));
  CHECK(has_key(feed, "subtype", "urn:ihe:event-type-code", "ITI-8"));
}

TEST_CASE("patient identifiers get the system the HL7v2 feed gives their authority") {
  auto xml = ipf_audit("pixfeed.xml");
  if (xml.empty()) {
    MESSAGE("skipped: ../shared/data/atna/ipf is absent");
    return;
  }
  SUBCASE("a configured namespace wins over the OID, as in the patient feed") {
    hl7v2::IdentifierSystems systems;
    systems.by_namespace.emplace("HZLN", "http://hzln.example/mrn");
    const storage::AuditRecord r = record_of(syslog_of(xml), systems);
    CHECK(has_key(r, "patient-identifier", "http://hzln.example/mrn", "7627199"));
  }
  SUBCASE("a namespace-only authority: configured, else urn:cg:authority") {
    auto pos = xml.find("HZLN&amp;2.16.840.1.113883.3.37.4.1.1.2.411.1&amp;ISO");
    REQUIRE(pos != std::string::npos);
    xml.replace(pos, std::string("HZLN&amp;2.16.840.1.113883.3.37.4.1.1.2.411.1&amp;ISO").size(),
                "HZLN");
    CHECK(has_key(record_of(syslog_of(xml)), "patient-identifier", "urn:cg:authority:HZLN",
                  "7627199"));
    hl7v2::IdentifierSystems systems;
    systems.by_namespace.emplace("HZLN", "http://hzln.example/mrn");
    CHECK(has_key(record_of(syslog_of(xml), systems), "patient-identifier",
                  "http://hzln.example/mrn", "7627199"));
  }
  CHECK(hl7v2::identifier_system("HZLN", "", "", {}) == "urn:cg:authority:HZLN");
}

TEST_CASE("a FHIR AuditEvent in JSON is validated and kept as it is") {
  const storage::AuditRecord r = record_of(syslog_of(kFhirAuditEvent));
  CHECK(r.problem.empty());
  CHECK(r.format == "fhir");
  CHECK(r.raw == kFhirAuditEvent);
  CHECK(boost::json::parse(r.resource_json) == boost::json::parse(kFhirAuditEvent));
  CHECK(has_key(r, "patient-identifier", "urn:oid:1.2.3", "P-77"));
  CHECK(has_key(r, "agent-identifier", "", "nurse-1"));
  REQUIRE(r.recorded_ms.has_value());
  CHECK(*r.recorded_ms == 1'709'280'930'000);
}

TEST_CASE("unreadable input is kept whole and flagged, never dropped") {
  struct Case {
    std::string message;
    std::string format;
    std::string problem;
  };
  const std::string broken_fhir =
      R"({"resourceType": "AuditEvent", "recorded": "yesterday", "outcome": 0})";
  for (const Case& c : {
           Case{"no PRI, no syslog", "unknown", "not a syslog message"},
           Case{syslog_of("free text with DOE^JANE"), "unknown", "not an audit record"},
           Case{syslog_of(""), "unknown", "not an audit record: empty payload"},
           Case{syslog_of("<AuditMessage><EventIdentification EventDateTime=\"x\"/>"), "unknown",
                "not an audit record"},
           Case{syslog_of(R"(<AuditMessage><EventIdentification EventActionCode="R" )"
                          R"(EventDateTime="2024-03-01T08:15:30Z" EventOutcomeIndicator="0">)"
                          R"(<EventID csd-code="110110" codeSystemName="DCM"/>)"
                          R"(</EventIdentification></AuditMessage>)"),
                "dicom", "audit XML not readable"},
           Case{syslog_of(broken_fhir), "fhir", "FHIR AuditEvent not valid"},
       }) {
    CAPTURE(c.message);
    const storage::AuditRecord r = record_of(c.message);
    CHECK(r.format == c.format);
    CHECK(r.problem.rfind(c.problem, 0) == 0);
    CHECK(r.raw == c.message);  // whole, header included
    CHECK(r.resource_json.empty());
    CHECK(r.keys.empty());
    CHECK_FALSE(r.recorded_ms.has_value());
    CHECK(r.problem.find("DOE^JANE") == std::string::npos);
  }
}

TEST_CASE("AuditIntake stores a batch as one job and completes it after the commit") {
  storage::testing::TempDir dir;
  storage::AuditStoreConfig config;
  config.directory = dir.path();
  auto store = storage::AuditStore::open(config);
  REQUIRE(store.ok());
  http::testing::LogCapture logs;
  AuditIntake intake(**store, {}, logs.sink());

  atna::SyslogBatch batch;
  batch.transport = "udp";
  batch.received_ms = kReceived;
  batch.messages.push_back({syslog_of(kFhirAuditEvent), "10.0.0.8"});
  batch.messages.push_back({"<13>1 - host app - - - DOE^JANE was here", "10.0.0.9"});
  std::promise<bool> stored;
  intake.ingest(std::move(batch), [&stored](bool ok) { stored.set_value(ok); });
  auto done = stored.get_future();
  REQUIRE(done.wait_for(storage::testing::kWaitLimit) == std::future_status::ready);
  CHECK(done.get());
  CHECK(intake.counters().records == 2);
  CHECK(intake.counters().unreadable == 1);

  auto rows = (*store)->since(0, 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].record.format == "fhir");
  CHECK((*rows)[0].record.peer == "10.0.0.8");
  CHECK((*rows)[0].record.transport == "udp");
  CHECK((*rows)[1].record.problem.rfind("not an audit record", 0) == 0);
  CHECK((*rows)[1].record.raw == "<13>1 - host app - - - DOE^JANE was here");

  storage::AuditQuery by_patient;
  by_patient.all_of = {{"patient-identifier", {{"", "urn:oid:1.2.3", "P-77"}}}};
  auto found = (*store)->search(by_patient);
  REQUIRE(found.ok());
  CHECK(found->size() == 1);
  CHECK(
      logs.contains("1 unreadable audit record(s) stored flagged (latest from 10.0.0.9 over udp"));
  CHECK_FALSE(logs.contains("DOE^JANE"));
}

TEST_CASE("AuditIntake: a store that refuses the batch completes it as not stored") {
  storage::testing::TempDir dir;
  storage::AuditStoreConfig config;
  config.directory = dir.path();
  auto store = storage::AuditStore::open(config);
  REQUIRE(store.ok());
  (*store)->close();  // a closed store refuses every job
  http::testing::LogCapture logs;
  AuditIntake intake(**store, {}, logs.sink());
  atna::SyslogBatch batch;
  batch.transport = "tcp";
  batch.messages.push_back({syslog_of(kFhirAuditEvent), "10.0.0.8"});
  std::promise<bool> stored;
  intake.ingest(std::move(batch), [&stored](bool ok) { stored.set_value(ok); });
  auto done = stored.get_future();
  REQUIRE(done.wait_for(storage::testing::kWaitLimit) == std::future_status::ready);
  CHECK_FALSE(done.get());
  CHECK(intake.counters().store_failures == 1);
  CHECK(logs.contains("audit.db did not store 1 audit record(s)"));
}

}  // namespace cg::gateway
