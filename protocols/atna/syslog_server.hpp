#pragma once
// SyslogServer: the syslog receivers of the ATNA audit record repository (IHE ITI-20 "Record
// Audit Event"): UDP (RFC 5426), plain TCP (RFC 6587) and TLS (RFC 5425), each optional.
//
// The server only moves bytes: it cuts the stream into messages (SyslogFramer on TCP/TLS, one
// message per UDP datagram, datagram_message), applies the limits and hands complete messages,
// in batches, to the SyslogSink on a pool of `worker_threads` threads. It does not parse the
// syslog header or the audit payload; the sink does (gateway/audit_intake).
//
// Batches: on TCP/TLS the complete frames of what can be read at once (up to 256 KiB) form
// one batch, so batches grow with the load and a busy sender's messages share commits; on
// UDP one datagram and
// the others already queued on the socket (up to kUdpBurstMessages) form one. Each batch is
// one store job, so a burst costs one savepoint, not one per message.
//
// Backpressure: a TCP/TLS connection has at most kBatchesInFlightPerConnection batches, and
// kBytesInFlightPerConnection bytes, with the sink; with that much outstanding it stops
// reading (the kernel buffers, then TCP slows the sender down), so no connection reads faster
// than the store commits. A connection holds a 64 KiB read buffer, at most `max_message_size`
// of an unfinished frame, its batches in flight (512 KiB) and the batch being read (256 KiB
// and a frame). UDP has no way to slow a sender: datagrams are received into a SO_RCVBUF of
// `udp_receive_buffer` bytes and, when the batches in flight hold more than
// `max_udp_in_flight_bytes`, further datagrams are
// dropped and counted as `dropped`.
//
// Limits and bad input: a message over `max_message_size` is dropped and counted (TCP/TLS: the
// frame is skipped exactly and the connection goes on). A malformed frame start on TCP/TLS is
// counted and closes the connection (see syslog_framer.hpp for why). Every read waits at most
// `idle_timeout`; a TLS handshake at most `handshake_timeout`. Over `max_connections` (TCP and
// TLS together) new connections are closed at once and counted. Logs never contain message
// bytes: addresses, sizes and counts only.
//
// Lifecycle: start() binds every configured listener (port 0 picks a free port, see the
// *_port() accessors) and returns once receiving. stop(drain) stops receiving, closes every
// connection (the frames already read are still handed over), then waits up to `drain` for
// the sink to finish the batches in flight; a batch still with the sink after that is no
// longer tracked (its done callback does nothing). stop() must not be called from a sink or an
// io thread; the destructor calls stop() with no drain. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::atna {

inline constexpr std::uint16_t kDefaultSyslogPort = 5514;     // UDP and TCP
inline constexpr std::uint16_t kDefaultSyslogTlsPort = 6514;  // IANA's syslog-tls
inline constexpr std::size_t kBatchesInFlightPerConnection = 8;
// …and at most this many bytes of messages (the bound on a connection's memory).
inline constexpr std::size_t kBytesInFlightPerConnection = 512 * 1024;
inline constexpr std::size_t kUdpBurstMessages = 256;

// One message as received: the bytes of one frame or datagram, framing removed.
struct ReceivedSyslog {
  std::string message;
  std::string peer;  // the sender's IP address
};

struct SyslogBatch {
  std::string_view transport;    // "udp", "tcp" or "tls" (static text)
  std::int64_t received_ms = 0;  // wall clock, ms since the epoch, when the batch was read
  std::vector<ReceivedSyslog> messages;
};

// Tells the server the sink is finished with a batch: `stored` false counts its messages as
// dropped. Call exactly once, from any thread, at once or later (after the commit); a
// completion destroyed without being called counts as `false`.
using SyslogBatchDone = std::function<void(bool stored)>;

// Takes one batch on a worker thread, concurrently for different batches. It should do its
// CPU work (parsing) and hand the result on without blocking on the store, then call `done`
// when the batch is stored. Throwing counts the batch as dropped.
using SyslogSink = std::function<void(SyslogBatch batch, SyslogBatchDone done)>;

struct SyslogTlsConfig {
  std::filesystem::path certificate_chain;  // PEM
  std::filesystem::path private_key;        // PEM
  // PEM CAs that issue sender certificates: set, every sender must present a certificate
  // that verifies against them (RFC 5425 §5.2 mutual authentication); empty, none is asked.
  std::filesystem::path client_ca;
};

struct SyslogConfig {
  std::string address = "127.0.0.1";
  // nullopt: that listener is off; 0: a free port. TLS needs `tls`.
  std::optional<std::uint16_t> udp_port = kDefaultSyslogPort;
  std::optional<std::uint16_t> tcp_port = kDefaultSyslogPort;
  std::optional<std::uint16_t> tls_port = kDefaultSyslogTlsPort;
  std::optional<SyslogTlsConfig> tls;
  std::size_t max_message_size = 64 * 1024;  // bytes, framing excluded
  std::size_t max_connections = 256;         // TCP and TLS together
  std::chrono::milliseconds idle_timeout{3'600'000};
  std::chrono::milliseconds handshake_timeout{10'000};
  // SO_RCVBUF asked for on the UDP socket; the kernel caps it at net.core.rmem_max (the
  // server logs what it got when that is less).
  std::size_t udp_receive_buffer = 4 * 1024 * 1024;
  std::size_t max_udp_in_flight_bytes = 32 * 1024 * 1024;
  int io_threads = 1;
  int worker_threads = 2;
  // syslog priority (3 err .. 7 debug); called concurrently from io and worker threads.
  std::function<void(int priority, std::string_view message)> log;
};

// Monotonic counters, readable at any time (for /metrics and tests).
struct SyslogCounters {
  std::atomic<std::uint64_t> messages{0};  // complete messages handed to the sink
  std::atomic<std::uint64_t> bytes{0};     // their bytes
  std::atomic<std::uint64_t> oversize{0};  // over max_message_size, dropped
  // TCP/TLS: malformed frame starts (each closed its connection); UDP: empty datagrams.
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> truncated{0};  // octet-counted frames cut off by the sender's close
  std::atomic<std::uint64_t> dropped{0};    // messages the sink did not store, or UDP overflow
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_rejected{0};  // over max_connections
  std::atomic<std::uint64_t> idle_timeouts{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};  // incl. refused client certificates
};

class SyslogServer {
 public:
  // kInvalid for a bad configuration (address, limits, TLS files, a TLS port without `tls`);
  // kInternal when a port cannot be bound.
  static Result<std::unique_ptr<SyslogServer>> start(SyslogConfig config, SyslogSink sink);
  virtual ~SyslogServer() = default;

  // The bound port of each listener; nullopt for a listener that is off.
  virtual std::optional<std::uint16_t> udp_port() const = 0;
  virtual std::optional<std::uint16_t> tcp_port() const = 0;
  virtual std::optional<std::uint16_t> tls_port() const = 0;
  virtual const SyslogCounters& counters() const = 0;
  virtual std::size_t open_connections() const = 0;
  // Re-reads the TLS certificate, key and client CA (SIGHUP); new connections use them. On
  // failure the previous ones stay in use.
  virtual Status reload_tls() = 0;
  // Runs `task` on one of the server's I/O threads, after what is queued there: the
  // watchdog's proof that the event loop still turns (gateway/watchdog.hpp).
  virtual void post(std::function<void()> task) = 0;
  virtual void stop(std::chrono::milliseconds drain) = 0;
};

}  // namespace cg::atna
