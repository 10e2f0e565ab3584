#include "gateway/audit_upkeep.hpp"

#include <doctest/doctest.h>

#include <future>

#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace std::chrono_literals;
using storage::AuditRecord;

namespace {

constexpr std::int64_t kDay = 24 * 60 * 60 * 1000;
constexpr std::int64_t kNow = 1'767'607'200'000;  // 2026-01-05T10:00:00Z

AuditRecord received_at(std::int64_t ms) {
  AuditRecord r;
  r.received_ms = ms;
  r.transport = "tls";
  r.format = "fhir";
  r.raw = R"({"resourceType":"AuditEvent"})";
  r.resource_json = r.raw;
  return r;
}

struct Fixture {
  storage::testing::TempDir dir;
  GatewayConfig config;
  std::unique_ptr<storage::AuditStore> store;
  Fixture() {
    config.data_dir = dir.path();
    store = std::move(storage::AuditStore::open(audit_store_config(config)).value());
    // Four records: 10, 9, 8 years old, and one from today.
    REQUIRE(store
                ->append_and_wait({received_at(kNow - 3650 * kDay), received_at(kNow - 3285 * kDay),
                                   received_at(kNow - 2920 * kDay), received_at(kNow)})
                .ok());
  }
  std::int64_t count() { return store->stats().value().records; }
};

}  // namespace

TEST_CASE("the retention cut-off: retention_days before now; 0 keeps everything") {
  AuditSettings audit;
  CHECK(retention_cutoff_ms(audit, kNow) == kNow - 2190 * kDay);
  audit.retention_days = 0;
  CHECK_FALSE(retention_cutoff_ms(audit, kNow));
}

TEST_CASE("pruning keeps what a configured destination has not had yet") {
  Fixture f;
  AuditForwardSettings forward;
  forward.syslog_url = "tls://arr.district.org";
  forward.fhir_url = "https://district.example/fhir";
  // Neither destination has sent anything: nothing may go, however old.
  auto none = prune_audit_records(*f.store, forward, kNow - 1);
  REQUIRE(none.ok());
  CHECK(none->pruned == 0);
  CHECK(none->kept_after_id == 0);
  // The slower destination decides.
  REQUIRE(f.store->set_cursor("forward.syslog", 3, kNow).ok());
  REQUIRE(f.store->set_cursor("forward.fhir", 1, kNow).ok());
  CHECK(prune_audit_records(*f.store, forward, kNow - 1)->pruned == 1);
  CHECK(f.count() == 3);
  // Without forwarding, an old cursor of a destination no longer configured holds nothing.
  auto all = prune_audit_records(*f.store, AuditForwardSettings{}, kNow - 1);
  REQUIRE(all.ok());
  CHECK(all->pruned == 2);
  CHECK_FALSE(all->kept_after_id);
  CHECK(f.count() == 1);
}

TEST_CASE("the upkeep prunes at start, by its clock, and says so once") {
  Fixture f;
  std::promise<std::string> logged;
  UpkeepEnvironment env;
  env.now_ms = [] { return kNow; };
  env.jitter = [] { return 0.0; };
  env.log = [&logged, once = std::make_shared<std::once_flag>()](int, std::string_view m) {
    std::call_once(*once, [&] { logged.set_value(std::string(m)); });
  };
  f.config.audit.retention_days = 3000;  // about 8.2 years: the two oldest go
  auto upkeep = AuditUpkeep::start(*f.store, f.config, env);
  REQUIRE(upkeep.ok());
  auto message = logged.get_future();
  REQUIRE(message.wait_for(10s) == std::future_status::ready);
  CHECK(message.get() ==
        "audit retention: pruned 2 audit records received before 2017-10-19T10:00:00.000Z");
  CHECK((*upkeep)->describe() == "retention 3000 days");
  (*upkeep)->stop();
  CHECK(f.count() == 2);
}

TEST_CASE("the upkeep does not start with a TLS file of [audit.forward] it cannot load") {
  Fixture f;
  f.config.audit.forward.syslog_url = "tls://arr.district.org";
  f.config.audit.forward.tls_ca = f.dir.path() / "missing-ca.pem";
  auto upkeep = AuditUpkeep::start(*f.store, f.config, UpkeepEnvironment::daemon());
  REQUIRE_FALSE(upkeep.ok());
  CHECK(upkeep.error().kind == ErrorKind::kInvalid);
  CHECK(upkeep.error().message.find("missing-ca.pem") != std::string::npos);
}

TEST_CASE("with forwarding configured the upkeep names its destinations and stops at once") {
  Fixture f;
  f.config.audit.retention_days = 0;
  f.config.audit.forward.syslog_url = "tcp://127.0.0.1:1";  // refused: the forwarder backs off
  f.config.audit.forward.fhir_url = "http://127.0.0.1:1/fhir";
  UpkeepEnvironment env = UpkeepEnvironment::daemon();
  env.log = [](int, std::string_view) {};
  auto upkeep = AuditUpkeep::start(*f.store, f.config, env);
  REQUIRE(upkeep.ok());
  CHECK((*upkeep)->describe() ==
        "retention off (records kept forever); forwarding to syslog tcp://127.0.0.1:1; "
        "forwarding to FHIR http://127.0.0.1:1/fhir");
  (*upkeep)->records_appended();
  const auto started = std::chrono::steady_clock::now();
  (*upkeep)->stop();
  CHECK(std::chrono::steady_clock::now() - started < 10s);
  CHECK(*f.store->cursor("forward.syslog") == 0);  // nothing went anywhere
}
