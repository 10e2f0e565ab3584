#include "gateway/hl7_merge.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include "gateway/hl7_handlers.hpp"
#include "protocols/fhir/rest/write_ops.hpp"
#include "protocols/hl7v2/parser.hpp"
#include "storage/index_query.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
namespace st = cg::storage;
namespace json = boost::json;

namespace {

constexpr const char* kMrn = "http://clinic.example/mrn";

// A receiver with the gateway's handlers on a real store in a temporary directory.
struct Gateway {
  st::testing::TempDir dir;
  std::unique_ptr<st::ResourceStore> store = st::testing::open_store(dir.path() / "clinical");
  std::unique_ptr<st::MessageArchive> archive;
  std::unique_ptr<hl7v2::MessageReceiver> receiver;

  Gateway() {
    st::ArchiveConfig config;
    config.file = dir.path() / "clinical" / "clinical.db";
    archive = std::move(st::MessageArchive::open(*store, config).value());
    receiver = std::make_unique<hl7v2::MessageReceiver>(*archive, hl7v2::ReceiverConfig{});
    gateway::Hl7Settings settings;
    settings.identifier_systems["CLINIC"] = kMrn;
    gateway::register_hl7_handlers(*receiver, *store, settings);
  }

  std::string ack_code(const std::string& message) {
    auto ack = hl7v2::parse(receiver->receive(message, "test"));
    REQUIRE(ack.ok());
    return ack->get("MSA-1");
  }

  std::vector<st::StoredVersion> find(const std::string& type, const std::string& system,
                                      const std::string& value) {
    st::IndexQuery q;
    q.types = {type};
    st::TokenCond t{"identifier", system, value, {}, {}, {}, false};
    q.where.all_of.push_back(st::OrGroup{{st::Condition{t}}});
    return store->search_index(q).value().matches;
  }

  // The one Patient with this MRN.
  json::object patient(const std::string& mrn) {
    auto found = find("Patient", kMrn, mrn);
    REQUIRE(found.size() == 1);
    return json::parse(found[0].json).as_object();
  }

  json::object read(const std::string& type, const std::string& id) {
    auto head = store->head(type, id).value();
    REQUIRE(head.has_value());
    return json::parse(head->json).as_object();
  }

  // What a REST PUT does: the write path with its index.
  void put(const std::string& type, const std::string& id, json::object resource) {
    Status status = store->write([&](st::WriteContext& ctx) -> Status {
      auto written = fhir::apply_update(ctx, type, id, std::move(resource), std::nullopt);
      return written ? ok_status() : Status(written.error());
    });
    REQUIRE(status.ok());
  }
};

std::string msh(std::string_view event, std::string_view control_id) {
  return "MSH|^~\\&|EMR|CLINIC|GW|GW|20261121103000+0100||ADT^" + std::string(event) + "|" +
         std::string(control_id) + "|P|2.5.1\r";
}

std::string a28(std::string_view control_id, std::string_view mrn, std::string_view family) {
  return msh("A28^ADT_A05", control_id) + "PID|1||" + std::string(mrn) + "^^^CLINIC^MR||" +
         std::string(family) + "^Ada||19900101|F\r";
}

std::string a40(std::string_view control_id, std::string_view survivor, std::string_view merged) {
  return msh("A40^ADT_A39", control_id) + "EVN|A40|20261121103000\rPID|1||" +
         std::string(survivor) + "^^^CLINIC^MR||Okafor^Ada||19900101|F\rMRG|" +
         std::string(merged) + "^^^CLINIC^MR\r";
}

bool has_identifier(const json::object& patient, std::string_view value) {
  for (const auto& id : patient.at("identifier").as_array()) {
    if (id.at("value").as_string() == value) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("A40 merges the second patient into the first and moves its references") {
  Gateway g;
  REQUIRE(g.ack_code(a28("1", "M-1", "Okafor")) == "AA");
  REQUIRE(g.ack_code(a28("2", "M-2", "Okafor")) == "AA");
  const std::string survivor = g.patient("M-1").at("id").as_string().c_str();
  const std::string merged = g.patient("M-2").at("id").as_string().c_str();
  g.put("Observation", "obs-1",
        json::parse(R"({"resourceType":"Observation","status":"final",
                        "code":{"text":"weight"},
                        "subject":{"reference":"Patient/)" +
                    merged + R"("},
                        "performer":[{"reference":"Patient/)" +
                    merged + R"("}]})")
            .as_object());

  CHECK(g.ack_code(a40("3", "M-1", "M-2")) == "AA");

  json::object kept = g.read("Patient", survivor);
  CHECK(has_identifier(kept, "M-1"));
  CHECK(has_identifier(kept, "M-2"));
  CHECK(kept.at("link").at(0).at("type") == "replaces");
  CHECK(kept.at("link").at(0).at("other").at("reference").as_string() == "Patient/" + merged);

  json::object replaced = g.read("Patient", merged);
  CHECK(replaced.at("active") == false);
  CHECK(replaced.at("link").at(0).at("type") == "replaced-by");
  CHECK(replaced.at("link").at(0).at("other").at("reference").as_string() == "Patient/" + survivor);

  json::object obs = g.read("Observation", "obs-1");
  CHECK(obs.at("subject").at("reference").as_string() == "Patient/" + survivor);
  CHECK(obs.at("performer").at(0).at("reference").as_string() == "Patient/" + survivor);

  // The same merge again (a new control id): nothing doubles.
  CHECK(g.ack_code(a40("4", "M-1", "M-2")) == "AA");
  CHECK(g.read("Patient", survivor).at("link").as_array().size() == 1);
  CHECK(g.read("Patient", merged).at("link").as_array().size() == 1);
}

TEST_CASE("A40 for a merged patient the gateway never saw still gives the survivor its ids") {
  Gateway g;
  CHECK(g.ack_code(a40("1", "M-1", "M-OLD")) == "AA");
  json::object created = g.patient("M-1");
  CHECK(has_identifier(created, "M-OLD"));
  CHECK_FALSE(created.contains("link"));
}

TEST_CASE("A40 whose merged identifiers match two patients is AE 205 and changes nothing") {
  Gateway g;
  REQUIRE(g.ack_code(a28("1", "M-1", "Okafor")) == "AA");
  REQUIRE(g.ack_code(a28("2", "M-2", "Okafor")) == "AA");
  REQUIRE(g.ack_code(a28("3", "M-3", "Okafor")) == "AA");
  std::string merge_two = a40("4", "M-1", "M-2");
  merge_two.replace(merge_two.find("MRG|M-2^^^CLINIC^MR"), 19, "MRG|M-2^^^CLINIC~M-3^^^CLINIC");
  auto ack = hl7v2::parse(g.receiver->receive(merge_two, "test"));
  REQUIRE(ack.ok());
  CHECK(ack->get("MSA-1") == "AE");
  CHECK(ack->get("ERR-3") == "205");
  CHECK(g.patient("M-1").at("meta").at("versionId") == "1");
}

TEST_CASE("moving references rewrites exact Patient references only") {
  json::value v = json::parse(R"({"a":{"reference":"Patient/x"},"b":[{"reference":"Patient/x"}],
      "c":{"reference":"Patient/xy"},"d":{"reference":"Patient/x/_history/2"},
      "e":{"display":"Patient/x"}})");
  CHECK(gateway::move_references(v, "x", "y"));
  CHECK(v.at("a").at("reference") == "Patient/y");
  CHECK(v.at("b").at(0).at("reference") == "Patient/y");
  CHECK(v.at("c").at("reference") == "Patient/xy");
  CHECK(v.at("d").at("reference") == "Patient/x/_history/2");
  CHECK(v.at("e").at("display") == "Patient/x");
  CHECK_FALSE(gateway::move_references(v, "x", "y"));
}

TEST_CASE("A01 then A03 with the same visit number: one Encounter, finished") {
  Gateway g;
  const std::string pid = "PID|1||M-1^^^CLINIC^MR||Okafor^Ada||19900101|F\r";
  CHECK(g.ack_code(msh("A01^ADT_A01", "1") + "EVN|A01\r" + pid +
                   "PV1|1|I|WARD3^301^B||||1234^Kamau^Wanjiru||||||||||||V-100^^^CLINIC^VN|||||||"
                   "||||||||||||||||||202611210900\r") == "AA");
  auto admitted = g.find("Encounter", kMrn, "V-100");
  REQUIRE(admitted.size() == 1);
  CHECK(json::parse(admitted[0].json).at("status") == "in-progress");
  CHECK(g.ack_code(msh("A03^ADT_A03", "2") + "EVN|A03\r" + pid +
                   "PV1|1|I|WARD3^301^B||||1234^Kamau^Wanjiru||||||||||||V-100^^^CLINIC^VN|||||||"
                   "||||||||||||||||||202611210900|202611231100\r") == "AA");
  auto discharged = g.find("Encounter", kMrn, "V-100");
  REQUIRE(discharged.size() == 1);
  CHECK(discharged[0].id == admitted[0].id);
  json::object encounter = json::parse(discharged[0].json).as_object();
  CHECK(encounter.at("status") == "finished");
  CHECK(encounter.at("period").at("end") == "2026-11-23T11:00:00+01:00");
  std::string subject(encounter.at("subject").at("reference").as_string());
  CHECK(subject == "Patient/" + std::string(g.patient("M-1").at("id").as_string()));
}
