#pragma once
// A gateway config whose data_dir is a temporary directory, and an IdentityCommandEnv with
// cheap Argon2 and a password the test sets, for the user and client command tests.
// Thread-safety: for one test thread.

#include <sstream>
#include <string>

#include "gateway/identity_commands.hpp"
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
};

}  // namespace cg::gateway::testing
