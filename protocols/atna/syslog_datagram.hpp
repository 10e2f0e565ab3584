#pragma once
// Syslog over UDP (RFC 5426): one datagram carries exactly one message, with no framing, so
// there is nothing to reassemble; this only applies the size limit and the trailer
// tolerance the stream framer has, so both transports hand the parser the same bytes.
// Pure; safe from any thread.

#include <cstddef>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::atna {

// The message carried by `datagram`: the datagram minus one trailing LF, CRLF or NUL that
// some senders append (RFC 5426 §3.1 has none, but rsyslog and others accept it). Errors:
// kInvalid for an empty message, kTooLarge when the message is longer than
// `max_message_size`. The session should receive into a buffer one byte larger than the
// limit (plus the trailer) so a truncated datagram is seen as too large, not cut short.
Result<std::string_view> datagram_message(std::string_view datagram, std::size_t max_message_size);

}  // namespace cg::atna
