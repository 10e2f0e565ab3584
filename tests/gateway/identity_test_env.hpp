#pragma once
// A gateway config whose data_dir is a temporary directory, and an IdentityCommandEnv with
// cheap Argon2 and a password the test sets, for the user and client command tests.
// Thread-safety: for one test thread.

#include <sstream>
#include <string>

#include "gateway/identity_commands.hpp"
#include "protocols/fhir/model/json.hpp"
#include "storage/audit_store.hpp"
#include "tests/gateway/security_fixture.hpp"

namespace cg::gateway::testing {

struct IdentityCommandFixture {
  TempDir dir;
  GatewayConfig config;
  IdentityCommandEnv env;
  std::string password = "correct horse battery";
  int password_reads = 0;
  std::ostringstream out, err;

  IdentityCommandFixture() {
    config.data_dir = dir.path();
    env.identity.argon2 = kFastArgon2;
    env.new_password = [this]() -> Result<std::string> {
      ++password_reads;
      return password;
    };
  }

  void clear_output() {
    out.str("");
    err.str("");
  }

  // The audit records the commands wrote into data_dir/audit.db, oldest first.
  std::vector<boost::json::object> audit_records() {
    storage::AuditStoreConfig where;
    where.directory = dir.path();
    auto audits = storage::AuditStore::open(where);
    REQUIRE(audits.ok());
    auto stored = (*audits)->since(0, 1000);
    REQUIRE(stored.ok());
    std::vector<boost::json::object> records;
    for (const auto& a : *stored) {
      records.push_back(fhir::parse_json(a.record.resource_json).value().as_object());
    }
    return records;
  }

  // "110136 alice user added", …: subtype, account and what changed, per record.
  std::vector<std::string> audited_changes() {
    std::vector<std::string> lines;
    for (const auto& e : audit_records()) {
      const auto& account = e.at("entity").as_array()[0];
      lines.push_back(std::string(e.at("subtype").as_array()[0].at("code").as_string()) + " " +
                      std::string(account.at("what").at("identifier").at("value").as_string()) +
                      " " + std::string(e.at("outcomeDesc").as_string()));
    }
    return lines;
  }
};

}  // namespace cg::gateway::testing
