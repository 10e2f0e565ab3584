#include "tests/http/test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <utility>

namespace cg::http::testing {
namespace {

void set_receive_timeout(int fd, std::chrono::milliseconds left) {
  if (left < 1ms) left = 1ms;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(left.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((left.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses the status line and header lines of `head` (without the blank line).
std::optional<RawResponse> parse_head(std::string_view head) {
  RawResponse response;
  auto line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
  response.version = std::string(status_line.substr(0, 8));
  response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    response.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                  std::string(trim(line.substr(colon + 1))));
  }
  return response;
}

}  // namespace

TestClient::TestClient(std::uint16_t port, bool tls, const CertificateFiles* client_certificate)
    : tls_(tls) {
  TlsClientOptions options;
  options.certificate = client_certificate;
  if (connect_to(port) && tls_) start_tls(options);
}

TestClient::TestClient(std::uint16_t port, const TlsClientOptions& options) : tls_(true) {
  if (connect_to(port)) start_tls(options);
}

bool TestClient::connect_to(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

void TestClient::start_tls(const TlsClientOptions& options) {
  set_receive_timeout(fd_, 5s);
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!configure(options)) return;
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd_);
  if (SSL_connect(ssl) == 1) {
    ssl_ = ssl;
  } else {
    SSL_free(ssl);
  }
}

bool TestClient::configure(const TlsClientOptions& options) {
  const CertificateFiles* certificate = options.certificate;
  if (certificate != nullptr &&
      (SSL_CTX_use_certificate_chain_file(ctx_, certificate->chain.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx_, certificate->key.c_str(), SSL_FILETYPE_PEM) != 1)) {
    return false;
  }
  if (options.max_version != 0) {
    // OpenSSL 3 refuses to speak TLS 1.0/1.1 at its default security level; the outdated
    // client must really offer it for the test to show that the server refuses.
    if (options.max_version < TLS1_2_VERSION) {
      SSL_CTX_set_security_level(ctx_, 0);
      if (SSL_CTX_set_min_proto_version(ctx_, 0) != 1) return false;
    }
    if (SSL_CTX_set_max_proto_version(ctx_, options.max_version) != 1) return false;
  }
  return *options.ciphers == '\0' || SSL_CTX_set_cipher_list(ctx_, options.ciphers) == 1;
}

TestClient::~TestClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

bool TestClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = tls_ ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                           : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void TestClient::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

bool TestClient::fill(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left <= 0ms) return false;
  set_receive_timeout(fd_, left);
  std::array<char, 16384> chunk{};
  const ssize_t n = tls_ ? SSL_read(ssl_, chunk.data(), static_cast<int>(chunk.size()))
                         : ::recv(fd_, chunk.data(), chunk.size(), 0);
  if (n <= 0) return false;
  buf_.append(chunk.data(), static_cast<std::size_t>(n));
  return true;
}

std::optional<RawResponse> TestClient::read_response(std::chrono::milliseconds timeout, bool head,
                                                     bool keep_interim) {
  if (!ok()) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t head_end;
  while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) return std::nullopt;
  }
  auto response = parse_head(std::string_view(buf_).substr(0, head_end));
  buf_.erase(0, head_end + 4);
  if (!response) return std::nullopt;
  if (response->status >= 100 && response->status < 200) {
    if (keep_interim) return response;
    return read_response(timeout, head);
  }
  const bool bodyless = head || response->status == 204 || response->status == 304;
  const std::size_t length =
      bodyless
          ? 0
          : std::strtoull(std::string(response->header("Content-Length")).c_str(), nullptr, 10);
  while (buf_.size() < length) {
    if (!fill(deadline)) return std::nullopt;
  }
  response->body = buf_.substr(0, length);
  buf_.erase(0, length);
  return response;
}

std::string TestClient::read_some(std::chrono::milliseconds timeout) {
  if (!ok()) return {};
  if (buf_.empty()) fill(std::chrono::steady_clock::now() + timeout);
  return std::exchange(buf_, std::string());
}

std::optional<RawResponse> TestClient::exchange(std::string_view request,
                                                std::chrono::milliseconds timeout) {
  if (!send(request)) return std::nullopt;
  return read_response(timeout, request.substr(0, 5) == "HEAD ");
}

bool TestClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    set_receive_timeout(fd_, left);
    std::array<char, 4096> chunk{};
    errno = 0;
    const ssize_t n = tls_ ? SSL_read(ssl_, chunk.data(), static_cast<int>(chunk.size()))
                           : ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n > 0) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return true;
  }
}

std::string get_request(std::string_view target, std::string_view extra_headers) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra_headers) + "\r\n";
}

std::string post_request(std::string_view target, std::string_view body,
                         std::string_view extra_headers) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

}  // namespace cg::http::testing
