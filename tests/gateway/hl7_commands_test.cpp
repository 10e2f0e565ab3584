#include "gateway/hl7_commands.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "gateway/daemon.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/hl7v2/parser.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using gateway::Hl7Command;

namespace {

Result<Hl7Command> parse_words(std::vector<std::string_view> words) {
  return gateway::parse_hl7_command(words);
}

std::string error_of(std::vector<std::string_view> words) {
  auto parsed = parse_words(std::move(words));
  REQUIRE_FALSE(parsed.ok());
  return parsed.error().message;
}

// A gateway's data directory with the daemon's side open on it, as while it serves: the
// commands under test open the same files a second time.
struct ServingGateway {
  storage::testing::TempDir dir;
  gateway::GatewayConfig config;
  std::unique_ptr<storage::ResourceStore> store;
  std::unique_ptr<storage::MessageArchive> archive;
  std::unique_ptr<hl7v2::MessageReceiver> receiver;

  ServingGateway() {
    config.data_dir = dir.path();
    config.mllp.enabled = true;
    config.hl7.identifier_systems["CLINIC"] = "http://clinic.example/mrn";
    store = std::move(storage::ResourceStore::open(gateway::store_config(config)).value());
    archive =
        std::move(storage::MessageArchive::open(*store, gateway::archive_config(config)).value());
    receiver = std::make_unique<hl7v2::MessageReceiver>(*archive, gateway::receiver_config(config));
    gateway::register_hl7_services(*receiver, *store, config);
  }
  ~ServingGateway() {
    archive->close();
    store->close();
  }

  std::string ack_code(const std::string& message) {
    return hl7v2::parse(receiver->receive(message, "127.0.0.1")).value().get("MSA-1");
  }

  // Runs "hl7 <words>" and returns its exit code; its output in out / err.
  int run(std::vector<std::string_view> words) {
    out.str("");
    err.str("");
    auto command = parse_words(std::move(words));
    REQUIRE_MESSAGE(command.ok(), (command.ok() ? "" : command.error().message));
    return gateway::run_hl7_command(*command, config, out, err);
  }

  void put_patient(const std::string& id) {
    auto json = fhir::parse_json(R"({"resourceType":"Patient","identifier":[{"system":)"
                                 R"("http://clinic.example/mrn","value":"M-1"}]})");
    REQUIRE(json.ok());
    const auto index = storage::tokens_only({{"identifier", "http://clinic.example/mrn", "M-1"}});
    REQUIRE(store
                ->write([&](storage::WriteContext& ctx) -> Status {
                  auto v = ctx.put("Patient", id, json->as_object(), index);
                  return v ? ok_status() : Status(v.error());
                })
                .ok());
  }

  std::ostringstream out, err;
};

const std::string kA28 =
    "MSH|^~\\&|EMR|CLINIC|GW|GW|20261121||ADT^A28^ADT_A05|ADT-1|P|2.5.1\r"
    "PID|1||M-1^^^CLINIC^MR||Okafor^Ada||19900101|F\r";

}  // namespace

TEST_CASE("hl7 arguments: the command, its id and options in any order") {
  auto list = parse_words(
      {"list", "--since", "2026-11-21", "--outcome", "ae", "--limit", "5", "--config", "gw.toml"});
  REQUIRE(list.ok());
  CHECK(list->verb == Hl7Command::Verb::kList);
  CHECK(list->config_file == "gw.toml");
  CHECK(list->query.since_ms == 1'795'219'200'000);
  CHECK(list->query.ack_code == "AE");
  CHECK(list->query.limit == 5);
  CHECK(parse_words({"list", "--config", "f", "--limit", "999999"})->query.limit ==
        gateway::kMaxListLimit);
  auto show = parse_words({"show", "--config", "f", "12"});
  REQUIRE(show.ok());
  CHECK(show->verb == Hl7Command::Verb::kShow);
  CHECK(show->message_id == 12);
  CHECK(parse_words({"reprocess", "12", "--config", "f"})->verb == Hl7Command::Verb::kReprocess);
}

TEST_CASE("hl7 arguments: what is wrong is said") {
  CHECK(error_of({}).find("list, show or reprocess") != std::string::npos);
  CHECK(error_of({"purge", "--config", "f"}).find("unknown command") != std::string::npos);
  CHECK(error_of({"list"}).find("--config") != std::string::npos);
  CHECK(error_of({"show", "--config", "f"}).find("which message") != std::string::npos);
  CHECK(error_of({"show", "0", "--config", "f"}).find("positive") != std::string::npos);
  CHECK(error_of({"show", "1", "2", "--config", "f"}).find("unexpected") != std::string::npos);
  CHECK(error_of({"list", "7", "--config", "f"}).find("unexpected") != std::string::npos);
  CHECK(error_of({"reprocess", "1", "--config", "f", "--limit", "3"}).find("'hl7 list' only") !=
        std::string::npos);
  CHECK(error_of({"list", "--config", "f", "--since", "yesterday"}).find("not a date") !=
        std::string::npos);
  CHECK(error_of({"list", "--config", "f", "--outcome", "OK"}).find("AA, AE or AR") !=
        std::string::npos);
  CHECK(error_of({"list", "--config", "f", "--limit", "0"}).find("positive") != std::string::npos);
  CHECK(error_of({"list", "--config"}).find("needs a value") != std::string::npos);
  CHECK(error_of({"list", "--config", "f", "--verbose", "1"}).find("unknown option") !=
        std::string::npos);
  CHECK(error_of({"show", "1", "--config", "f", "--verbose", "1"}).find("unknown option") !=
        std::string::npos);
}

TEST_CASE("an AE fixed in the store is reprocessed while the gateway serves: list, show, rerun") {
  ServingGateway gw;
  gw.put_patient("dup-a");
  gw.put_patient("dup-b");  // two Patients with one MRN: the feed cannot tell which one
  REQUIRE(gw.ack_code(kA28) == "AE");
  const auto id = std::to_string(gw.archive->find({"EMR", "CLINIC", "ADT-1"}).value()->id);

  REQUIRE(gw.run({"list", "--config", "f", "--outcome", "AE"}) == 0);
  CHECK(gw.out.str().find("\n" + id + "  ") != std::string::npos);
  CHECK(gw.out.str().find("EMR/CLINIC  ADT^A28  ADT-1") != std::string::npos);
  CHECK(gw.out.str().find("Okafor") == std::string::npos);  // no patient data in the list

  REQUIRE(gw.run({"show", id, "--config", "f"}) == 0);
  CHECK(gw.out.str().find("\n    PID|1||M-1^^^CLINIC^MR||Okafor^Ada||19900101|F\n") !=
        std::string::npos);
  CHECK(gw.out.str().find("  error 205 ") != std::string::npos);

  // The fix: the duplicate goes. The rerun then updates the one Patient left.
  REQUIRE(gw.store
              ->write([](storage::WriteContext& ctx) -> Status {
                auto removed = ctx.remove("Patient", "dup-b");
                return removed ? ok_status() : Status(removed.error());
              })
              .ok());
  CHECK(gw.run({"reprocess", id, "--config", "f"}) == 0);
  CHECK(gw.out.str().starts_with("message " + id + " reprocessed (was AE): AA\n"));
  CHECK(gw.out.str().find("wrote: Patient/dup-a") != std::string::npos);
  auto patient = gw.store->head("Patient", "dup-a").value();
  REQUIRE(patient);
  CHECK(patient->json.find("Okafor") != std::string::npos);

  REQUIRE(gw.run({"list", "--config", "f", "--outcome", "AE"}) == 0);
  CHECK(gw.out.str().find('\n') == gw.out.str().size() - 1);  // the header line only
  REQUIRE(gw.run({"show", id, "--config", "f"}) == 0);
  CHECK(gw.out.str().find("answer now: AA (reprocessed 1 time)") != std::string::npos);
  // The sender resending it now hears that it is stored.
  CHECK(gw.ack_code(kA28) == "AA");

  // The rerun changed the Patient: its record is in audit.db, marked as a rerun.
  storage::AuditStoreConfig where;
  where.directory = gw.dir.path();
  auto audits = storage::AuditStore::open(where);
  REQUIRE(audits.ok());
  storage::AuditQuery q;
  q.all_of.push_back({"patient", {{"", "", "Patient/dup-a"}}});
  auto found = (*audits)->search(q);
  REQUIRE(found.ok());
  REQUIRE(found->size() == 1);
  CHECK(found->front().record.resource_json.find("rerun") != std::string::npos);
}

TEST_CASE("a rerun that fails again, an unknown id and a missing archive exit 1") {
  ServingGateway gw;
  gw.put_patient("dup-a");
  gw.put_patient("dup-b");
  REQUIRE(gw.ack_code(kA28) == "AE");
  const auto id = std::to_string(gw.archive->find({"EMR", "CLINIC", "ADT-1"}).value()->id);
  CHECK(gw.run({"reprocess", id, "--config", "f"}) == 1);
  CHECK(gw.out.str().find("reprocessed (was AE): AE\n") != std::string::npos);
  CHECK(gw.run({"reprocess", "999", "--config", "f"}) == 1);
  CHECK(gw.err.str() == "no archived message 999\n");
  CHECK(gw.run({"show", "999", "--config", "f"}) == 1);

  storage::testing::TempDir empty;
  gateway::GatewayConfig elsewhere;
  elsewhere.data_dir = empty.path();
  std::ostringstream out, err;
  auto list = parse_words({"list", "--config", "f"});
  CHECK(gateway::run_hl7_command(*list, elsewhere, out, err) == 1);
  CHECK(err.str().find("no clinical database at") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(empty.path() / "clinical.db"));
}
