#include "gateway/audit_commands.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "gateway/audit_upkeep.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using storage::AuditRecord;

namespace {

constexpr std::int64_t kJan5 = 1'767'571'200'000;  // 2026-01-05T00:00:00Z
constexpr std::int64_t kHour = 60 * 60 * 1000;

Result<AuditCommand> parse(std::vector<std::string_view> words) {
  return parse_audit_command(words);
}

std::string error_of(std::vector<std::string_view> words) {
  auto parsed = parse(std::move(words));
  REQUIRE_FALSE(parsed.ok());
  return parsed.error().message;
}

AuditRecord received_at(std::int64_t ms) {
  AuditRecord r;
  r.received_ms = ms;
  r.transport = "tls";
  r.peer = "10.0.0.7";
  r.format = "dicom";
  r.raw = "<AuditMessage/>";
  r.resource_json = R"({"resourceType":"AuditEvent","action":"E"})";
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A gateway's data directory with audit.db open as the daemon holds it while serving; the
// commands open it a second time.
struct ServingGateway {
  storage::testing::TempDir dir;
  GatewayConfig config;
  std::unique_ptr<storage::AuditStore> store;
  std::ostringstream out, err;

  ServingGateway() {
    config.data_dir = dir.path();
    store = std::move(storage::AuditStore::open(audit_store_config(config)).value());
    // Jan 4 23:00, Jan 5 01:00, an unreadable one at 02:00, Jan 6 01:00.
    AuditRecord bad = received_at(kJan5 + 2 * kHour);
    bad.problem = "not an audit message";
    bad.resource_json.clear();
    REQUIRE(store
                ->append_and_wait({received_at(kJan5 - kHour), received_at(kJan5 + kHour), bad,
                                   received_at(kJan5 + 25 * kHour)})
                .ok());
  }
  ~ServingGateway() { store->close(); }

  int run(std::vector<std::string_view> words) {
    out.str("");
    err.str("");
    words.insert(words.begin() + 1, {"--config", "gateway.toml"});
    auto command = parse(std::move(words));
    REQUIRE_MESSAGE(command.ok(), (command.ok() ? "" : command.error().message));
    return run_audit_command(*command, config, out, err);
  }
  std::vector<std::string> exported_ids() {
    std::vector<std::string> ids;
    for (const auto& line : lines_of(out.str())) {
      const auto at = line.find(R"("id":")");
      ids.push_back(line.substr(at + 6, line.find('"', at + 6) - at - 6));
    }
    return ids;
  }
};

}  // namespace

TEST_CASE("audit commands: verbs, options and what each takes") {
  auto export_command = parse({"export", "--config", "g.toml", "--since", "41", "--until",
                               "2026-01-31", "--out", "audit.ndjson", "--include-unreadable"});
  REQUIRE(export_command.ok());
  CHECK(export_command->verb == AuditCommand::Verb::kExport);
  CHECK(export_command->since.id == 41);
  CHECK(export_command->until.ms == kJan5 + 27 * 24 * kHour);  // the end of Jan 31
  CHECK(*export_command->out == "audit.ndjson");
  CHECK(export_command->include_unreadable);
  auto by_instant = parse({"export", "--config", "g", "--since", "2026-01-05T10:00:00Z"});
  REQUIRE(by_instant.ok());
  CHECK(by_instant->since.ms == kJan5 + 10 * kHour);
  auto prune = parse({"prune", "--config", "g", "--before", "2026-01-05"});
  REQUIRE(prune.ok());
  CHECK(prune->before_ms == kJan5);
  CHECK(parse({"stats", "--config", "g"}).ok());

  CHECK(error_of({}) == "which command? export, prune or stats");
  CHECK(error_of({"list", "--config", "g"}) ==
        "unknown command 'audit list': export, prune or stats");
  CHECK(error_of({"stats"}) == "--config FILE is required");
  CHECK(error_of({"prune", "--config", "g"}).starts_with("--before DATE is required"));
  CHECK(error_of({"prune", "--config", "g", "--before", "soon"}) ==
        "--before: 'soon' is not a date");
  CHECK(error_of({"export", "--config", "g", "--since", "last week"}).find("neither a record id") !=
        std::string::npos);
  CHECK(error_of({"stats", "--config", "g", "--since", "1"}) ==
        "--since is an option of 'audit export' only");
  CHECK(error_of({"export", "--config", "g", "--before", "2026"}) ==
        "--before is an option of 'audit prune' only");
  CHECK(error_of({"export", "--config", "g", "--colour", "red"}) == "unknown option --colour");
  CHECK(error_of({"export", "--config", "g", "--out"}) == "--out needs a value");
  CHECK(error_of({"export", "17", "--config", "g"}) == "unexpected argument '17'");
}

TEST_CASE("audit export: NDJSON to stdout, by id or by receive date, unreadable on demand") {
  ServingGateway gw;
  CHECK(gw.run({"export"}) == 0);
  CHECK(gw.exported_ids() == std::vector<std::string>{"1", "2", "4"});
  CHECK(gw.err.str() ==
        "exported 3 AuditEvents (ids 1 to 4); 1 unreadable records left out "
        "(--include-unreadable writes them)\n");
  CHECK(
      lines_of(gw.out.str())[0] ==
      R"({"resourceType":"AuditEvent","id":"1","meta":{"lastUpdated":"2026-01-04T23:00:00.000Z"},)"
      R"("action":"E"})");

  CHECK(gw.run({"export", "--since", "1", "--until", "2"}) == 0);
  CHECK(gw.exported_ids() == std::vector<std::string>{"2"});
  CHECK(gw.run({"export", "--since", "2026-01-05", "--until", "2026-01-05"}) == 0);
  CHECK(gw.exported_ids() == std::vector<std::string>{"2"});
  CHECK(gw.run({"export", "--since", "2026-01-06"}) == 0);
  CHECK(gw.exported_ids() == std::vector<std::string>{"4"});
  CHECK(gw.run({"export", "--since", "2027-01-01"}) == 0);  // nothing received since
  CHECK(gw.out.str().empty());
  CHECK(gw.err.str() == "exported 0 AuditEvents\n");

  CHECK(gw.run({"export", "--since", "2026-01-05", "--include-unreadable"}) == 0);
  auto lines = lines_of(gw.out.str());
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].starts_with(R"({"unreadable":{"id":"3",)"));

  CHECK(gw.run({"export", "--as-received", "--include-unreadable"}) == 0);
  lines = lines_of(gw.out.str());
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].starts_with(R"({"received":{"id":"1",)"));
  CHECK(lines[2].starts_with(R"({"unreadable":{"id":"3",)"));
  CHECK(gw.err.str() == "exported 3 records as received (ids 1 to 4) and 1 unreadable records\n");
}

TEST_CASE("audit export --out: a file for its owner only, complete or not there") {
  ServingGateway gw;
  const auto file = gw.dir.path() / "audit.ndjson";
  CHECK(gw.run({"export", "--out", file.c_str()}) == 0);
  CHECK(gw.out.str().empty());
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(lines_of(text.str()).size() == 3);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(std::filesystem::exists(file.string() + ".partial"));
  CHECK(gw.run({"export", "--out", "/nonexistent-dir/audit.ndjson"}) == 1);
  CHECK(gw.err.str().find("cannot create /nonexistent-dir/audit.ndjson.partial") !=
        std::string::npos);
}

TEST_CASE("audit prune keeps the records forwarding still owes; stats shows the queue") {
  ServingGateway gw;
  gw.config.audit.forward.syslog_url = "tls://arr.district.org:6514";
  REQUIRE(gw.store->set_cursor("forward.syslog", 2, kJan5).ok());
  CHECK(gw.run({"prune", "--before", "2027-01-01"}) == 0);
  CHECK(gw.out.str() ==
        "pruned 2 audit records received before 2027-01-01T00:00:00.000Z\n"
        "kept every record after id 2: not yet forwarded upstream ([audit.forward])\n");
  CHECK(gw.run({"stats"}) == 0);
  CHECK(gw.out.str() ==
        "records         2 (1 unreadable)\n"
        "ids             3 to 4\n"
        "received        2026-01-05T02:00:00.000Z to 2026-01-06T01:00:00.000Z\n"
        "retention       2190 days (pruned at start and daily)\n"
        "forward.syslog  tls://arr.district.org:6514: cursor 2, 2 waiting\n");
  // A destination no longer configured shows with its cursor; it holds nothing back.
  gw.config.audit.forward.syslog_url.clear();
  gw.config.audit.retention_days = 0;
  CHECK(gw.run({"stats"}) == 0);
  CHECK(gw.out.str().find("forward.syslog  not configured now: cursor 2, 2 waiting\n") !=
        std::string::npos);
  CHECK(gw.out.str().find("retention       off: records are kept forever\n") != std::string::npos);
  CHECK(gw.run({"prune", "--before", "2027-01-01"}) == 0);
  CHECK(gw.out.str() == "pruned 2 audit records received before 2027-01-01T00:00:00.000Z\n");
}

TEST_CASE("audit commands need the gateway's audit.db") {
  storage::testing::TempDir dir;
  GatewayConfig config;
  config.data_dir = dir.path() / "data";
  AuditCommand command;
  std::ostringstream out, err;
  CHECK(run_audit_command(command, config, out, err) == 1);
  CHECK(err.str().find("no audit database at") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(config.data_dir / "audit.db"));
}
