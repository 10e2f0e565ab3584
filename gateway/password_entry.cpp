#include "gateway/password_entry.hpp"

#include <termios.h>
#include <unistd.h>

namespace cg::gateway {
namespace {

// Turns the terminal's echo off for its lifetime and back to what it was after.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    active_ = tcgetattr(fd_, &saved_) == 0;
    if (!active_) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the Enter still moves to the next line
    active_ = tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

Result<std::string> prompted_line(std::istream& in, std::ostream& prompt, const char* text) {
  prompt << text << std::flush;
  return read_password_line(in);
}

}  // namespace

Result<std::string> read_password_line(std::istream& in) {
  std::string line;
  if (!std::getline(in, line) && line.empty()) {
    return Error::invalid("no password on standard input");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> read_new_password(int fd, std::istream& in, std::ostream& prompt) {
  if (!isatty(fd)) return read_password_line(in);
  EchoOff quiet(fd);
  auto first = prompted_line(in, prompt, "New password: ");
  if (!first) return first;
  auto again = prompted_line(in, prompt, "Repeat it: ");
  if (!again) return again;
  if (*first != *again) return Error::invalid("the two passwords differ; nothing was changed");
  return first;
}

}  // namespace cg::gateway
