#pragma once
// Blocking HTTP/1.1 test client over POSIX sockets (optionally TLS through OpenSSL), so the
// server tests exercise the real wire without compiling Beast a second time. Every read is
// bounded by a deadline (SO_RCVTIMEO), never by a sleep. One client per thread.

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/http/message.hpp"
#include "tests/http/test_cert.hpp"

namespace cg::http::testing {

using namespace std::chrono_literals;

struct RawResponse {
  int status = 0;
  std::string version;  // "HTTP/1.1"
  Headers headers;
  std::string body;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

// How a TLS TestClient shakes hands; the defaults are OpenSSL's (TLS 1.2 and 1.3).
struct TlsClientOptions {
  const CertificateFiles* certificate = nullptr;  // presented when the server asks
  int max_version = 0;       // e.g. TLS1_1_VERSION to play an outdated client; 0: no cap
  const char* ciphers = "";  // TLS 1.2 cipher list (OpenSSL syntax); "": OpenSSL's default
};

class TestClient {
 public:
  // Connects to 127.0.0.1:port; with `tls`, also runs the TLS handshake (no verification:
  // the tests' self-signed certificate), presenting `client_certificate` when given.
  // ok() is false when either step failed.
  explicit TestClient(std::uint16_t port, bool tls = false,
                      const CertificateFiles* client_certificate = nullptr);
  // A TLS client shaped by `options`.
  TestClient(std::uint16_t port, const TlsClientOptions& options);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool ok() const { return fd_ >= 0 && (!tls_ || ssl_ != nullptr); }
  bool send(std::string_view bytes);
  void shutdown_write();
  // Reads one response within `timeout`; nullopt on EOF, reset, timeout or garbage.
  // `head` means the response has no body whatever its Content-Length says; interim (1xx)
  // responses are skipped unless `keep_interim`.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = 5s,
                                           bool head = false, bool keep_interim = false);
  // Sends `request` and reads its response.
  std::optional<RawResponse> exchange(std::string_view request,
                                      std::chrono::milliseconds timeout = 5s);
  // Whatever bytes arrive next (protocol-agnostic reads); empty on EOF, reset or timeout.
  std::string read_some(std::chrono::milliseconds timeout = 5s);
  // True when the server closes the connection (EOF or reset) within `timeout`; bytes that
  // arrive meanwhile are discarded.
  bool wait_closed(std::chrono::milliseconds timeout);

 private:
  bool connect_to(std::uint16_t port);
  void start_tls(const TlsClientOptions& options);
  bool configure(const TlsClientOptions& options);
  // recv/SSL_read into buf_; false on EOF, error or deadline.
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool tls_ = false;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

// "GET <target> HTTP/1.1" with Host and the extra header lines (each ending in \r\n).
std::string get_request(std::string_view target, std::string_view extra_headers = {});
std::string post_request(std::string_view target, std::string_view body,
                         std::string_view extra_headers = {});

// Polls `done` until it holds or `timeout` passes: for state that changes on server threads
// after the client already saw the bytes (counters, connection count).
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = 5s);

}  // namespace cg::http::testing

#include <thread>

template <class Predicate>
bool cg::http::testing::eventually(Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}
