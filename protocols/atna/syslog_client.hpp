#pragma once
// send_syslog_batch: the gateway as a syslog sender over a stream — RFC 5425 (TLS) or
// RFC 6587 (plain TCP), octet-counted — for forwarding audit records to an upstream audit
// record repository (ITI-20). One batch is one connection: connect, handshake, write every
// message, then close gracefully and wait for the receiver to close too.
//
// Why a connection per batch: syslog over a stream has no application acknowledgement, so
// the only sign that the receiver took the bytes is how the connection ends. After the
// last message the client sends its TLS close_notify (plain TCP: a FIN) and waits for the
// receiver's close_notify or FIN. A receiver that closes while unread bytes are still in its
// socket resets the connection instead (that is what Linux does), and a receiver that
// refused our certificate sends an alert: both are errors here. So success means the
// receiver's side read every byte and closed in order — the most the transport can tell;
// whether it then stored them is beyond it (docs/atna.md, "Forwarding upstream").
//
// Bounded: the whole exchange (name lookup, connect, handshake, writes, close) must finish
// within `timeout`. With TLS the server's certificate must chain to `tls_ca` (or the
// system's CAs) and name the destination's host.
//
// Thread-safety: blocks the calling thread (each call runs its own small event loop); call
// it from a worker thread. Concurrent calls share nothing.

#include <chrono>
#include <filesystem>
#include <optional>
#include <span>
#include <stop_token>
#include <string>

#include "protocols/atna/syslog_destination.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::atna {

struct SyslogClientConfig {
  SyslogDestination destination;
  std::optional<std::filesystem::path> tls_ca;              // PEM CAs; unset: the system's
  std::optional<std::filesystem::path> client_certificate;  // PEM chain, with client_key
  std::optional<std::filesystem::path> client_key;          // PEM
  std::chrono::milliseconds timeout{10'000};
  std::stop_token stop;  // a stop request ends the exchange early (kUnavailable)
};

// Sends `messages` (complete syslog messages, e.g. from format_rfc5424; framed here) in
// order. Errors: kUnavailable naming the destination and the step (resolve, connect, TLS
// handshake, write, close) when the exchange fails or times out — some messages may have
// arrived, or when `stop` was requested; kInternal when the CA, certificate or key files
// cannot be loaded.
Status send_syslog_batch(const SyslogClientConfig& config, std::span<const std::string> messages);

}  // namespace cg::atna
