// libFuzzer target: the syslog message parser and the RFC 5424 writer. Input: one message.
// Checks that parsing never crashes, that what parses keeps its PRI in range, and that a
// message read as RFC 5424 is written by format_rfc5424 without error and parses back to the
// same fields (the writer accepts everything the parser produces, and nothing is lost).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/atna/syslog_message.hpp"
#include "protocols/atna/syslog_writer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  cg::Result<cg::atna::SyslogMessage> parsed = cg::atna::parse_syslog_message(bytes);
  if (!parsed) return 0;
  if (parsed->facility < 0 || parsed->facility > 23 || parsed->severity < 0 ||
      parsed->severity > 7) {
    __builtin_trap();
  }
  if (parsed->format != cg::atna::SyslogFormat::kRfc5424) return 0;

  cg::Result<std::string> written = cg::atna::format_rfc5424(*parsed);
  if (!written) __builtin_trap();
  cg::Result<cg::atna::SyslogMessage> again = cg::atna::parse_syslog_message(*written);
  if (!again || !(*again == *parsed)) __builtin_trap();
  return 0;
}
