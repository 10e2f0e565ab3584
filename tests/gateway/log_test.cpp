#include "gateway/log.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

using namespace cg::gateway;

namespace {
// Captures what log() writes to stderr (fd 2) while `fn` runs.
template <class Fn>
std::string capture_stderr(Fn fn) {
  std::FILE* tmp = std::tmpfile();
  REQUIRE(tmp);
  int saved = dup(STDERR_FILENO);
  dup2(fileno(tmp), STDERR_FILENO);
  fn();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out;
  std::rewind(tmp);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, tmp)) out.append(buf, n);
  std::fclose(tmp);
  return out;
}
}  // namespace

TEST_CASE("the level filters events; lifecycle lines always get through") {
  set_log_level("warning");
  auto out = capture_stderr([] {
    log(kInfo, "hidden info");
    log(kWarning, "shown warning");
    log_lifecycle("listening on http://127.0.0.1:1/fhir");
  });
  CHECK(out.find("hidden info") == std::string::npos);
  CHECK(out.find("warning shown warning") != std::string::npos);
  CHECK(out.find("listening on") != std::string::npos);
  set_log_level("info");
}

TEST_CASE("one event is one line, even when the message holds newlines") {
  auto out = capture_stderr([] { log(kErr, "first\nsecond\rthird"); });
  CHECK(out.find("first second third\n") != std::string::npos);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}
