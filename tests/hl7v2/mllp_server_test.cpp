#include "protocols/hl7v2/mllp_server.hpp"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/hl7v2/mllp_test_client.hpp"
#include "tests/http/log_capture.hpp"
#include "tests/http/test_cert.hpp"
#include "tests/http/test_client.hpp"

namespace cg::hl7v2 {
namespace {

using namespace std::chrono_literals;
using http::testing::CertificateFiles;
using http::testing::eventually;
using http::testing::LogCapture;
using http::testing::TempDir;
using testing::MllpTestClient;

std::string adt(std::string_view control_id) {
  return "MSH|^~\\&|EMR|CLINIC|GW|DISTRICT|20240101120000||ADT^A01|" + std::string(control_id) +
         "|P|2.5\rPID|1||123^^^CLINIC^MR||DOE^JANE\r";
}

// MSH-10 of a message (the field after the ninth '|' of its first segment).
std::string control_id(std::string_view message) {
  std::string_view msh = message.substr(0, message.find('\r'));
  for (int i = 0; i < 9 && msh.find('|') != std::string_view::npos; ++i) {
    msh.remove_prefix(msh.find('|') + 1);
  }
  return std::string(msh.substr(0, msh.find('|')));
}

// Stands in for the ingest pipeline: "ACK:<MSH-10>".
std::string ack(std::string_view message, const MllpPeer&) {
  return "ACK:" + control_id(message);
}

MllpConfig test_config() {
  MllpConfig config;
  config.port = 0;
  config.io_threads = 2;
  config.worker_threads = 4;
  return config;
}

std::unique_ptr<MllpServer> start_server(MllpConfig config, MessageHandler handler = ack) {
  auto server = MllpServer::start(std::move(config), std::move(handler));
  REQUIRE_MESSAGE(server.ok(), (server.ok() ? std::string() : server.error().message));
  return std::move(server).value();
}

}  // namespace

TEST_CASE("a message gets the handler's answer, framed, and the peer is described") {
  LogCapture logs;
  MllpConfig config = test_config();
  config.log = logs.sink();
  std::mutex mutex;
  std::vector<MllpPeer> peers;
  auto server = start_server(config, [&](std::string_view message, const MllpPeer& peer) {
    std::lock_guard lock(mutex);
    peers.push_back(peer);
    return ack(message, peer);
  });
  CHECK(server->port() != 0);
  CHECK(logs.contains("MLLP listening on 127.0.0.1:" + std::to_string(server->port())));
  MllpTestClient client(server->port());
  REQUIRE(client.ok());
  for (int i = 0; i < 5; ++i) {
    const std::string id = "MSG" + std::to_string(i);
    CHECK(client.exchange(adt(id)) == "ACK:" + id);
  }
  CHECK(server->counters().connections_accepted == 1);
  CHECK(server->counters().frames == 5);
  CHECK(eventually([&] { return server->counters().answers == 5; }));
  CHECK(server->counters().garbage_bytes == 0);
  CHECK(server->open_connections() == 1);
  std::lock_guard lock(mutex);
  REQUIRE(peers.size() == 5);
  CHECK(peers[0].address == "127.0.0.1");
  CHECK_FALSE(peers[0].secure);
  CHECK(peers[0].client_subject.empty());
  CHECK_FALSE(logs.contains("DOE^JANE"));
}

TEST_CASE("pipelined frames are handled one at a time and answered in order") {
  std::atomic<int> in_handler{0};
  std::atomic<int> most_at_once{0};
  auto server = start_server(test_config(), [&](std::string_view message, const MllpPeer& peer) {
    const int now = ++in_handler;
    int seen = most_at_once.load();
    while (now > seen && !most_at_once.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::yield();  // give a wrongly parallel second call a chance to overlap
    --in_handler;
    return ack(message, peer);
  });
  MllpTestClient client(server->port());
  std::string burst;
  for (int i = 0; i < 20; ++i) burst += mllp_frame(adt("P" + std::to_string(i)));
  REQUIRE(client.send(burst));
  for (int i = 0; i < 20; ++i) CHECK(client.read_answer() == "ACK:P" + std::to_string(i));
  CHECK(most_at_once == 1);
}

TEST_CASE("a frame split over many writes and frames sharing a write are both reassembled") {
  auto server = start_server(test_config());
  MllpTestClient client(server->port());
  SUBCASE("one byte per write") {
    for (const char byte : mllp_frame(adt("SPLIT"))) REQUIRE(client.send(std::string(1, byte)));
    CHECK(client.read_answer() == "ACK:SPLIT");
  }
  SUBCASE("the end of one frame and the start of the next in one write") {
    const std::string first = mllp_frame(adt("A"));
    const std::string second = mllp_frame(adt("B"));
    REQUIRE(client.send(first.substr(0, 10)));
    REQUIRE(client.send(first.substr(10) + second.substr(0, 20)));
    CHECK(client.read_answer() == "ACK:A");
    REQUIRE(client.send(second.substr(20)));
    CHECK(client.read_answer() == "ACK:B");
  }
  CHECK(server->counters().garbage_bytes == 0);
}

TEST_CASE("garbage around frames is skipped, counted and logged once") {
  LogCapture logs;
  MllpConfig config = test_config();
  config.log = logs.sink();
  auto server = start_server(config);
  MllpTestClient client(server->port());
  REQUIRE(client.send("junk" + mllp_frame(adt("G1")) + "\r\n"));
  CHECK(client.read_answer() == "ACK:G1");
  // An end block without its carriage return makes a whole frame garbage.
  REQUIRE(client.send(std::string("\x0B") + "half" + "\x1C" + "?" + mllp_frame(adt("G2"))));
  CHECK(client.read_answer() == "ACK:G2");
  CHECK(eventually([&] { return server->counters().garbage_bytes == 4 + 2 + 7; }));
  CHECK(server->counters().frames == 2);
  CHECK(logs.contains("skipped"));
}

TEST_CASE("an oversize frame is dropped unanswered and the connection stays usable") {
  LogCapture logs;
  MllpConfig config = test_config();
  config.max_message_size = 256;
  config.log = logs.sink();
  std::atomic<int> calls{0};
  auto server = start_server(config, [&](std::string_view message, const MllpPeer& peer) {
    ++calls;
    return ack(message, peer);
  });
  MllpTestClient client(server->port());
  const std::string huge = adt("HUGE") + std::string(100'000, 'X');
  REQUIRE(client.send(mllp_frame(huge) + mllp_frame(adt("SMALL"))));
  CHECK(client.read_answer() == "ACK:SMALL");  // the first answer is the small message's
  CHECK(server->counters().oversize_frames == 1);
  CHECK(server->counters().frames == 1);
  CHECK(server->counters().garbage_bytes == 0);
  CHECK(calls == 1);
  CHECK(logs.contains("dropped unanswered: over 256 bytes"));
  CHECK(client.exchange(adt("AGAIN")) == "ACK:AGAIN");
}

TEST_CASE("an idle connection is closed at idle_timeout") {
  MllpConfig config = test_config();
  config.idle_timeout = 200ms;
  auto server = start_server(config);
  MllpTestClient client(server->port());
  CHECK(client.exchange(adt("I1")) == "ACK:I1");
  CHECK(client.wait_closed(5s));
  CHECK(eventually([&] { return server->counters().idle_timeouts == 1; }));
  CHECK(server->counters().timeouts == 0);
  CHECK(eventually([&] { return server->open_connections() == 0; }));
}

TEST_CASE("a partial frame is cut off at read_timeout even while bytes keep dribbling in") {
  MllpConfig config = test_config();
  config.read_timeout = 300ms;
  config.idle_timeout = 60s;
  auto server = start_server(config);
  MllpTestClient client(server->port());
  const auto begun = std::chrono::steady_clock::now();
  REQUIRE(client.send("\x0BMSH|"));
  bool closed = false;
  // One byte every 50 ms keeps every single read short, but not the frame.
  for (int i = 0; i < 100 && !closed; ++i) {
    closed = client.wait_closed(50ms);
    if (!closed) client.send("x");
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - begun < 3s);
  CHECK(eventually([&] { return server->counters().timeouts == 1; }));
  CHECK(server->counters().idle_timeouts == 0);
}

TEST_CASE("a failing handler is logged without the message, counted, and closes without ACK") {
  LogCapture logs;
  MllpConfig config = test_config();
  config.log = logs.sink();
  auto server = start_server(config, [](std::string_view message, const MllpPeer&) {
    const std::string id = control_id(message);
    if (id == "THROW") throw std::runtime_error("Jane Doe 1970-01-01");
    if (id == "EMPTY") return std::string();
    if (id == "FRAMED") return std::string("ACK\x1C\x0D");
    return "ACK:" + id;
  });
  for (const char* id : {"THROW", "EMPTY", "FRAMED"}) {
    CAPTURE(id);
    MllpTestClient client(server->port());
    REQUIRE(client.send_message(adt(id)));
    CHECK_FALSE(client.read_answer());  // closed, no answer: the sender will retry
    CHECK(client.wait_closed(5s));
  }
  CHECK(server->counters().handler_errors == 3);
  CHECK(server->counters().answers == 0);
  CHECK(logs.contains("handler failed on a message from 127.0.0.1"));
  CHECK_FALSE(logs.contains("Jane Doe"));
  CHECK_FALSE(logs.contains("DOE^JANE"));
  MllpTestClient next(server->port());  // the server itself is fine
  CHECK(next.exchange(adt("FINE")) == "ACK:FINE");
}

TEST_CASE("connections over max_connections are accepted and closed at once") {
  MllpConfig config = test_config();
  config.max_connections = 2;
  auto server = start_server(config);
  auto a = std::make_unique<MllpTestClient>(server->port());
  MllpTestClient b(server->port());
  REQUIRE(a->exchange(adt("A")));
  REQUIRE(b.exchange(adt("B")));
  MllpTestClient rejected(server->port());
  CHECK(rejected.wait_closed(5s));
  CHECK(server->counters().connections_rejected == 1);
  a.reset();
  CHECK(eventually([&] { return server->open_connections() == 1; }));
  MllpTestClient c(server->port());
  CHECK(c.exchange(adt("C")) == "ACK:C");
}

TEST_CASE("many concurrent senders are all answered, each in its own order") {
  auto server = start_server(test_config());
  constexpr int kSenders = 16;
  constexpr int kMessagesEach = 50;
  std::atomic<int> answered{0};
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      MllpTestClient client(server->port());
      for (int i = 0; i < kMessagesEach; ++i) {
        const std::string id = std::to_string(s) + "-" + std::to_string(i);
        if (client.exchange(adt(id)) == "ACK:" + id) ++answered;
      }
    });
  }
  for (auto& t : senders) t.join();
  CHECK(answered == kSenders * kMessagesEach);
  CHECK(server->counters().frames == kSenders * kMessagesEach);
  CHECK(server->counters().connections_accepted == kSenders);
}

TEST_CASE("stop lets an in-flight message be answered, takes no new one, then closes") {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  auto server = start_server(test_config(), [&](std::string_view message, const MllpPeer& peer) {
    ++calls;
    if (control_id(message) == "SLOW") {
      entered.set_value();
      released.wait();
    }
    return ack(message, peer);
  });
  const std::uint16_t port = server->port();
  MllpTestClient idle(port);
  REQUIRE(idle.exchange(adt("FIRST")));
  MllpTestClient busy(port);
  REQUIRE(busy.send_message(adt("SLOW")));
  REQUIRE(entered.get_future().wait_for(5s) == std::future_status::ready);

  auto stopped = std::async(std::launch::async, [&] { server->stop(10s); });
  CHECK(eventually([&] { return !http::testing::TestClient(port).ok(); }));  // not accepting
  CHECK(stopped.wait_for(50ms) == std::future_status::timeout);              // draining
  // A message arriving while draining is not taken: no answer, the connection closes.
  REQUIRE(idle.send_message(adt("LATE")));
  CHECK_FALSE(idle.read_answer());
  release.set_value();
  CHECK(busy.read_answer() == "ACK:SLOW");
  CHECK(busy.wait_closed(5s));
  REQUIRE(stopped.wait_for(10s) == std::future_status::ready);
  CHECK(calls == 2);
  CHECK(server->open_connections() == 0);
  server->stop(0ms);  // idempotent
}

TEST_CASE("stop with nothing in flight returns promptly and the destructor is safe") {
  auto server = start_server(test_config());
  MllpTestClient client(server->port());
  REQUIRE(client.send("\x0BMSH|half a message"));
  const auto before = std::chrono::steady_clock::now();
  server->stop(5s);
  CHECK(std::chrono::steady_clock::now() - before < 4s);
  CHECK(client.wait_closed(5s));
  server.reset();
}

TEST_CASE("start fails clearly on a bad configuration or a port in use") {
  MllpConfig bad = test_config();
  bad.address = "not-an-ip";
  auto invalid = MllpServer::start(bad, ack);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().message.find("not-an-ip") != std::string::npos);

  MllpConfig no_limit = test_config();
  no_limit.max_message_size = 0;
  CHECK_FALSE(MllpServer::start(no_limit, ack).ok());
  CHECK_FALSE(MllpServer::start(test_config(), nullptr).ok());

  auto first = start_server(test_config());
  MllpConfig clash = test_config();
  clash.port = first->port();
  auto second = MllpServer::start(clash, ack);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().message.find(std::to_string(first->port())) != std::string::npos);
}

TEST_CASE("TLS without client certificates: messages work, plain MLLP is a handshake failure") {
  TempDir dir;
  auto files = http::testing::make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());
  LogCapture logs;
  MllpConfig config = test_config();
  config.tls = MllpTlsConfig{files.chain, files.key, {}};
  config.log = logs.sink();
  auto server = start_server(config, [](std::string_view message, const MllpPeer& peer) {
    return ack(message, peer) + (peer.secure ? ":secure" : ":plain") + ":" + peer.client_subject;
  });
  CHECK(logs.contains("MLLP over TLS listening"));
  {
    MllpTestClient client(server->port(), /*tls=*/true);
    REQUIRE(client.ok());
    CHECK(client.exchange(adt("T1")) == "ACK:T1:secure:");
    CHECK(client.exchange(adt("T2")) == "ACK:T2:secure:");
  }
  {
    MllpTestClient plain(server->port());
    REQUIRE(plain.send_message(adt("PLAIN")));
    CHECK(plain.wait_closed(5s));
    CHECK(eventually([&] { return server->counters().tls_handshake_failures == 1; }));
  }
  {
    auto renewed = http::testing::make_self_signed(dir.path());  // same paths, new key pair
    REQUIRE_FALSE(renewed.chain.empty());
    REQUIRE(server->reload_tls().ok());
    MllpTestClient client(server->port(), true);
    CHECK(client.exchange(adt("T3")) == "ACK:T3:secure:");
  }
}

TEST_CASE("TLS with a client CA: only senders with a certificate it issued get through") {
  TempDir dir;
  auto server_files = http::testing::make_self_signed(dir.path());
  auto ca = http::testing::make_certificate_authority(dir.path(), "ca", "Clinic Senders CA");
  auto other_ca = http::testing::make_certificate_authority(dir.path(), "other-ca", "Other CA");
  REQUIRE_FALSE(server_files.chain.empty());
  REQUIRE_FALSE(ca.chain.empty());
  REQUIRE_FALSE(other_ca.chain.empty());
  const CertificateFiles emr = http::testing::make_issued(dir.path(), "emr", "emr-1", ca);
  const CertificateFiles stranger =
      http::testing::make_issued(dir.path(), "stranger", "emr-1", other_ca);
  REQUIRE_FALSE(emr.chain.empty());
  REQUIRE_FALSE(stranger.chain.empty());

  LogCapture logs;
  MllpConfig config = test_config();
  config.tls = MllpTlsConfig{server_files.chain, server_files.key, ca.chain};
  config.log = logs.sink();
  std::atomic<int> calls{0};
  auto server = start_server(config, [&](std::string_view message, const MllpPeer& peer) {
    ++calls;
    return ack(message, peer) + ":" + peer.client_subject;
  });
  CHECK(logs.contains("MLLP over TLS (client certificates) listening"));

  {
    MllpTestClient client(server->port(), /*tls=*/true, &emr);
    REQUIRE(client.ok());
    CHECK(client.exchange(adt("C1")) == "ACK:C1:CN=emr-1");
  }
  // With TLS 1.3 the client's side of the handshake may complete before the server has
  // refused its certificate; either way no message gets through.
  for (const CertificateFiles* presented :
       {static_cast<const CertificateFiles*>(nullptr), &stranger}) {
    MllpTestClient client(server->port(), true, presented);
    if (client.ok()) {
      client.send_message(adt("REFUSED"));
      CHECK_FALSE(client.read_answer());
    }
  }
  CHECK(eventually([&] { return server->counters().tls_handshake_failures == 2; }));
  CHECK(calls == 1);
  CHECK(logs.contains("MLLP TLS handshake with 127.0.0.1 failed"));
}

TEST_CASE("TLS: start fails with an error naming an unusable file") {
  TempDir dir;
  auto files = http::testing::make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());
  MllpConfig config = test_config();
  SUBCASE("certificate") {
    config.tls = MllpTlsConfig{dir.path() / "missing-chain.pem", files.key, {}};
    auto server = MllpServer::start(config, ack);
    REQUIRE_FALSE(server.ok());
    CHECK(server.error().message.find("missing-chain.pem") != std::string::npos);
  }
  SUBCASE("client CA") {
    config.tls = MllpTlsConfig{files.chain, files.key, dir.path() / "missing-ca.pem"};
    auto server = MllpServer::start(config, ack);
    REQUIRE_FALSE(server.ok());
    CHECK(server.error().message.find("missing-ca.pem") != std::string::npos);
  }
}

// A real third-party client: Debian's python3-hl7 (`mllp_send`), when installed.
TEST_CASE("python3-hl7's mllp_send gets the answers") {
  if (!std::filesystem::exists("/usr/bin/mllp_send") ||
      std::system("/usr/bin/python3 -c 'import hl7.client' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: python3-hl7 is not installed (apt-get install python3-hl7)");
    return;
  }
  auto server = start_server(test_config());
  TempDir dir;
  const auto messages = dir.path() / "messages.hl7";
  // --loose: newline segment ends, messages split at "MSH|^~\&|", as a file from an EMR.
  std::ofstream(messages) << "MSH|^~\\&|EMR|CLINIC|GW|DISTRICT|20240101120000||ADT^A01|PY1|P|2.5\n"
                             "PID|1||123^^^CLINIC^MR||DOE^JANE\n"
                             "MSH|^~\\&|EMR|CLINIC|GW|DISTRICT|20240101120000||ADT^A08|PY2|P|2.5\n"
                             "PID|1||123^^^CLINIC^MR||DOE^JANE\n";
  const std::string command = "timeout 60 /usr/bin/mllp_send --loose -p " +
                              std::to_string(server->port()) + " -f " + messages.string() +
                              " 127.0.0.1 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> chunk{};
  while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe))
    output.append(chunk.data(), n);
  const int status = ::pclose(pipe);
  CAPTURE(output);
  CHECK(status == 0);
  CHECK(output.find("ACK:PY1") != std::string::npos);
  CHECK(output.find("ACK:PY2") != std::string::npos);
  CHECK(server->counters().frames == 2);
}

}  // namespace cg::hl7v2
