#pragma once
// MllpServer: the MLLP (HL7v2 over TCP, optionally TLS) listener of the gateway.
//
// Network I/O runs on `io_threads` threads, one coroutine per connection that owns its
// stream and an MllpFramer. Each complete message is handed to the MessageHandler on a
// separate pool of `worker_threads` threads, because the handler blocks until the message
// is durably stored; its return value, the already-built answer (ACK or query response),
// is framed and written back. The server never builds an ACK itself: a message whose
// handler fails gets no answer, so the sender sends it again.
//
// Per connection, messages are handled one at a time and answered in the order they
// arrived, also when a sender pipelines several frames; the connection is not read while
// its handler runs (the kernel buffers, the sender is slowed down). Every wait has a
// deadline: `idle_timeout` between messages, `read_timeout` from a frame's first read to
// its end and for writing an answer or the TLS handshake. Memory per connection is bounded
// by `max_message_size` plus a 16 KiB read buffer. A frame over `max_message_size` is
// dropped unanswered, logged and counted, and the connection stays open for the next one
// (the sender times out waiting for its ACK). Beast/Asio stay inside mllp_server.cpp.
//
// Lifecycle: start() binds and listens (port 0 picks a free port) and returns once
// accepting; stop(drain) stops accepting and taking new messages, lets handlers already
// running finish and their answers go out within `drain`, then closes every connection and
// joins the threads (it also waits for handlers still running past the drain: they cannot
// be interrupted). stop() must not be called from a handler or an io thread; the destructor
// calls stop() with no drain. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::hl7v2 {

// Who sent a message. Plain values, valid for the duration of the handler call.
struct MllpPeer {
  std::string address;  // remote IP address
  bool secure = false;  // arrived over TLS
  // Subject (RFC 2253, "CN=emr-1,O=Clinic") of the verified client certificate when the
  // listener requires client certificates; empty otherwise.
  std::string client_subject;
};

// Takes one message payload (unframed) and returns the answer payload (unframed), after
// the message is durably stored. Runs on a worker thread, concurrently for different
// connections. Throwing, returning an empty answer or one containing 0x0B or 0x1C is a
// failure: logged without its text, counted, and the connection closed without an answer.
using MessageHandler = std::function<std::string(std::string_view message, const MllpPeer& peer)>;

struct MllpTlsConfig {
  std::filesystem::path certificate_chain;  // PEM
  std::filesystem::path private_key;        // PEM
  // PEM file of the CAs that issue sender certificates. Set: every client must present a
  // certificate that verifies against them, or the handshake fails. Empty: no client
  // certificates are asked for.
  std::filesystem::path client_ca;
};

struct MllpConfig {
  std::string address = "127.0.0.1";
  std::uint16_t port = 2575;  // 0 picks a free port, see MllpServer::port()
  std::optional<MllpTlsConfig> tls;
  std::size_t max_connections = 64;
  std::size_t max_message_size = 1024 * 1024;       // payload bytes; larger frames are dropped
  std::chrono::milliseconds idle_timeout{600'000};  // silence allowed between messages
  std::chrono::milliseconds read_timeout{60'000};   // one frame, one answer, one handshake
  int io_threads = 2;
  int worker_threads = 8;
  // syslog priority (3 err .. 7 debug); called concurrently from io and worker threads.
  // Messages never contain message content, only addresses, sizes and counts.
  std::function<void(int priority, std::string_view message)> log;
};

// Monotonic counters, readable at any time (for /metrics and tests).
struct MllpCounters {
  std::atomic<std::uint64_t> connections_accepted{0};    // admitted (rejected ones excluded)
  std::atomic<std::uint64_t> connections_rejected{0};    // over max_connections
  std::atomic<std::uint64_t> frames{0};                  // complete frames received
  std::atomic<std::uint64_t> answers{0};                 // answers written in full
  std::atomic<std::uint64_t> garbage_bytes{0};           // bytes outside or of malformed frames
  std::atomic<std::uint64_t> oversize_frames{0};         // over max_message_size, dropped
  std::atomic<std::uint64_t> timeouts{0};                // read_timeout hit (frame or write)
  std::atomic<std::uint64_t> idle_timeouts{0};           // idle_timeout hit (routine)
  std::atomic<std::uint64_t> tls_handshake_failures{0};  // incl. rejected client certificates
  std::atomic<std::uint64_t> handler_errors{0};          // threw or returned an unusable answer
};

class MllpServer {
 public:
  // kInvalid for a bad configuration (address, limits, TLS files, named in the message);
  // kInternal when the port cannot be bound.
  static Result<std::unique_ptr<MllpServer>> start(MllpConfig config, MessageHandler handler);
  virtual ~MllpServer() = default;

  virtual std::uint16_t port() const = 0;
  virtual const MllpCounters& counters() const = 0;
  virtual std::size_t open_connections() const = 0;
  // Re-reads the TLS certificate, key and client CA file (SIGHUP); new connections use
  // them. On failure the previous ones stay in use.
  virtual Status reload_tls() = 0;
  // Runs `task` on one of the server's I/O threads, after what is queued there: the
  // watchdog's proof that the event loop still turns (gateway/watchdog.hpp).
  virtual void post(std::function<void()> task) = 0;
  virtual void stop(std::chrono::milliseconds drain) = 0;
};

}  // namespace cg::hl7v2
