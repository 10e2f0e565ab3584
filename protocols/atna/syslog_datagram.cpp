#include "protocols/atna/syslog_datagram.hpp"

#include <string>

namespace cg::atna {
namespace {

std::string_view without_trailer(std::string_view datagram) {
  if (datagram.ends_with('\0')) {
    datagram.remove_suffix(1);
  } else if (datagram.ends_with('\n')) {
    datagram.remove_suffix(datagram.ends_with("\r\n") ? 2 : 1);
  }
  return datagram;
}

}  // namespace

Result<std::string_view> datagram_message(std::string_view datagram, std::size_t max_message_size) {
  const std::string_view message = without_trailer(datagram);
  if (message.empty()) return Error::invalid("empty syslog datagram");
  if (message.size() > max_message_size) {
    return Error::too_large("syslog datagram longer than " + std::to_string(max_message_size) +
                            " bytes");
  }
  return message;
}

}  // namespace cg::atna
