#pragma once
// HttpServer: the Boost.Beast HTTP/1.1 (optionally TLS) listener of the gateway.
//
// Network I/O runs on `io_threads` threads, one coroutine per connection that owns its
// stream. Each complete request is handed to the Handler on a separate pool of
// `worker_threads` threads, because handlers may block on SQLite (reads, or waiting for a
// group commit); io threads never touch the disk. The server enforces every limit itself
// (header and body size, request and idle time, connection count) and answers violations
// with a plain error or by closing the connection, counting each. Responses are gzip-
// compressed when the client accepts gzip and the body is worth it; gzip request bodies
// are inflated (within the body limit). Beast/Asio headers stay inside server.cpp.
//
// Lifecycle: start() binds and listens (port 0 picks a free port) and returns once
// accepting; stop() stops accepting, lets in-flight requests finish within `drain`, then
// closes every connection and joins the threads (it also waits for handlers still running
// past the drain: they cannot be interrupted). stop() must not be called from a handler or
// an io thread; the destructor calls stop() with no drain. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "protocols/fhir/model/result.hpp"
#include "protocols/http/message.hpp"

namespace cg::http {

using Handler = std::function<Response(Request&)>;

struct TlsConfig {
  std::filesystem::path certificate_chain;  // PEM
  std::filesystem::path private_key;        // PEM
  // PEM file of the CAs that issue client certificates. Set: every client must present a
  // certificate that verifies against them or the handshake fails (mutual TLS), and its
  // subject reaches the handler as Request::client_subject. Empty: none is asked for.
  std::filesystem::path client_ca;
};

struct ServerConfig {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;
  std::optional<TlsConfig> tls;
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 16 * 1024 * 1024;
  std::chrono::milliseconds request_timeout{30'000};  // whole request incl. body
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive wait for the next request
  std::size_t max_connections = 512;
  int io_threads = 2;
  int worker_threads = 32;
  std::size_t gzip_min_bytes = 1024;
  std::string server_name = "clinic-gateway";
  // Builds the answers the server itself gives (400, 413, 415, 431, 500) from a status and
  // a reason, so the application can answer in its own format (e.g. an OperationOutcome).
  // Empty: plain text. Called from io and worker threads; must not throw.
  std::function<Response(int status, std::string_view reason)> error_response;
  // syslog priority (3 err .. 7 debug); called concurrently from io and worker threads.
  // Messages never contain bodies or query strings.
  std::function<void(int priority, std::string_view message)> log;
};

// Monotonic counters, readable at any time (for /metrics and tests).
struct ServerCounters {
  std::atomic<std::uint64_t> connections_accepted{0};  // admitted (rejected ones excluded)
  std::atomic<std::uint64_t> connections_rejected{0};  // over max_connections
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> bad_requests{0};            // unparseable HTTP, no Host, bad gzip
  std::atomic<std::uint64_t> too_large{0};               // header or body over the limit
  std::atomic<std::uint64_t> timeouts{0};                // request or idle deadline hit
  std::atomic<std::uint64_t> tls_handshake_failures{0};  // incl. handshakes timing out
  std::atomic<std::uint64_t> handler_errors{0};          // handler threw (a bug): 500 sent
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(ServerConfig config, Handler handler);
  virtual ~HttpServer() = default;

  virtual std::uint16_t port() const = 0;
  virtual const ServerCounters& counters() const = 0;
  virtual std::size_t open_connections() const = 0;
  // Re-reads the TLS certificate, key and client CA file (SIGHUP); new connections use them,
  // connections already open keep theirs. On an error the previous ones stay in use.
  virtual Status reload_tls() = 0;
  // Runs `task` on one of the server's I/O threads, after what is queued there: the
  // watchdog's proof that the event loop still turns (gateway/watchdog.hpp).
  virtual void post(std::function<void()> task) = 0;
  virtual void stop(std::chrono::milliseconds drain) = 0;
};

}  // namespace cg::http
