#include "gateway/daemon.hpp"

#include <doctest/doctest.h>

#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

// The daemon's settings helpers; serve() itself is exercised by the integration tests.

TEST_CASE("the audit source is the node name, with the listen address unless it is a wildcard") {
  GatewayConfig config;
  config.node_name = "clinic-7";
  config.http.address = "192.168.1.2";
  AuditEmitterConfig audit = audit_emitter_config(config);
  CHECK(audit.source.node_name == "clinic-7");
  CHECK(audit.source.address == "192.168.1.2");
  CHECK(audit.flush_interval == std::chrono::milliseconds(100));
  for (const char* wildcard : {"0.0.0.0", "::", ""}) {
    config.http.address = wildcard;
    CHECK(audit_emitter_config(config).source.address.empty());
  }
}

TEST_CASE("the HL7v2 receiver records messages only when given an emitter") {
  GatewayConfig config;
  CHECK(!receiver_config(config).audit.in_job);
  CHECK(!receiver_config(config).audit.after);
  storage::testing::TempDir dir;
  auto audits = storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
  REQUIRE(audits.ok());
  AuditEmitter emitter(**audits, nullptr, audit_emitter_config(config));
  auto audited = receiver_config(config, &emitter);
  CHECK(audited.audit.in_job);
  CHECK(audited.audit.after);
}
