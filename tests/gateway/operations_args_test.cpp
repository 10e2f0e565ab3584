#include "gateway/operations_args.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace cg;
using namespace cg::gateway;

namespace {

constexpr OperationsShape kBackup{"backup", true, false};
constexpr OperationsShape kStatus{"status", false, true};

Result<OperationsArgs> parse(std::vector<std::string_view> words, const OperationsShape& shape) {
  return parse_operations_args(words, shape);
}

std::string error_of(std::vector<std::string_view> words, const OperationsShape& shape) {
  auto parsed = parse(std::move(words), shape);
  REQUIRE_FALSE(parsed.ok());
  return parsed.error().message;
}

}  // namespace

TEST_CASE("the file and --config come in any order") {
  auto a = parse({"/backups/a.tar", "--config", "g.toml"}, kBackup);
  REQUIRE(a.ok());
  CHECK(a->file == "/backups/a.tar");
  CHECK(a->config_file == "g.toml");
  auto b = parse({"--config", "g.toml", "b.tar"}, kBackup);
  REQUIRE(b.ok());
  CHECK(b->file == "b.tar");
  auto s = parse({"--config", "g.toml", "--json"}, kStatus);
  REQUIRE(s.ok());
  CHECK(s->json);
}

TEST_CASE("what is missing or not taken is named") {
  CHECK(error_of({"--config", "g"}, kBackup) == "backup: FILE is required");
  CHECK(error_of({"a.tar"}, kBackup) == "backup: --config FILE is required");
  CHECK(error_of({"a.tar", "--config"}, kBackup) == "--config needs a file name");
  CHECK(error_of({"a.tar", "b.tar", "--config", "g"}, kBackup) == "backup: unexpected 'b.tar'");
  CHECK(error_of({"a.tar", "--json", "--config", "g"}, kBackup) == "backup: unknown option --json");
  CHECK(error_of({"x", "--config", "g"}, kStatus) == "status: unexpected 'x'");
}
