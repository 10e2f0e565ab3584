#include "protocols/atna/syslog_client.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "protocols/atna/syslog_framer.hpp"
#include "protocols/http/tls_context.hpp"
#include "tests/http/test_cert.hpp"

using namespace cg;
using namespace cg::atna;
using namespace cg::http::testing;
using namespace std::chrono_literals;

namespace {

// How the test receiver ends a connection.
enum class Ending {
  kInOrder,      // reads to the end, answers the close (close_notify / FIN)
  kDropUnread,   // closes while a frame is still unread: the kernel resets the connection
  kNeverCloses,  // reads to the end, then holds the connection open until release()
};

struct Received {
  std::vector<std::string> messages;
  std::string client_subject;  // TLS with client certificates
  bool handshake_failed = false;
};

// A blocking one-connection syslog receiver on 127.0.0.1 (plain or TLS, with OpenSSL
// directly): small enough to be obviously right, and independent of the client under test.
class TestReceiver {
 public:
  explicit TestReceiver(Ending ending, std::optional<http::TlsConfig> tls = {}) : ending_(ending) {
    if (tls) {
      auto ctx = http::make_server_tls_context(*tls);
      REQUIRE_MESSAGE(ctx.ok(), (ctx.ok() ? "" : ctx.error().message));
      ctx_ = std::move(*ctx);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { done_.set_value(serve_one()); });
  }
  ~TestReceiver() {
    release();
    ::shutdown(fd_, SHUT_RDWR);  // ends a pending accept()
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  // Lets a kNeverCloses receiver close its connection.
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    released_changed_.notify_all();
  }
  // Waits (bounded) until `n` messages have been read on the open connection.
  void wait_until_read(std::size_t n) {
    std::unique_lock lock(mutex_);
    released_changed_.wait_for(lock, 10s, [&] { return messages_read_ >= n; });
  }
  // What arrived, once the receiver is done with the connection (bounded wait).
  Received result() {
    auto future = done_.get_future();
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    return future.get();
  }

 private:
  Received serve_one() {
    Received received;
    const int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) return received;
    if (ending_ == Ending::kDropUnread) {
      drop_unread(conn);
    } else if (ctx_) {
      read_tls(conn, received);
    } else {
      read_plain(conn, received);
    }
    ::close(conn);
    return received;
  }

  // Waits until a whole small frame is in the socket, takes one byte of it and closes.
  static void drop_unread(int conn) {
    char buf[64];
    while (::recv(conn, buf, sizeof buf, MSG_PEEK) < static_cast<ssize_t>(sizeof buf)) {
    }
    (void)::recv(conn, buf, 1, 0);
  }

  void collect(std::string_view bytes, Received& received) {
    while (auto event = framer_.extract(&bytes)) {
      if (event->kind == SyslogFrameEvent::Kind::kMessage) {
        received.messages.push_back(event->message);
        std::lock_guard lock(mutex_);
        ++messages_read_;
        released_changed_.notify_all();
      }
    }
  }

  void read_plain(int conn, Received& received) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(conn, buf, sizeof buf, 0)) > 0;) {
      collect(std::string_view(buf, static_cast<std::size_t>(n)), received);
    }
    if (ending_ == Ending::kNeverCloses) wait_for_release();
  }

  void read_tls(int conn, Received& received) {
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_.get()), &SSL_free);
    SSL_set_fd(ssl.get(), conn);
    if (SSL_accept(ssl.get()) != 1) {
      received.handshake_failed = true;
      return;
    }
    received.client_subject = http::verified_peer_subject(ssl.get());
    char buf[4096];
    for (int n; (n = SSL_read(ssl.get(), buf, sizeof buf)) > 0;) {
      collect(std::string_view(buf, static_cast<std::size_t>(n)), received);
    }
    if (ending_ == Ending::kNeverCloses) return wait_for_release();
    SSL_shutdown(ssl.get());  // our close_notify, answering the client's
  }

  // Holds the connection open, unanswered, until the test says (bounded).
  void wait_for_release() {
    std::unique_lock lock(mutex_);
    released_changed_.wait_for(lock, 30s, [this] { return released_; });
  }

  Ending ending_;
  http::TlsContextPtr ctx_;
  SyslogFramer framer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::promise<Received> done_;
  std::mutex mutex_;
  std::condition_variable released_changed_;
  bool released_ = false;
  std::size_t messages_read_ = 0;
  std::thread thread_;
};

SyslogClientConfig to(std::uint16_t port, bool tls, std::string host = "localhost") {
  SyslogClientConfig config;
  config.destination.tls = tls;
  config.destination.host = std::move(host);
  config.destination.port = port;
  config.timeout = 5s;
  return config;
}

const std::vector<std::string> kMessages = {
    "<85>1 2026-01-05T10:00:00.000Z clinic-7 clinic-gateway - IHE+RFC-3881 - <AuditMessage/>",
    "<85>1 2026-01-05T10:00:01.000Z clinic-7 clinic-gateway - IHE+RFC-3881 - <AuditMessage>\n"
    "  <EventIdentification/>\n</AuditMessage>",
    "<85>1 2026-01-05T10:00:02.000Z clinic-7 clinic-gateway - - - "
    "{\"resourceType\":\"AuditEvent\"}",
};

}  // namespace

TEST_CASE("over TLS: every message arrives octet-counted, in order, newlines and all") {
  TempDir dir;
  auto ca = make_certificate_authority(dir.path(), "ca", "District CA");
  auto arr = make_issued(dir.path(), "arr", "localhost", ca);
  REQUIRE_FALSE(arr.chain.empty());
  TestReceiver receiver(Ending::kInOrder, http::TlsConfig{arr.chain, arr.key, {}});
  auto config = to(receiver.port(), true);
  config.tls_ca = ca.chain;
  auto sent = send_syslog_batch(config, kMessages);
  CHECK_MESSAGE(sent.ok(), (sent.ok() ? "" : sent.error().message));
  CHECK(receiver.result().messages == kMessages);
}

TEST_CASE("mutual TLS: the client certificate is presented; without one the send fails") {
  TempDir dir;
  auto ca = make_certificate_authority(dir.path(), "ca", "District CA");
  auto arr = make_issued(dir.path(), "arr", "localhost", ca);
  auto nodes = make_certificate_authority(dir.path(), "nodes", "Secure Nodes CA");
  auto node = make_issued(dir.path(), "node", "clinic-7", nodes);
  REQUIRE_FALSE(node.chain.empty());
  const http::TlsConfig tls{arr.chain, arr.key, nodes.chain};
  {
    TestReceiver receiver(Ending::kInOrder, tls);
    auto config = to(receiver.port(), true);
    config.tls_ca = ca.chain;
    config.client_certificate = node.chain;
    config.client_key = node.key;
    auto sent = send_syslog_batch(config, kMessages);
    CHECK_MESSAGE(sent.ok(), (sent.ok() ? "" : sent.error().message));
    auto received = receiver.result();
    CHECK(received.client_subject == "CN=clinic-7");
    CHECK(received.messages.size() == 3);
  }
  {
    // With TLS 1.3 the client's handshake ends before the server judges the (missing)
    // certificate: the refusal arrives as an alert, which the close must notice.
    TestReceiver receiver(Ending::kInOrder, tls);
    auto config = to(receiver.port(), true);
    config.tls_ca = ca.chain;
    auto sent = send_syslog_batch(config, kMessages);
    REQUIRE_FALSE(sent.ok());
    CHECK(sent.error().kind == ErrorKind::kUnavailable);
    CHECK(receiver.result().handshake_failed);
  }
}

TEST_CASE("a server certificate that is not trusted, or names another host, is refused") {
  TempDir dir;
  auto ca = make_certificate_authority(dir.path(), "ca", "District CA");
  auto arr = make_issued(dir.path(), "arr", "localhost", ca);
  REQUIRE_FALSE(arr.chain.empty());
  {
    TestReceiver receiver(Ending::kInOrder, http::TlsConfig{arr.chain, arr.key, {}});
    auto sent = send_syslog_batch(to(receiver.port(), true), kMessages);  // system CAs
    REQUIRE_FALSE(sent.ok());
    CHECK(sent.error().message.find("TLS handshake") != std::string::npos);
  }
  {
    TestReceiver receiver(Ending::kInOrder, http::TlsConfig{arr.chain, arr.key, {}});
    auto config = to(receiver.port(), true, "127.0.0.1");  // the certificate names localhost
    config.tls_ca = ca.chain;
    auto sent = send_syslog_batch(config, kMessages);
    REQUIRE_FALSE(sent.ok());
    CHECK(sent.error().kind == ErrorKind::kUnavailable);
    CHECK(sent.error().message.find("tls://127.0.0.1:") != std::string::npos);
  }
}

TEST_CASE("over plain TCP: the messages arrive, and success waits for the receiver's close") {
  TestReceiver receiver(Ending::kInOrder);
  auto sent = send_syslog_batch(to(receiver.port(), false, "127.0.0.1"), kMessages);
  CHECK_MESSAGE(sent.ok(), (sent.ok() ? "" : sent.error().message));
  CHECK(receiver.result().messages == kMessages);
}

TEST_CASE("a receiver that closes with bytes unread makes the send fail (reset, not FIN)") {
  TestReceiver receiver(Ending::kDropUnread);
  std::vector<std::string> big(4, std::string(200, 'x'));
  auto sent = send_syslog_batch(to(receiver.port(), false, "127.0.0.1"), big);
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("a receiver that never answers the close: kUnavailable at the deadline") {
  TestReceiver receiver(Ending::kNeverCloses);
  auto config = to(receiver.port(), false, "127.0.0.1");
  config.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  auto sent = send_syslog_batch(config, kMessages);
  const auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.error().kind == ErrorKind::kUnavailable);
  CHECK(sent.error().message.find("within 300 ms") != std::string::npos);
  CHECK(took < 5s);
  receiver.release();
  CHECK(receiver.result().messages.size() == 3);  // they arrived; the client cannot know
}

TEST_CASE("nothing listening is kUnavailable naming the destination") {
  // A loopback port bound (so the kernel picked it) but never listening.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::uint16_t port = ntohs(addr.sin_port);
  auto sent = send_syslog_batch(to(port, false, "127.0.0.1"), kMessages);
  ::close(fd);
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.error().kind == ErrorKind::kUnavailable);
  CHECK(sent.error().message.find("tcp://127.0.0.1:" + std::to_string(port) +
                                  ": connecting failed") != std::string::npos);
}

TEST_CASE("an empty batch sends nothing and succeeds") {
  CHECK(send_syslog_batch(to(1, false, "127.0.0.1"), {}).ok());
}

TEST_CASE("a stop request ends the send early, as unavailable") {
  TestReceiver receiver(Ending::kNeverCloses);
  std::stop_source stopping;
  auto config = to(receiver.port(), false, "127.0.0.1");
  config.timeout = 60s;
  config.stop = stopping.get_token();
  std::thread stopper([&] {
    // Stop once the receiver holds every message and the client waits for its close.
    receiver.wait_until_read(3);
    stopping.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  auto sent = send_syslog_batch(config, kMessages);
  stopper.join();
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.error().message.find("stopped") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 10s);
}
