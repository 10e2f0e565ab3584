#include "protocols/atna/syslog_server.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "protocols/atna/syslog_framer.hpp"
#include "tests/http/log_capture.hpp"
#include "tests/http/test_cert.hpp"
#include "tests/http/test_client.hpp"

namespace cg::atna {
namespace {

using namespace std::chrono_literals;
using http::testing::eventually;
using http::testing::LogCapture;
using http::testing::TempDir;
using http::testing::TestClient;

std::string audit(int n) {
  return "<85>1 2024-03-01T08:15:30Z emr ATNA - IHE+DICOM - <AuditMessage n=\"" +
         std::to_string(n) + "\">\n  <patient>DOE^JANE</patient>\n</AuditMessage>";
}

// Stands in for the intake: keeps every batch, completes it with `stored` (or holds the
// completion for the test to call when `hold` is set).
class RecordingSink {
 public:
  SyslogSink sink() {
    return [this](SyslogBatch batch, SyslogBatchDone done) {
      std::lock_guard lock(mutex_);
      batches_.push_back(std::move(batch));
      if (hold_) {
        held_.push_back(std::move(done));
      } else {
        done(stored_);
      }
    };
  }
  void hold() { hold_ = true; }
  void refuse() { stored_ = false; }
  // Completes the oldest held batch; false when none is held.
  bool release_one() {
    SyslogBatchDone done;
    {
      std::lock_guard lock(mutex_);
      if (held_.empty()) return false;
      done = std::move(held_.front());
      held_.erase(held_.begin());
    }
    done(true);
    return true;
  }
  std::size_t batch_count() const {
    std::lock_guard lock(mutex_);
    return batches_.size();
  }
  std::vector<ReceivedSyslog> messages() const {
    std::lock_guard lock(mutex_);
    std::vector<ReceivedSyslog> out;
    for (const auto& b : batches_) out.insert(out.end(), b.messages.begin(), b.messages.end());
    return out;
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& m : messages()) out.push_back(m.message);
    return out;
  }
  std::vector<SyslogBatch> batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<SyslogBatch> batches_;
  std::vector<SyslogBatchDone> held_;
  bool hold_ = false;
  bool stored_ = true;
};

SyslogConfig test_config(LogCapture& logs) {
  SyslogConfig config;
  config.udp_port = 0;
  config.tcp_port = 0;
  config.tls_port = std::nullopt;
  config.io_threads = 2;
  config.worker_threads = 2;
  config.log = logs.sink();
  return config;
}

std::unique_ptr<SyslogServer> start_server(SyslogConfig config, SyslogSink sink) {
  auto server = SyslogServer::start(std::move(config), std::move(sink));
  REQUIRE_MESSAGE(server.ok(), (server.ok() ? std::string() : server.error().message));
  return std::move(server).value();
}

// Sends datagrams to 127.0.0.1:port.
class UdpSender {
 public:
  explicit UdpSender(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    to_.sin_family = AF_INET;
    to_.sin_port = htons(port);
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~UdpSender() { ::close(fd_); }
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;
  bool send(std::string_view datagram) {
    return ::sendto(fd_, datagram.data(), datagram.size(), 0,
                    reinterpret_cast<const sockaddr*>(&to_),
                    sizeof to_) == static_cast<ssize_t>(datagram.size());
  }

 private:
  int fd_;
  sockaddr_in to_{};
};

}  // namespace

TEST_CASE("UDP: each datagram is one message, with its peer and transport") {
  LogCapture logs;
  RecordingSink sink;
  auto server = start_server(test_config(logs), sink.sink());
  REQUIRE(server->udp_port().has_value());
  CHECK(*server->udp_port() != 0);
  CHECK(logs.contains("syslog listening on udp 127.0.0.1:" + std::to_string(*server->udp_port())));
  UdpSender udp(*server->udp_port());
  REQUIRE(udp.send(audit(1)));
  REQUIRE(udp.send(audit(2) + "\n"));  // a trailing LF is not part of the message
  REQUIRE(udp.send(audit(3) + std::string(1, '\0')));
  REQUIRE(eventually([&] { return sink.messages().size() == 3; }));
  auto texts = sink.texts();
  std::sort(texts.begin(), texts.end());
  CHECK(texts == std::vector<std::string>{audit(1), audit(2), audit(3)});
  for (const auto& batch : sink.batches()) {
    CHECK(batch.transport == "udp");
    CHECK(batch.received_ms > 1'700'000'000'000);
    for (const auto& m : batch.messages) CHECK(m.peer == "127.0.0.1");
  }
  CHECK(server->counters().messages == 3);
  CHECK(server->counters().bytes == 3 * audit(1).size());
  CHECK_FALSE(logs.contains("DOE^JANE"));
}

TEST_CASE("UDP: oversize and empty datagrams are counted and dropped, the rest received") {
  LogCapture logs;
  RecordingSink sink;
  SyslogConfig config = test_config(logs);
  config.max_message_size = 1024;
  auto server = start_server(config, sink.sink());
  UdpSender udp(*server->udp_port());
  REQUIRE(udp.send(std::string(1025, 'x')));
  REQUIRE(udp.send(std::string(1024, 'y') + "\r\n"));  // exactly the limit once the trailer goes
  REQUIRE(udp.send("\n"));
  REQUIRE(udp.send(audit(7)));
  REQUIRE(eventually([&] { return sink.messages().size() == 2; }));
  CHECK(eventually([&] { return server->counters().oversize == 1; }));
  CHECK(server->counters().malformed == 1);
  CHECK(sink.texts().back() == audit(7));
  CHECK(logs.contains("dropped: over 1024 bytes"));
}

TEST_CASE("UDP: a burst of datagrams arrives complete, in few batches") {
  LogCapture logs;
  RecordingSink sink;
  auto server = start_server(test_config(logs), sink.sink());
  UdpSender udp(*server->udp_port());
  constexpr int kBurst = 500;
  for (int i = 0; i < kBurst; ++i) REQUIRE(udp.send(audit(i)));
  REQUIRE(eventually([&] { return sink.messages().size() == kBurst; }, 10s));
  CHECK(sink.batch_count() <= kBurst);
  CHECK(server->counters().dropped == 0);
}

TEST_CASE("UDP: datagrams beyond max_udp_in_flight_bytes waiting for the sink are dropped") {
  LogCapture logs;
  RecordingSink sink;
  sink.hold();
  SyslogConfig config = test_config(logs);
  config.max_udp_in_flight_bytes = 1500;
  auto server = start_server(config, sink.sink());
  UdpSender udp(*server->udp_port());
  REQUIRE(udp.send(std::string(1000, 'a')));
  REQUIRE(eventually([&] { return sink.batch_count() == 1; }));
  REQUIRE(udp.send(std::string(1000, 'b')));
  CHECK(eventually([&] { return server->counters().dropped == 1; }));
  CHECK(eventually([&] { return logs.contains("UDP queue full"); }));
  REQUIRE(sink.release_one());
  REQUIRE(udp.send(std::string(1000, 'c')));  // room again
  REQUIRE(eventually([&] { return sink.batch_count() == 2; }));
  CHECK(server->counters().messages == 3);
  CHECK(server->counters().dropped == 1);
}

TEST_CASE("TCP: frames split over writes and several frames in one write are reassembled") {
  LogCapture logs;
  RecordingSink sink;
  auto server = start_server(test_config(logs), sink.sink());
  REQUIRE(server->tcp_port().has_value());
  TestClient client(*server->tcp_port());
  REQUIRE(client.ok());
  SUBCASE("one byte per write") {
    for (const char byte : octet_frame(audit(1))) REQUIRE(client.send(std::string(1, byte)));
    REQUIRE(eventually([&] { return sink.messages().size() == 1; }));
    CHECK(sink.texts() == std::vector<std::string>{audit(1)});
  }
  SUBCASE("many frames in one write, octet-counted and newline-framed mixed") {
    std::string burst;
    for (int i = 0; i < 20; ++i) burst += octet_frame(audit(i)) + (i % 2 ? "\n" : "");
    burst += "<13>1 - host app - - - plain line\n";
    REQUIRE(client.send(burst));
    REQUIRE(eventually([&] { return sink.messages().size() == 21; }));
    auto texts = sink.texts();
    for (int i = 0; i < 20; ++i) CHECK(texts[static_cast<std::size_t>(i)] == audit(i));
    CHECK(texts.back() == "<13>1 - host app - - - plain line");
    CHECK(sink.batch_count() < 21);
  }
  SUBCASE("the end of one frame and the start of the next in one write") {
    const std::string first = octet_frame(audit(1));
    const std::string second = octet_frame(audit(2));
    REQUIRE(client.send(first.substr(0, 10)));
    REQUIRE(client.send(first.substr(10) + second.substr(0, 30)));
    REQUIRE(eventually([&] { return sink.messages().size() == 1; }));
    REQUIRE(client.send(second.substr(30)));
    REQUIRE(eventually([&] { return sink.messages().size() == 2; }));
    CHECK(sink.texts() == std::vector<std::string>{audit(1), audit(2)});
  }
  for (const auto& batch : sink.batches()) CHECK(batch.transport == "tcp");
  CHECK(sink.messages().front().peer == "127.0.0.1");
  CHECK(server->counters().connections_accepted == 1);
}

TEST_CASE("TCP: a newline-framed message is complete when the sender closes, a cut one is not") {
  LogCapture logs;
  RecordingSink sink;
  auto server = start_server(test_config(logs), sink.sink());
  {
    TestClient client(*server->tcp_port());
    REQUIRE(client.send("<13>no newline at the end"));
  }
  REQUIRE(eventually([&] { return sink.messages().size() == 1; }));
  CHECK(sink.texts().front() == "<13>no newline at the end");
  {
    TestClient client(*server->tcp_port());
    REQUIRE(client.send(octet_frame(audit(1)).substr(0, 40)));
  }
  CHECK(eventually([&] { return server->counters().truncated == 1; }));
  CHECK(eventually([&] { return server->open_connections() == 0; }));
  CHECK(sink.messages().size() == 1);
}

TEST_CASE("TCP: an oversize frame is skipped and counted, the connection goes on") {
  LogCapture logs;
  RecordingSink sink;
  SyslogConfig config = test_config(logs);
  config.max_message_size = 1000;
  auto server = start_server(config, sink.sink());
  TestClient client(*server->tcp_port());
  REQUIRE(client.send(octet_frame(std::string(5000, 'x')) + octet_frame(audit(1))));
  REQUIRE(client.send(octet_frame(std::string(1001, 'y')) + octet_frame(audit(2))));
  REQUIRE(eventually([&] { return sink.messages().size() == 2; }));
  CHECK(sink.texts() == std::vector<std::string>{audit(1), audit(2)});
  CHECK(server->counters().oversize == 2);
  CHECK(server->open_connections() == 1);
  CHECK(logs.contains("over 1000 bytes"));
}

TEST_CASE("TCP: a malformed length closes the connection after the frames before it") {
  LogCapture logs;
  RecordingSink sink;
  auto server = start_server(test_config(logs), sink.sink());
  TestClient client(*server->tcp_port());
  REQUIRE(client.send(octet_frame(audit(1)) + "012 leading zero" + octet_frame(audit(2))));
  CHECK(client.wait_closed(5s));
  REQUIRE(eventually([&] { return sink.messages().size() == 1; }));
  CHECK(sink.texts().front() == audit(1));
  CHECK(server->counters().malformed == 1);
  CHECK(logs.contains("syslog connection from 127.0.0.1 closed"));
  CHECK_FALSE(logs.contains("DOE^JANE"));
}

TEST_CASE("TCP: a refused batch is counted as dropped") {
  LogCapture logs;
  RecordingSink sink;
  sink.refuse();
  auto server = start_server(test_config(logs), sink.sink());
  TestClient client(*server->tcp_port());
  REQUIRE(client.send(octet_frame(audit(1)) + octet_frame(audit(2))));
  CHECK(eventually([&] { return server->counters().dropped == 2; }));
  CHECK(eventually([&] { return logs.contains("syslog messages dropped (latest: not stored)"); }));
}

TEST_CASE("TCP: a connection is not read while its batches in flight are at the limit") {
  LogCapture logs;
  RecordingSink sink;
  sink.hold();
  auto server = start_server(test_config(logs), sink.sink());
  TestClient client(*server->tcp_port());
  const int limit = static_cast<int>(kBatchesInFlightPerConnection);
  std::vector<std::string> sent;
  for (int i = 1; i <= limit; ++i) {
    sent.push_back(audit(i));
    REQUIRE(client.send(octet_frame(audit(i))));
    REQUIRE(eventually([&] { return sink.batch_count() == static_cast<std::size_t>(i); }));
  }
  sent.push_back(audit(limit + 1));
  REQUIRE(client.send(octet_frame(audit(limit + 1))));
  // Bounded wait for what must not happen: the frame past the limit stays unread.
  CHECK_FALSE(eventually(
      [&] { return server->counters().messages > static_cast<std::uint64_t>(limit); }, 300ms));
  REQUIRE(sink.release_one());
  REQUIRE(eventually([&] { return sink.batch_count() == static_cast<std::size_t>(limit) + 1; }));
  while (sink.release_one()) {
  }
  CHECK(sink.texts() == sent);
}

TEST_CASE("TCP: a connection is not read while its bytes in flight are at the limit") {
  LogCapture logs;
  RecordingSink sink;
  sink.hold();
  SyslogConfig config = test_config(logs);
  config.max_message_size = 300 * 1024;
  auto server = start_server(config, sink.sink());
  TestClient client(*server->tcp_port());
  // 200 KiB messages, one at a time: the third batch takes the connection past 512 KiB.
  const std::string big = audit(1) + std::string(200 * 1024, 'x');
  const std::size_t over = kBytesInFlightPerConnection / big.size() + 1;
  REQUIRE(over < kBatchesInFlightPerConnection);  // the byte bound is the one reached
  for (std::size_t i = 1; i <= over; ++i) {
    REQUIRE(client.send(octet_frame(big)));
    REQUIRE(eventually([&] { return sink.batch_count() == i; }));
  }
  REQUIRE(client.send(octet_frame(audit(2))));
  // Bounded wait for what must not happen: the frame past the bound stays unread.
  CHECK_FALSE(eventually([&] { return server->counters().messages > over; }, 300ms));
  REQUIRE(sink.release_one());
  CHECK(eventually([&] { return sink.batch_count() == over + 1; }));
  while (sink.release_one()) {
  }
}

TEST_CASE("TCP: connections over max_connections are closed at once") {
  LogCapture logs;
  RecordingSink sink;
  SyslogConfig config = test_config(logs);
  config.max_connections = 1;
  auto server = start_server(config, sink.sink());
  TestClient first(*server->tcp_port());
  REQUIRE(first.send(octet_frame(audit(1))));
  REQUIRE(eventually([&] { return sink.messages().size() == 1; }));
  TestClient second(*server->tcp_port());
  CHECK(second.wait_closed(5s));
  CHECK(server->counters().connections_rejected == 1);
  CHECK(eventually([&] { return logs.contains("rejected: max_connections (1) reached"); }));
}

TEST_CASE("TCP: an idle connection is closed at idle_timeout") {
  LogCapture logs;
  RecordingSink sink;
  SyslogConfig config = test_config(logs);
  config.idle_timeout = 100ms;
  auto server = start_server(config, sink.sink());
  TestClient client(*server->tcp_port());
  CHECK(client.wait_closed(5s));
  CHECK(eventually([&] { return server->counters().idle_timeouts == 1; }));
}

TEST_CASE("TLS: octet-counted frames over TLS; plain text to the TLS port fails the handshake") {
  TempDir dir;
  auto files = http::testing::make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());
  LogCapture logs;
  RecordingSink sink;
  SyslogConfig config = test_config(logs);
  config.udp_port = std::nullopt;
  config.tcp_port = std::nullopt;
  config.tls_port = 0;
  config.tls = SyslogTlsConfig{files.chain, files.key, {}};
  auto server = start_server(config, sink.sink());
  CHECK_FALSE(server->udp_port().has_value());
  CHECK_FALSE(server->tcp_port().has_value());
  REQUIRE(server->tls_port().has_value());
  CHECK(logs.contains("syslog listening on tls 127.0.0.1:" + std::to_string(*server->tls_port())));
  {
    TestClient client(*server->tls_port(), /*tls=*/true);
    REQUIRE(client.ok());
    const std::string frames = octet_frame(audit(1)) + octet_frame(audit(2));
    REQUIRE(client.send(frames.substr(0, 100)));
    REQUIRE(client.send(frames.substr(100)));
    REQUIRE(eventually([&] { return sink.messages().size() == 2; }));
  }
  CHECK(sink.texts() == std::vector<std::string>{audit(1), audit(2)});
  CHECK(sink.batches().front().transport == "tls");
  {
    TestClient plain(*server->tls_port());
    REQUIRE(plain.send(octet_frame(audit(3))));
    CHECK(plain.wait_closed(5s));
    CHECK(eventually([&] { return server->counters().tls_handshake_failures == 1; }));
  }
  {
    auto renewed = http::testing::make_self_signed(dir.path());  // same paths, new key pair
    REQUIRE_FALSE(renewed.chain.empty());
    REQUIRE(server->reload_tls().ok());
    TestClient client(*server->tls_port(), true);
    REQUIRE(client.send(octet_frame(audit(4))));
    REQUIRE(eventually([&] { return sink.messages().size() == 3; }));
  }
  {
    std::ofstream(files.key) << "not a key";
    CHECK_FALSE(server->reload_tls().ok());
    TestClient client(*server->tls_port(), true);  // the previous certificate still serves
    REQUIRE(client.send(octet_frame(audit(5))));
    REQUIRE(eventually([&] { return sink.messages().size() == 4; }));
  }
  CHECK(sink.messages().size() == 4);
  CHECK(logs.contains("keeping the previous certificate"));
}

TEST_CASE("TLS with a client CA: a sender without a certificate it issued gets nothing through") {
  TempDir dir;
  auto server_files = http::testing::make_self_signed(dir.path());
  auto ca = http::testing::make_certificate_authority(dir.path(), "ca", "Clinic Senders CA");
  REQUIRE_FALSE(ca.chain.empty());
  const auto emr = http::testing::make_issued(dir.path(), "emr", "emr-1", ca);
  LogCapture logs;
  RecordingSink sink;
  SyslogConfig config = test_config(logs);
  config.tls_port = 0;
  config.tls = SyslogTlsConfig{server_files.chain, server_files.key, ca.chain};
  auto server = start_server(config, sink.sink());
  CHECK(logs.contains("syslog listening on tls (client certificates)"));
  {
    TestClient client(*server->tls_port(), true, &emr);
    REQUIRE(client.ok());
    REQUIRE(client.send(octet_frame(audit(1))));
    REQUIRE(eventually([&] { return sink.messages().size() == 1; }));
  }
  {
    TestClient anonymous(*server->tls_port(), true);
    if (anonymous.ok()) anonymous.send(octet_frame(audit(2)));  // TLS 1.3: refused after
    CHECK(eventually([&] { return server->counters().tls_handshake_failures == 1; }));
  }
  CHECK(sink.messages().size() == 1);
}

TEST_CASE("start refuses a bad configuration and a port in use") {
  LogCapture logs;
  RecordingSink sink;
  SyslogConfig config = test_config(logs);
  SUBCASE("a TLS port without certificate") {
    config.tls_port = 0;
    auto server = SyslogServer::start(config, sink.sink());
    REQUIRE_FALSE(server.ok());
    CHECK(server.error().kind == ErrorKind::kInvalid);
  }
  SUBCASE("no listener at all") {
    config.udp_port = std::nullopt;
    config.tcp_port = std::nullopt;
    CHECK_FALSE(SyslogServer::start(config, sink.sink()).ok());
  }
  SUBCASE("a bad address") {
    config.address = "not-an-address";
    CHECK_FALSE(SyslogServer::start(config, sink.sink()).ok());
  }
  SUBCASE("a TCP port in use (after the UDP receiver started)") {
    auto first = start_server(config, sink.sink());
    config.udp_port = 0;
    config.tcp_port = *first->tcp_port();
    auto second = SyslogServer::start(config, sink.sink());
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().message.find(std::to_string(*first->tcp_port())) != std::string::npos);
  }
}

TEST_CASE("stop closes connections, then waits for the sink to finish the batches in flight") {
  LogCapture logs;
  RecordingSink sink;
  sink.hold();
  auto server = start_server(test_config(logs), sink.sink());
  TestClient client(*server->tcp_port());
  REQUIRE(client.send(octet_frame(audit(1))));
  UdpSender udp(*server->udp_port());
  REQUIRE(udp.send(audit(2)));
  REQUIRE(eventually([&] { return sink.batch_count() == 2; }));
  std::thread store([&] {
    // The store commits only once stop() has closed the connection.
    REQUIRE(eventually([&] { return server->open_connections() == 0; }));
    while (sink.release_one()) {
    }
  });
  server->stop(30s);
  store.join();
  CHECK(client.wait_closed(5s));
  CHECK(server->counters().dropped == 0);
  CHECK_FALSE(logs.contains("still being stored"));
  CHECK(logs.contains("syslog receivers stopped"));
}

TEST_CASE("a batch still with the sink after the drain is let go, and completing it is safe") {
  LogCapture logs;
  RecordingSink sink;
  sink.hold();
  auto server = start_server(test_config(logs), sink.sink());
  UdpSender udp(*server->udp_port());
  REQUIRE(udp.send(audit(1)));
  REQUIRE(eventually([&] { return sink.batch_count() == 1; }));
  server->stop(50ms);
  CHECK(logs.contains("1 syslog batches were still being stored when the drain ended"));
  server.reset();
  CHECK(sink.release_one());  // after stop and destruction: does nothing, crashes nothing
}

TEST_CASE("stop with nothing in flight returns promptly and the destructor is safe") {
  LogCapture logs;
  RecordingSink sink;
  auto server = start_server(test_config(logs), sink.sink());
  TestClient idle(*server->tcp_port());
  REQUIRE(idle.ok());
  REQUIRE(eventually([&] { return server->open_connections() == 1; }));
  server->stop(5s);
  server->stop(5s);  // idempotent
  CHECK(idle.wait_closed(5s));
}

}  // namespace cg::atna
