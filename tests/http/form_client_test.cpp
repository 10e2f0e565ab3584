#include "protocols/http/form_client.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <mutex>
#include <thread>

#include "protocols/http/server.hpp"
#include "tests/http/test_cert.hpp"

using namespace cg;
using namespace cg::http;
using namespace cg::http::testing;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<HttpServer> start_server(Handler handler, std::optional<TlsConfig> tls = {}) {
  ServerConfig config;
  config.port = 0;
  config.io_threads = 1;
  config.worker_threads = 2;
  config.tls = std::move(tls);
  auto server = HttpServer::start(std::move(config), std::move(handler));
  REQUIRE_MESSAGE(server.ok(), (server.ok() ? std::string() : server.error().message));
  return std::move(server).value();
}

FormPost post_to(std::string url) {
  auto parsed = parse_http_url(url);
  REQUIRE(parsed);
  FormPost post;
  post.url = *parsed;
  post.fields = {{"grant_type", "password"}, {"username", "wanjiru"}, {"password", "a b&c=d"}};
  post.timeout = 5s;
  return post;
}

std::string local(std::uint16_t port, std::string_view scheme = "http",
                  std::string_view host = "127.0.0.1") {
  return std::string(scheme) + "://" + std::string(host) + ":" + std::to_string(port) +
         "/auth/token";
}

// A listening socket on 127.0.0.1 that answers one connection with fixed bytes, for
// answers no well-behaved server gives.
class RawServer {
 public:
  explicit RawServer(std::string answer) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, answer = std::move(answer)] {
      const int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      char buf[4096];
      (void)::recv(conn, buf, sizeof buf, 0);
      (void)::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
      // Closing with unread bytes would reset the connection and could drop the answer
      // before the client reads it: end our side and wait for the client to close.
      ::shutdown(conn, SHUT_WR);
      while (::recv(conn, buf, sizeof buf, 0) > 0) {
      }
      ::close(conn);
    });
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// A loopback port nobody listens on: bound (so the kernel picked it) but never listening.
struct UnusedPort {
  UnusedPort() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~UnusedPort() { ::close(fd); }
  int fd = -1;
  std::uint16_t port = 0;
};

}  // namespace

TEST_CASE("the form reaches the server encoded, with the headers, and its answer comes back") {
  std::mutex mutex;
  Request seen;
  auto server = start_server([&](Request& request) {
    std::lock_guard lock(mutex);
    seen = request;
    Response r;
    r.status = 200;
    r.body = R"({"access_token":"t"})";
    r.set_header("Content-Type", "application/json");
    return r;
  });
  FormPost post = post_to(local(server->port()));
  post.authorization = "Basic Y2xpbmljOnNlY3JldA";
  auto answer = post_form(post);
  REQUIRE_MESSAGE(answer.ok(), (answer.ok() ? "" : answer.error().message));
  CHECK(answer->status == 200);
  CHECK(answer->content_type == "application/json");
  CHECK(answer->body == R"({"access_token":"t"})");
  std::lock_guard lock(mutex);
  CHECK(seen.method == "POST");
  CHECK(seen.target == "/auth/token");
  CHECK(seen.header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(seen.header("Authorization") == "Basic Y2xpbmljOnNlY3JldA");
  CHECK(seen.body == "grant_type=password&username=wanjiru&password=a+b%26c%3Dd");
}

TEST_CASE("an error status is an answer to judge, not a transport error") {
  auto server = start_server([](Request&) {
    Response r;
    r.status = 400;
    r.body = R"({"error":"invalid_grant"})";
    return r;
  });
  auto answer = post_form(post_to(local(server->port())));
  REQUIRE(answer.ok());
  CHECK(answer->status == 400);
  CHECK(answer->body == R"({"error":"invalid_grant"})");
}

TEST_CASE("nothing listening is kUnavailable naming the host") {
  UnusedPort unused;
  const std::uint16_t port = unused.port;
  auto answer = post_form(post_to(local(port)));
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().kind == ErrorKind::kUnavailable);
  CHECK(answer.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("a server that does not answer in time: kUnavailable at the deadline") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto server = start_server([released](Request&) {
    released.wait_for(30s);  // bounded: the test releases it as soon as the client gave up
    return Response{};
  });
  FormPost post = post_to(local(server->port()));
  post.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto answer = post_form(post);
  const auto took = std::chrono::steady_clock::now() - started;
  release.set_value();
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().kind == ErrorKind::kUnavailable);
  CHECK(answer.error().message.find("within 300 ms") != std::string::npos);
  CHECK(took >= 300ms);
  CHECK(took < 5s);
  server->stop(1s);
}

TEST_CASE("an answer over the size limit is kTooLarge") {
  auto server = start_server([](Request&) {
    Response r;
    r.body = std::string(10'000, 'x');
    return r;
  });
  FormPost post = post_to(local(server->port()));
  post.max_response_bytes = 1000;
  auto answer = post_form(post);
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().kind == ErrorKind::kTooLarge);
}

TEST_CASE("bytes that are not HTTP are kInvalid; a connection closed early is kUnavailable") {
  {
    RawServer garbage("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    auto answer = post_form(post_to(local(garbage.port())));
    REQUIRE_FALSE(answer.ok());
    CHECK(answer.error().kind == ErrorKind::kInvalid);
  }
  {
    RawServer cut("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"access");
    auto answer = post_form(post_to(local(cut.port())));
    REQUIRE_FALSE(answer.ok());
    CHECK(answer.error().kind == ErrorKind::kUnavailable);
  }
}

TEST_CASE("https: the certificate must chain to tls_ca and name the URL's host") {
  TempDir dir;
  auto cert = make_self_signed(dir.path());  // CN=localhost
  REQUIRE_FALSE(cert.chain.empty());
  auto server = start_server(
      [](Request& request) {
        Response r;
        r.body = request.secure ? "over tls" : "plain";
        return r;
      },
      TlsConfig{cert.chain, cert.key, {}});

  FormPost trusted = post_to(local(server->port(), "https", "localhost"));
  trusted.tls_ca = cert.chain;
  auto answer = post_form(trusted);
  REQUIRE_MESSAGE(answer.ok(), (answer.ok() ? "" : answer.error().message));
  CHECK(answer->body == "over tls");

  // The system's CAs never issued the test certificate.
  auto untrusted = post_form(post_to(local(server->port(), "https", "localhost")));
  REQUIRE_FALSE(untrusted.ok());
  CHECK(untrusted.error().kind == ErrorKind::kUnavailable);
  CHECK(untrusted.error().message.find("TLS handshake") != std::string::npos);

  // Trusted, but issued for "localhost", not for the address the URL names.
  FormPost by_address = post_to(local(server->port(), "https", "127.0.0.1"));
  by_address.tls_ca = cert.chain;
  auto wrong_name = post_form(by_address);
  REQUIRE_FALSE(wrong_name.ok());
  CHECK(wrong_name.error().kind == ErrorKind::kUnavailable);
  CHECK(wrong_name.error().message.find("TLS handshake") != std::string::npos);
}

TEST_CASE("https: a certificate from the trusted CA for another host name is refused") {
  TempDir dir;
  auto ca = make_certificate_authority(dir.path(), "ca", "Test District CA");
  auto other = make_issued(dir.path(), "other", "other.example", ca);
  auto mine = make_issued(dir.path(), "mine", "localhost", ca);
  REQUIRE_FALSE(other.chain.empty());
  REQUIRE_FALSE(mine.chain.empty());
  auto handler = [](Request&) { return Response{}; };
  auto impostor = start_server(handler, TlsConfig{other.chain, other.key, {}});
  FormPost post = post_to(local(impostor->port(), "https", "localhost"));
  post.tls_ca = ca.chain;
  auto refused = post_form(post);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kUnavailable);
  CHECK(refused.error().message.find("TLS handshake") != std::string::npos);

  auto genuine = start_server(handler, TlsConfig{mine.chain, mine.key, {}});
  post = post_to(local(genuine->port(), "https", "localhost"));
  post.tls_ca = ca.chain;
  auto accepted = post_form(post);
  CHECK_MESSAGE(accepted.ok(), (accepted.ok() ? "" : accepted.error().message));
}

TEST_CASE("an unreadable tls_ca is kInternal before anything is sent") {
  FormPost post = post_to("https://localhost:1/auth/token");
  post.tls_ca = "/nonexistent/ca.pem";
  auto answer = post_form(post);
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().kind == ErrorKind::kInternal);
}

TEST_CASE("post_body sends its own media type, and a client certificate when the server asks") {
  TempDir dir;
  auto ca = make_certificate_authority(dir.path(), "ca", "Test District CA");
  auto server_cert = make_issued(dir.path(), "server", "localhost", ca);
  auto clients = make_certificate_authority(dir.path(), "clients", "Clinic Nodes CA");
  auto node = make_issued(dir.path(), "node", "clinic-7", clients);
  REQUIRE_FALSE(node.chain.empty());
  std::mutex mutex;
  Request seen;
  auto server = start_server(
      [&](Request& request) {
        std::lock_guard lock(mutex);
        seen = request;
        Response r;
        r.status = 200;
        return r;
      },
      TlsConfig{server_cert.chain, server_cert.key, clients.chain});
  BodyPost post;
  post.url = *parse_http_url(local(server->port(), "https", "localhost"));
  post.content_type = "application/fhir+json";
  post.accept = "application/fhir+json";
  post.body = R"({"resourceType":"Bundle"})";
  post.authorization = "Bearer abc";
  post.timeout = 5s;
  post.tls_ca = ca.chain;
  // Without a certificate the server refuses the handshake.
  auto refused = post_body(post);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kUnavailable);

  post.client_certificate = node.chain;
  post.client_key = node.key;
  auto answer = post_body(post);
  REQUIRE_MESSAGE(answer.ok(), (answer.ok() ? "" : answer.error().message));
  CHECK(answer->status == 200);
  std::lock_guard lock(mutex);
  CHECK(seen.header("Content-Type") == "application/fhir+json");
  CHECK(seen.header("Authorization") == "Bearer abc");
  CHECK(seen.body == R"({"resourceType":"Bundle"})");
  CHECK(seen.client_subject == "CN=clinic-7");
}

TEST_CASE("a client key that does not match its certificate is kInternal, naming the key") {
  TempDir dir;
  auto one = make_self_signed(dir.path(), "one");
  auto two = make_self_signed(dir.path(), "two");
  BodyPost post;
  post.url = *parse_http_url("https://localhost:1/fhir");
  post.client_certificate = one.chain;
  post.client_key = two.key;
  auto answer = post_body(post);
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().kind == ErrorKind::kInternal);
  CHECK(answer.error().message.find("two.key") != std::string::npos);
}
