#include "gateway/runtime_status.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "gateway/data_dir.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {

RuntimeStatus sample() {
  RuntimeStatus s;
  s.pid = 4242;
  s.version = "1.2.3";
  s.node_name = "kisumu";
  s.started_ms = 1'767'571'200'000;
  s.updated_ms = 1'767'571'260'000;
  s.listeners.push_back({"FHIR", "0.0.0.0", 8080, true});
  s.listeners.push_back({"HL7v2 MLLP", "127.0.0.1", 2575, false});
  s.recent_errors.push_back({1'767'571'230'000, "cannot start the audit upkeep"});
  return s;
}

}  // namespace

TEST_CASE("the status file says pid, version, listeners and errors, and reads back") {
  const RuntimeStatus s = sample();
  auto read = parse_runtime_status(runtime_status_json(s));
  REQUIRE(read.ok());
  CHECK(read->pid == 4242);
  CHECK(read->version == "1.2.3");
  CHECK(read->node_name == "kisumu");
  CHECK(read->started_ms == s.started_ms);
  CHECK(read->updated_ms == s.updated_ms);
  REQUIRE(read->listeners.size() == 2);
  CHECK(read->listeners[0].name == "FHIR");
  CHECK(read->listeners[0].port == 8080);
  CHECK(read->listeners[0].tls);
  CHECK_FALSE(read->listeners[1].tls);
  REQUIRE(read->recent_errors.size() == 1);
  CHECK(read->recent_errors[0].message == "cannot start the audit upkeep");
}

TEST_CASE("a status file that is not one is refused, a missing one is not found") {
  CHECK(parse_runtime_status("{").error().kind == ErrorKind::kInvalid);
  CHECK(parse_runtime_status(R"({"pid":1})").error().kind == ErrorKind::kInvalid);
  storage::testing::TempDir dir;
  CHECK(read_runtime_status(dir.path()).error().kind == ErrorKind::kNotFound);
}

TEST_CASE("the file is written whole, mode 0600, and replaced by the next write") {
  storage::testing::TempDir dir;
  RuntimeStatus s = sample();
  REQUIRE(write_runtime_status(dir.path(), s).ok());
  s.updated_ms += 60'000;
  REQUIRE(write_runtime_status(dir.path(), s).ok());
  auto read = read_runtime_status(dir.path());
  REQUIRE(read.ok());
  CHECK(read->updated_ms == s.updated_ms);
  struct stat st {};
  REQUIRE(::stat((dir.path() / kStatusFile).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "status.json.tmp"));
}

TEST_CASE("the daemon's task writes the file at once with the errors logged so far") {
  storage::testing::TempDir dir;
  set_log_level("error");
  log(kErr, "runtime status test: a logged error");
  auto task = runtime_status_task(dir.path(), sample());
  std::stop_source stop;
  const auto next = task(stop.get_token());
  CHECK(next > ScheduledWorker::Clock::now() + std::chrono::seconds(50));
  auto read = read_runtime_status(dir.path());
  REQUIRE(read.ok());
  REQUIRE_FALSE(read->recent_errors.empty());
  CHECK(read->recent_errors.back().message == "runtime status test: a logged error");
  CHECK(read->updated_ms > sample().updated_ms);
}

TEST_CASE("the ring of errors keeps the last twenty, oldest first") {
  set_log_level("error");
  for (int i = 0; i < 25; ++i) log(kErr, "ring " + std::to_string(i));
  log(kWarning, "a warning is not kept");
  const auto errors = recent_errors();
  REQUIRE(errors.size() == kRecentErrors);
  CHECK(errors.front().message == "ring 5");
  CHECK(errors.back().message == "ring 24");
}
