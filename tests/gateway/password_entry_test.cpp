#include "gateway/password_entry.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

using namespace cg;
using namespace cg::gateway;

TEST_CASE("a password line loses its newline and a CRLF's carriage return") {
  std::istringstream lf("correct horse battery\nsecond line\n");
  CHECK(read_password_line(lf).value() == "correct horse battery");
  std::istringstream crlf("correct horse battery\r\n");
  CHECK(read_password_line(crlf).value() == "correct horse battery");
  std::istringstream last("no newline at the end");
  CHECK(read_password_line(last).value() == "no newline at the end");
}

TEST_CASE("spaces inside and around a password line are part of it") {
  std::istringstream in("  two words  \n");
  CHECK(read_password_line(in).value() == "  two words  ");
}

TEST_CASE("an empty input is no password; an empty line is an empty password for the policy") {
  std::istringstream none("");
  auto missing = read_password_line(none);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "no password on standard input");
  std::istringstream blank("\n");
  CHECK(read_password_line(blank).value().empty());
}

TEST_CASE("from a pipe the first line is read once, with no prompt") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::istringstream in("correct horse battery\nnot read\n");
  std::ostringstream prompt;
  auto password = read_new_password(fds[0], in, prompt);
  close(fds[0]);
  close(fds[1]);
  CHECK(password.value() == "correct horse battery");
  CHECK(prompt.str().empty());
}

namespace {

// A pseudo-terminal's two ends: the command reads the slave, as from a login terminal.
struct PseudoTerminal {
  int master = -1;
  int slave = -1;
  PseudoTerminal() {
    master = posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master >= 0);
    REQUIRE(grantpt(master) == 0);
    REQUIRE(unlockpt(master) == 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    REQUIRE(slave >= 0);
  }
  ~PseudoTerminal() {
    close(slave);
    close(master);
  }
  bool echoes() const {
    termios t{};
    REQUIRE(tcgetattr(slave, &t) == 0);
    return (t.c_lflag & ECHO) != 0;
  }
};

}  // namespace

TEST_CASE("from a terminal the password is asked twice and echo is back on afterwards") {
  PseudoTerminal tty;
  REQUIRE(tty.echoes());
  std::istringstream in("correct horse battery\ncorrect horse battery\n");
  std::ostringstream prompt;
  CHECK(read_new_password(tty.slave, in, prompt).value() == "correct horse battery");
  CHECK(prompt.str() == "New password: Repeat it: ");
  CHECK(tty.echoes());
}

TEST_CASE("from a terminal two different entries change nothing") {
  PseudoTerminal tty;
  std::istringstream in("correct horse battery\ncorrect horse batterx\n");
  std::ostringstream prompt;
  auto password = read_new_password(tty.slave, in, prompt);
  REQUIRE_FALSE(password.ok());
  CHECK(password.error().message == "the two passwords differ; nothing was changed");
  CHECK(tty.echoes());
}
