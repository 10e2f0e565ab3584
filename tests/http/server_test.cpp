#include "protocols/http/server.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "protocols/http/gzip.hpp"
#include "tests/http/log_capture.hpp"
#include "tests/http/test_cert.hpp"
#include "tests/http/test_client.hpp"

namespace cg::http {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::get_request;
using testing::LogCapture;
using testing::post_request;
using testing::TestClient;

const std::string kBigBody(4096, 'F');

// Echoes what the handler saw, so tests can check the conversion from the wire.
Response echo(Request& request) {
  Response response;
  response.set_header("Content-Type", "text/plain");
  response.set_header("X-Method", request.method);
  response.set_header("X-Target", request.target);
  response.set_header("X-Secure", request.secure ? "yes" : "no");
  response.set_header("X-Remote", request.remote_address);
  response.set_header("X-Client-Subject", request.client_subject);
  if (request.target == "/big") {
    response.body = kBigBody;
  } else {
    response.body = request.body.empty() ? "hello" : request.body;
  }
  return response;
}

ServerConfig test_config() {
  ServerConfig config;
  config.port = 0;
  config.io_threads = 2;
  config.worker_threads = 4;
  return config;
}

std::unique_ptr<HttpServer> start_server(ServerConfig config, Handler handler = echo) {
  auto server = HttpServer::start(std::move(config), std::move(handler));
  REQUIRE_MESSAGE(server.ok(), (server.ok() ? std::string() : server.error().message));
  return std::move(server).value();
}

}  // namespace

TEST_CASE("keep-alive serves several requests on one connection") {
  LogCapture logs;
  ServerConfig config = test_config();
  config.log = logs.sink();
  auto server = start_server(config);
  CHECK(server->port() != 0);
  CHECK(logs.contains("listening on 127.0.0.1:" + std::to_string(server->port())));
  TestClient client(server->port());
  REQUIRE(client.ok());
  for (int i = 0; i < 5; ++i) {
    const std::string target = "/Patient/" + std::to_string(i) + "?name=x";
    auto response = client.exchange(get_request(target));
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "hello");
    CHECK(response->header("X-Target") == target);
    CHECK(response->header("X-Remote") == "127.0.0.1");
    CHECK(response->header("X-Secure") == "no");
    CHECK(response->header("Server") == "clinic-gateway");
    CHECK_FALSE(response->header("Date").empty());
    CHECK(response->header("Connection") != "close");
  }
  CHECK(server->counters().connections_accepted == 1);
  CHECK(server->counters().requests == 5);
  CHECK(server->open_connections() == 1);
}

TEST_CASE("pipelined requests are answered in order") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  REQUIRE(client.send(get_request("/a") + get_request("/b") + get_request("/c")));
  for (const char* target : {"/a", "/b", "/c"}) {
    auto response = client.read_response();
    REQUIRE(response);
    CHECK(response->header("X-Target") == target);
  }
}

TEST_CASE("HTTP/1.0 without keep-alive gets one response and a close") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  auto response = client.exchange("GET /metadata HTTP/1.0\r\n\r\n");
  REQUIRE(response);
  CHECK(response->version == "HTTP/1.0");
  CHECK(response->body == "hello");
  CHECK(client.wait_closed(5s));
}

TEST_CASE("Connection: close is honoured") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  auto response = client.exchange(get_request("/", "Connection: close\r\n"));
  REQUIRE(response);
  CHECK(response->header("Connection") == "close");
  CHECK(client.wait_closed(5s));
}

TEST_CASE("HEAD gets the headers of GET without a body") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  auto head = client.exchange("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("Content-Length") == "5");
  CHECK(head->header("X-Method") == "HEAD");
  // No stray body bytes may precede the next response on the same connection.
  auto get = client.exchange(get_request("/x"));
  REQUIRE(get);
  CHECK(get->body == "hello");
}

TEST_CASE("204 from the handler goes out without a body") {
  auto server = start_server(test_config(), [](Request&) {
    Response response;
    response.status = 204;
    response.body = "ignored";
    response.set_header("Content-Length", "999");  // framing is the server's business
    return response;
  });
  TestClient client(server->port());
  auto first = client.exchange(get_request("/"));
  REQUIRE(first);
  CHECK(first->status == 204);
  CHECK(first->header("Content-Length").empty());
  auto second = client.exchange(get_request("/"));
  REQUIRE(second);
  CHECK(second->status == 204);
}

TEST_CASE("request bodies reach the handler: sized, chunked and after 100-continue") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  auto sized = client.exchange(post_request("/Patient", R"({"resourceType":"Patient"})"));
  REQUIRE(sized);
  CHECK(sized->body == R"({"resourceType":"Patient"})");

  auto chunked = client.exchange(
      "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  REQUIRE(chunked);
  CHECK(chunked->body == "hello world");

  REQUIRE(
      client.send("POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                  "Content-Length: 4\r\n\r\n"));
  auto interim = client.read_response(5s, false, /*keep_interim=*/true);
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(client.send("data"));
  auto final_response = client.read_response();
  REQUIRE(final_response);
  CHECK(final_response->body == "data");
}

TEST_CASE("a body over the limit gets 413 and never reaches the handler") {
  std::atomic<int> calls{0};
  ServerConfig config = test_config();
  config.body_limit = 1024;
  // Counts only this test's target: other processes on a shared machine may reuse ports.
  auto server = start_server(config, [&](Request& r) {
    if (r.target == "/upload") ++calls;
    return echo(r);
  });
  SUBCASE("declared length") {
    TestClient client(server->port());
    auto response = client.exchange(post_request("/upload", std::string(4096, 'b')));
    REQUIRE(response);
    CHECK(response->status == 413);
    CHECK(response->header("Connection") == "close");
    CHECK(client.wait_closed(5s));
  }
  SUBCASE("chunked") {
    TestClient client(server->port());
    auto response = client.exchange(
        "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "800\r\n" +
        std::string(0x800, 'c') + "\r\n0\r\n\r\n");
    REQUIRE(response);
    CHECK(response->status == 413);
  }
  CHECK(calls == 0);
  CHECK(server->counters().too_large == 1);
}

TEST_CASE("the application shapes the server's own error answers") {
  ServerConfig config = test_config();
  config.body_limit = 1024;
  config.error_response = [](int status, std::string_view reason) {
    Response r;
    r.status = status;
    r.set_header("Content-Type", "application/fhir+json");
    r.body =
        "{\"status\":" + std::to_string(status) + ",\"reason\":\"" + std::string(reason) + "\"}";
    return r;
  };
  auto server = start_server(config);
  TestClient client(server->port());
  auto response = client.exchange(post_request("/upload", std::string(4096, 'b')));
  REQUIRE(response);
  CHECK(response->status == 413);
  CHECK(response->header("Content-Type") == "application/fhir+json");
  CHECK(response->body.find("\"status\":413") != std::string::npos);
}

TEST_CASE("a header over the limit gets 431") {
  ServerConfig config = test_config();
  config.header_limit = 1024;
  auto server = start_server(config);
  TestClient client(server->port());
  auto response = client.exchange(get_request("/", "X-Big: " + std::string(2000, 'h') + "\r\n"));
  REQUIRE(response);
  CHECK(response->status == 431);
  CHECK(server->counters().too_large == 1);
  CHECK(client.wait_closed(5s));
}

TEST_CASE("malformed HTTP gets 400 and the connection is closed") {
  auto server = start_server(test_config());
  for (const char* garbage :
       {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nBad Header Line\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"}) {
    CAPTURE(garbage);
    TestClient client(server->port());
    auto response = client.exchange(garbage);
    REQUIRE(response);
    CHECK(response->status == 400);
    CHECK(client.wait_closed(5s));
  }
  CHECK(server->counters().bad_requests == 4);
  CHECK(server->counters().requests == 0);
}

TEST_CASE("an HTTP/1.1 request without Host gets 400 but keeps the connection") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  auto response = client.exchange("GET / HTTP/1.1\r\n\r\n");
  REQUIRE(response);
  CHECK(response->status == 400);
  auto next = client.exchange(get_request("/"));
  REQUIRE(next);
  CHECK(next->status == 200);
  CHECK(server->counters().bad_requests == 1);
}

TEST_CASE("slowloris: a request that never completes is cut off at request_timeout") {
  ServerConfig config = test_config();
  config.request_timeout = 300ms;
  auto server = start_server(config);
  TestClient client(server->port());
  REQUIRE(client.send("GET /Patient HTTP/1.1\r\nHost: h\r\nX-Slow: "));
  CHECK(client.wait_closed(5s));
  CHECK(eventually([&] { return server->counters().timeouts == 1; }));
  CHECK(eventually([&] { return server->open_connections() == 0; }));
}

TEST_CASE("a silent new connection is cut off at request_timeout") {
  ServerConfig config = test_config();
  config.request_timeout = 300ms;
  auto server = start_server(config);
  TestClient client(server->port());
  const bool closed = client.wait_closed(5s);
  CHECK(closed);
  // Seen once under heavy machine load (load average 9 on 2 cores); kept to diagnose it.
  if (!closed) {
    MESSAGE("accepted=" << server->counters().connections_accepted.load()
                        << " timeouts=" << server->counters().timeouts.load()
                        << " open=" << server->open_connections());
  }
  CHECK(eventually([&] { return server->counters().timeouts == 1; }));
}

TEST_CASE("an idle keep-alive connection is closed at idle_timeout") {
  ServerConfig config = test_config();
  config.idle_timeout = 200ms;
  auto server = start_server(config);
  TestClient client(server->port());
  REQUIRE(client.exchange(get_request("/")));
  CHECK(client.wait_closed(5s));
  CHECK(eventually([&] { return server->counters().timeouts == 1; }));
}

TEST_CASE("a half-closed client still gets its response") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  REQUIRE(client.send(get_request("/half")));
  client.shutdown_write();
  auto response = client.read_response();
  REQUIRE(response);
  CHECK(response->header("X-Target") == "/half");
  CHECK(client.wait_closed(5s));
  CHECK(eventually([&] { return server->open_connections() == 0; }));
  CHECK(server->counters().bad_requests == 0);
}

TEST_CASE("responses are gzip-compressed only when the client accepts gzip") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  auto gzipped = client.exchange(get_request("/big", "Accept-Encoding: br, gzip\r\n"));
  REQUIRE(gzipped);
  CHECK(gzipped->header("Content-Encoding") == "gzip");
  CHECK(gzipped->header("Vary") == "Accept-Encoding");
  CHECK(gzipped->body.size() < kBigBody.size());
  auto inflated = gzip_inflate(gzipped->body, kBigBody.size());
  REQUIRE(inflated.ok());
  CHECK(*inflated == kBigBody);

  for (const char* accept : {"", "Accept-Encoding: gzip;q=0\r\n", "Accept-Encoding: br\r\n"}) {
    CAPTURE(accept);
    auto identity = client.exchange(get_request("/big", accept));
    REQUIRE(identity);
    CHECK(identity->header("Content-Encoding").empty());
    CHECK(identity->header("Vary") == "Accept-Encoding");
    CHECK(identity->body == kBigBody);
  }
  auto small = client.exchange(get_request("/small", "Accept-Encoding: gzip\r\n"));
  REQUIRE(small);
  CHECK(small->header("Content-Encoding").empty());
}

TEST_CASE("gzip request bodies are inflated within the body limit") {
  ServerConfig config = test_config();
  config.body_limit = 64 * 1024;
  std::atomic<int> calls{0};
  // Counts only this test's target: other processes on a shared machine may reuse ports.
  auto server = start_server(config, [&](Request& r) {
    if (r.target == "/upload") ++calls;
    return echo(r);
  });
  TestClient client(server->port());
  const std::string json(10'000, 'j');
  auto ok =
      client.exchange(post_request("/upload", *gzip_compress(json), "Content-Encoding: gzip\r\n"));
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == json);
  CHECK(calls == 1);

  auto corrupt = client.exchange(post_request("/upload", "not gzip", "Content-Encoding: gzip\r\n"));
  REQUIRE(corrupt);
  CHECK(corrupt->status == 400);

  auto brotli = client.exchange(post_request("/upload", "abc", "Content-Encoding: br\r\n"));
  REQUIRE(brotli);
  CHECK(brotli->status == 415);

  const std::string bomb = *gzip_compress(std::string(10 * 1024 * 1024, '\0'), 9);
  REQUIRE(bomb.size() < config.body_limit);
  auto refused = client.exchange(post_request("/upload", bomb, "Content-Encoding: gzip\r\n"));
  REQUIRE(refused);
  CHECK(refused->status == 413);
  CHECK(calls == 1);
  CHECK(server->counters().too_large == 1);
  CHECK(server->counters().bad_requests == 1);
}

TEST_CASE("a throwing handler yields 500, is counted, and its message is not logged") {
  LogCapture logs;
  ServerConfig config = test_config();
  config.log = logs.sink();
  auto server = start_server(config, [](Request& r) -> Response {
    if (r.target.starts_with("/throw")) throw std::runtime_error("Jane Doe 1970-01-01");
    return echo(r);
  });
  TestClient client(server->port());
  auto response = client.exchange(get_request("/throw?identifier=SECRET-123"));
  REQUIRE(response);
  CHECK(response->status == 500);
  CHECK(server->counters().handler_errors == 1);
  CHECK(logs.contains("GET /throw"));
  CHECK_FALSE(logs.contains("SECRET-123"));
  CHECK_FALSE(logs.contains("Jane Doe"));
  auto next = client.exchange(get_request("/fine"));  // the connection survives
  REQUIRE(next);
  CHECK(next->status == 200);
}

TEST_CASE("connections over max_connections are accepted and closed at once") {
  ServerConfig config = test_config();
  config.max_connections = 2;
  auto server = start_server(config);
  auto a = std::make_unique<TestClient>(server->port());
  TestClient b(server->port());
  REQUIRE(a->exchange(get_request("/")));
  REQUIRE(b.exchange(get_request("/")));
  TestClient rejected(server->port());
  CHECK(rejected.wait_closed(5s));
  CHECK(server->counters().connections_rejected == 1);
  a.reset();
  CHECK(eventually([&] { return server->open_connections() == 1; }));
  TestClient c(server->port());
  auto response = c.exchange(get_request("/"));
  REQUIRE(response);
  CHECK(response->status == 200);
}

TEST_CASE("many concurrent clients are all answered") {
  ServerConfig config = test_config();
  auto server = start_server(config);
  constexpr int kClients = 16;
  constexpr int kRequestsEach = 50;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      TestClient client(server->port());
      for (int i = 0; i < kRequestsEach; ++i) {
        const std::string body = std::to_string(c) + "-" + std::to_string(i);
        auto response = client.exchange(post_request("/echo", body));
        if (response && response->body == body) ++answered;
      }
    });
  }
  for (auto& t : clients) t.join();
  CHECK(answered == kClients * kRequestsEach);
  CHECK(server->counters().requests == kClients * kRequestsEach);
}

TEST_CASE("stop waits for an in-flight request, then closes everything") {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto server = start_server(test_config(), [&](Request& r) {
    if (r.target == "/slow") {
      entered.set_value();
      released.wait();
    }
    return echo(r);
  });
  const std::uint16_t port = server->port();
  TestClient idle(port);
  REQUIRE(idle.exchange(get_request("/")));
  TestClient busy(port);
  REQUIRE(busy.send(get_request("/slow")));
  REQUIRE(entered.get_future().wait_for(5s) == std::future_status::ready);

  auto stopped = std::async(std::launch::async, [&] { server->stop(10s); });
  CHECK(eventually([&] { return !TestClient(port).ok(); }));     // no longer accepting
  CHECK(stopped.wait_for(50ms) == std::future_status::timeout);  // still draining
  release.set_value();
  auto response = busy.read_response();
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->header("Connection") == "close");
  REQUIRE(stopped.wait_for(10s) == std::future_status::ready);
  CHECK(idle.wait_closed(5s));
  CHECK(server->open_connections() == 0);
  server->stop(0ms);  // idempotent
}

// The client may still sit in the kernel's accept queue, or be accepted on an io thread
// while stop() closes the acceptor; either way its connection must be closed by the time
// stop() returns (this once leaked until the destructor).
TEST_CASE("stop with nothing in flight returns promptly and the destructor is safe") {
  auto server = start_server(test_config());
  TestClient client(server->port());
  REQUIRE(client.send("GET /half-a-request HTTP/1.1\r\n"));
  const auto before = std::chrono::steady_clock::now();
  server->stop(5s);
  CHECK(std::chrono::steady_clock::now() - before < 4s);
  CHECK(client.wait_closed(5s));
  server.reset();
}

TEST_CASE("start fails clearly on a bad address or a port in use") {
  ServerConfig bad = test_config();
  bad.address = "not-an-ip";
  auto invalid = HttpServer::start(bad, echo);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().message.find("not-an-ip") != std::string::npos);

  auto first = start_server(test_config());
  ServerConfig clash = test_config();
  clash.port = first->port();
  auto second = HttpServer::start(clash, echo);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().message.find(std::to_string(first->port())) != std::string::npos);
}

TEST_CASE("TLS: requests work, broken handshakes are counted, certificates reload") {
  testing::TempDir dir;
  auto files = testing::make_self_signed(dir.path());
  REQUIRE_FALSE(files.chain.empty());
  ServerConfig config = test_config();
  config.tls = TlsConfig{files.chain, files.key, {}};
  LogCapture logs;
  config.log = logs.sink();
  auto server = start_server(config);
  CHECK(logs.contains("HTTPS listening"));

  {
    TestClient client(server->port(), /*tls=*/true);
    REQUIRE(client.ok());
    auto response = client.exchange(get_request("/Patient", "Accept-Encoding: gzip\r\n"));
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->header("X-Secure") == "yes");
    auto big = client.exchange(get_request("/big", "Connection: close\r\n"));
    REQUIRE(big);
    CHECK(big->body == kBigBody);
    CHECK(client.wait_closed(5s));
  }
  {
    TestClient plain(server->port());  // speaks HTTP to the TLS port
    REQUIRE(plain.send(get_request("/")));
    CHECK(plain.wait_closed(5s));
    CHECK(eventually([&] { return server->counters().tls_handshake_failures == 1; }));
  }
  {
    auto renewed = testing::make_self_signed(dir.path());  // same paths, new key pair
    REQUIRE_FALSE(renewed.chain.empty());
    REQUIRE(server->reload_tls().ok());
    TestClient client(server->port(), true);
    REQUIRE(client.ok());
    REQUIRE(client.exchange(get_request("/")));
  }
  {
    std::filesystem::resize_file(files.chain, 10);  // a broken renewal keeps the old context
    auto reloaded = server->reload_tls();
    REQUIRE_FALSE(reloaded.ok());
    CHECK(reloaded.error().message.find(files.chain.string()) != std::string::npos);
    TestClient client(server->port(), true);
    REQUIRE(client.ok());
    REQUIRE(client.exchange(get_request("/")));
  }
}

TEST_CASE("TLS with a client CA: only clients with a certificate it issued get an answer") {
  testing::TempDir dir;
  auto server_files = testing::make_self_signed(dir.path());
  auto ca = testing::make_certificate_authority(dir.path(), "ca", "Clinic Devices CA");
  auto other_ca = testing::make_certificate_authority(dir.path(), "other-ca", "Other CA");
  REQUIRE_FALSE(server_files.chain.empty());
  REQUIRE_FALSE(ca.chain.empty());
  REQUIRE_FALSE(other_ca.chain.empty());
  const auto tablet = testing::make_issued(dir.path(), "tablet", "tablet-3", ca);
  const auto stranger = testing::make_issued(dir.path(), "stranger", "tablet-3", other_ca);
  REQUIRE_FALSE(tablet.chain.empty());
  REQUIRE_FALSE(stranger.chain.empty());
  const auto client_ca = dir.path() / "client-ca.pem";
  std::filesystem::copy_file(ca.chain, client_ca);

  ServerConfig config = test_config();
  config.tls = TlsConfig{server_files.chain, server_files.key, client_ca};
  LogCapture logs;
  config.log = logs.sink();
  std::atomic<int> calls{0};
  auto server = start_server(config, [&](Request& request) {
    ++calls;
    return echo(request);
  });
  CHECK(logs.contains("HTTPS listening"));
  CHECK(logs.contains("(client certificates required)"));

  {
    TestClient client(server->port(), /*tls=*/true, &tablet);
    REQUIRE(client.ok());
    auto response = client.exchange(get_request("/Patient"));
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->header("X-Client-Subject") == "CN=tablet-3");
  }
  // With TLS 1.3 the client's side of the handshake may complete before the server has
  // refused its certificate; either way no request gets through.
  const auto refused = [&](const testing::CertificateFiles* presented) {
    TestClient client(server->port(), true, presented);
    return !client.ok() || !client.exchange(get_request("/Patient"), 5s);
  };
  CHECK(refused(nullptr));
  CHECK(refused(&stranger));
  CHECK(eventually([&] { return server->counters().tls_handshake_failures == 2; }));
  CHECK(calls == 1);

  // A reload re-reads the client CA file too: the other CA's devices get in, ours no longer.
  std::filesystem::copy_file(other_ca.chain, client_ca,
                             std::filesystem::copy_options::overwrite_existing);
  REQUIRE(server->reload_tls().ok());
  CHECK(refused(&tablet));
  {
    TestClient client(server->port(), true, &stranger);
    REQUIRE(client.ok());
    auto response = client.exchange(get_request("/"));
    REQUIRE(response);
    CHECK(response->status == 200);
  }
  CHECK(calls == 2);
}

TEST_CASE("TLS: TLS 1.1 and ciphers without AEAD are refused, TLS 1.2 with AEAD works") {
  testing::TempDir dir;
  auto files = testing::make_self_signed(dir.path());  // an ECDSA P-256 certificate
  REQUIRE_FALSE(files.chain.empty());
  ServerConfig config = test_config();
  config.tls = TlsConfig{files.chain, files.key, {}};
  auto server = start_server(config);
  const auto handshake = [&](int max_version, const char* ciphers) {
    TestClient client(server->port(), testing::TlsClientOptions{nullptr, max_version, ciphers});
    return client.ok() && client.exchange(get_request("/")).has_value();
  };

  CHECK(handshake(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"));
  CHECK(handshake(TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305"));
  CHECK(handshake(0, ""));  // TLS 1.3 (AEAD suites only)
  CHECK(server->counters().tls_handshake_failures == 0);

  // Each refusal is the server's: the client offered it and the handshake failure is counted.
  CHECK_FALSE(handshake(TLS1_1_VERSION, "DEFAULT"));
  CHECK(eventually([&] { return server->counters().tls_handshake_failures == 1; }));
  CHECK_FALSE(handshake(TLS1_VERSION, "DEFAULT"));
  CHECK(eventually([&] { return server->counters().tls_handshake_failures == 2; }));
  // CBC with HMAC (forward-secret, but not AEAD), then static RSA key exchange.
  CHECK_FALSE(handshake(TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA"));
  CHECK(eventually([&] { return server->counters().tls_handshake_failures == 3; }));
  CHECK_FALSE(handshake(TLS1_2_VERSION, "AES128-GCM-SHA256:AES256-SHA"));
  CHECK(eventually([&] { return server->counters().tls_handshake_failures == 4; }));
}

TEST_CASE("TLS: start fails with an error naming an unreadable certificate") {
  testing::TempDir dir;
  ServerConfig config = test_config();
  config.tls = TlsConfig{dir.path() / "missing-chain.pem", dir.path() / "missing-key.pem", {}};
  auto server = HttpServer::start(config, echo);
  REQUIRE_FALSE(server.ok());
  CHECK(server.error().message.find("missing-chain.pem") != std::string::npos);
}

}  // namespace cg::http
