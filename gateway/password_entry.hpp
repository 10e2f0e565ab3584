#pragma once
// Reading a new password for `user add` and `user passwd`. From a terminal it is typed
// twice with echo off (termios), so neither the screen nor a shoulder keeps it and a typo
// is caught; from a pipe or file it is the first line, for scripts and tests
// (`printf '%s\n' "$PW" | clinic-gateway user add …`): never from the command line, where
// ps(1) and the shell history would show it.
// Thread-safety: one call at a time (it changes the terminal's mode while it reads).

#include <istream>
#include <ostream>
#include <string>

#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

// One line of `in` without its "\n" or "\r\n". kInvalid when `in` ends before any byte of
// a line ("no password on standard input").
Result<std::string> read_password_line(std::istream& in);

// The new password from `in`, which reads the file descriptor `fd`. When `fd` is a
// terminal: prompts on `prompt`, reads twice with echo off (restored whatever happens) and
// fails with kInvalid when the two differ; otherwise one line, read_password_line(). The
// password policy is the identity store's, checked by the caller.
Result<std::string> read_new_password(int fd, std::istream& in, std::ostream& prompt);

}  // namespace cg::gateway
