#pragma once
// A small gateway for the operations commands' tests (status, backup, restore, vacuum): a
// config naming a data directory in a temporary directory, with clinical.db (patients
// written through the store), audit.db (records), security.db and the token signing key,
// made by the functions the daemon uses. Used by one test thread.

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "gateway/audit_upkeep.hpp"
#include "gateway/config.hpp"
#include "gateway/daemon.hpp"
#include "gateway/oauth_endpoints.hpp"
#include "gateway/security/security_db.hpp"
#include "storage/audit_store.hpp"
#include "tests/storage/store_fixture.hpp"

namespace cg::gateway::testing {

class TestGateway {
 public:
  TestGateway() {
    config.data_dir = dir.path() / "data";
    config.node_name = "kisumu-clinic";
    config_file = (dir.path() / "gateway.toml").string();
    std::ofstream(config_file) << "[node]\nname = \"kisumu-clinic\"\ndata_dir = \"data\"\n";
    std::filesystem::create_directories(config.data_dir);
    std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all);
    REQUIRE(SecurityDatabase::open(config.data_dir).ok());
    REQUIRE(open_token_signing_key(config.data_dir).ok());
    put_patient("p1", "Otieno");
    add_audit_records(3);
  }

  // Writes a version of Patient/id, family name `family`, through a store opened now.
  void put_patient(const std::string& id, const std::string& family) {
    auto store = storage::testing::open_store(config.data_dir, store_config(config));
    storage::testing::put(*store, "Patient", id, storage::testing::patient(family));
    store->close();
  }
  // The family name of Patient/id now, "" when it does not exist.
  std::string family_of(const std::string& id) {
    auto store = storage::testing::open_store(config.data_dir, store_config(config));
    auto head = store->head("Patient", id);
    store->close();
    REQUIRE(head.ok());
    if (!*head) return "";
    const auto json = storage::testing::parse_object((*head)->json);
    return std::string(json.at("name").as_array()[0].as_object().at("family").as_string());
  }
  void add_audit_records(int n) {
    auto store = storage::AuditStore::open(audit_store_config(config));
    REQUIRE(store.ok());
    std::vector<storage::AuditRecord> records;
    for (int i = 0; i < n; ++i) {
      storage::AuditRecord r;
      r.received_ms = 1'767'571'200'000 + i;
      r.transport = "tls";
      r.peer = "10.0.0.7";
      r.format = "dicom";
      r.raw = "<AuditMessage/>";
      r.resource_json = R"({"resourceType":"AuditEvent","action":"E"})";
      records.push_back(std::move(r));
    }
    REQUIRE((*store)->append_and_wait(std::move(records)).ok());
    (*store)->close();
  }

  storage::testing::TempDir dir;
  GatewayConfig config;
  std::string config_file;
  std::ostringstream out, err;
};

}  // namespace cg::gateway::testing
