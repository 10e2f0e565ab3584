// The Beast/Asio side of cg::http::HttpServer. This is the only translation unit that
// includes Beast or Asio: it moves bytes, enforces limits and deadlines, and calls the pure
// helpers (content_coding, tls_context) and the Handler for everything else.
//
// Threads: `io_threads` run ioc_; each connection coroutine runs on its own strand, the
// acceptor on another. Handlers run on workers_ and the connection resumes on its strand.
// stop() runs on a caller thread and only talks to io threads through posted handlers.

#include "protocols/http/server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cassert>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "protocols/http/content_coding.hpp"
#include "protocols/http/tls_context.hpp"

namespace cg::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// syslog priorities
constexpr int kLogErr = 3;
constexpr int kLogWarning = 4;
constexpr int kLogInfo = 6;
constexpr int kLogDebug = 7;

// After an error response the client may still be sending the rejected body; reading and
// discarding it for a moment keeps the kernel from answering with a RST that would destroy
// the response before the client reads it (a "lingering close").
constexpr std::chrono::milliseconds kLingerTimeout{1'000};
constexpr std::size_t kLingerMaxBytes = 256 * 1024;
constexpr std::chrono::milliseconds kTlsShutdownTimeout{1'000};
constexpr std::chrono::milliseconds kAcceptBackoff{100};
// After the drain, closed sessions need a moment to unwind their coroutines.
constexpr std::chrono::milliseconds kUnwindTimeout{2'000};
constexpr std::chrono::milliseconds kDestructorDrain{0};
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// How a connection's request loop ended, which decides how the socket is closed.
enum class Ending {
  kDone,   // peer closed, deadline hit or socket failed: nothing more to say
  kClose,  // the server decided to close after a response: close gracefully
};

enum class ReadFailure { kEnded, kTimeout, kHeaderTooLarge, kBodyTooLarge, kMalformed };

ReadFailure classify_read_error(const error_code& ec) {
  if (ec == beast::error::timeout) return ReadFailure::kTimeout;
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return ReadFailure::kHeaderTooLarge;
  }
  if (ec == bhttp::error::body_limit) return ReadFailure::kBodyTooLarge;
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
    return ReadFailure::kEnded;
  }
  // Every other error of Beast's HTTP category is a parse error; the rest are socket errors
  // (reset, aborted by stop(), TLS truncation) and end the connection quietly.
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return ReadFailure::kMalformed;
  }
  return ReadFailure::kEnded;
}

// Logs identify a request by method and path only: query strings may carry identifiers.
std::string describe(const Request& request) {
  const std::string_view target = request.target;
  return request.method + " " + std::string(target.substr(0, target.find('?')));
}

Response plain_response(int status, std::string_view text) {
  Response response;
  response.status = status;
  response.set_header("Content-Type", "text/plain; charset=utf-8");
  response.body = std::string(text) + "\n";
  return response;
}

std::string http_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 40> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(text.data(), n);
}

// Framing headers belong to the server; a header with CR/LF would split the response.
bool handler_may_set(std::string_view name, std::string_view value) {
  for (std::string_view reserved :
       {"Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade"}) {
    if (iequals(name, reserved)) return false;
  }
  const auto unsafe = [](std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
  };
  return !name.empty() && !unsafe(name) && !unsafe(value);
}

// Who is at the other end of a connection, as the handler is told.
struct Peer {
  std::string address;
  bool secure = false;
  std::string client_subject;  // verified client certificate (RFC 2253), when one was asked for
};

Request to_request(BeastRequest&& message, const Peer& peer) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  request.remote_address = peer.address;
  request.secure = peer.secure;
  request.client_subject = peer.client_subject;
  return request;
}

bool has_header(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& header) { return iequals(header.first, name); });
}

bool expects_continue(const BeastRequest& message) {
  return iequals(message[bhttp::field::expect], "100-continue");
}

std::string endpoint_address(const tcp::socket& socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : remote.address().to_string();
}

}  // namespace

class ServerImpl final : public HttpServer {
 public:
  ServerImpl(ServerConfig config, Handler handler)
      : config_(std::move(config)),
        handler_(std::move(handler)),
        ioc_(config_.io_threads),
        work_(ioc_.get_executor()),
        acceptor_(asio::make_strand(ioc_)),
        workers_(static_cast<std::size_t>(config_.worker_threads)) {}

  ~ServerImpl() override { stop(kDestructorDrain); }

  ServerImpl(const ServerImpl&) = delete;
  ServerImpl& operator=(const ServerImpl&) = delete;

  Status listen();

  std::uint16_t port() const override { return port_; }
  const ServerCounters& counters() const override { return counters_; }
  std::size_t open_connections() const override { return open_connections_.load(); }
  Status reload_tls() override;
  void stop(std::chrono::milliseconds drain) override;
  void post(std::function<void()> task) override { asio::post(ioc_, std::move(task)); }

 private:
  // Counts one admitted connection until destroyed. Passed by value into the connection
  // coroutine, so even a coroutine that never starts gives its slot back.
  class ConnectionSlot {
   public:
    explicit ConnectionSlot(ServerImpl* server) : server_(server) {}
    ConnectionSlot(ConnectionSlot&& other) noexcept : server_(std::exchange(other.server_, {})) {}
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ~ConnectionSlot() {
      if (server_ != nullptr) server_->release_connection();
    }

   private:
    ServerImpl* server_;
  };

  // Lists a live stream so stop() can close it; unlisted before the stream is destroyed.
  class SessionRegistration {
   public:
    SessionRegistration(ServerImpl* server, std::uint64_t id) : server_(server), id_(id) {}
    SessionRegistration(const SessionRegistration&) = delete;
    SessionRegistration& operator=(const SessionRegistration&) = delete;
    ~SessionRegistration() {
      if (id_ != 0) server_->unregister_session(id_);
    }
    bool active() const { return id_ != 0; }

   private:
    ServerImpl* server_;
    std::uint64_t id_;
  };

  // Counts one request from "fully read" to "response written", which is what drains.
  class ActiveRequest {
   public:
    explicit ActiveRequest(ServerImpl* server) : server_(server) {
      std::lock_guard lock(server_->state_mutex_);
      ++server_->active_requests_;
    }
    ActiveRequest(const ActiveRequest&) = delete;
    ActiveRequest& operator=(const ActiveRequest&) = delete;
    ~ActiveRequest() {
      std::lock_guard lock(server_->state_mutex_);
      --server_->active_requests_;
      server_->state_changed_.notify_all();
    }

   private:
    ServerImpl* server_;
  };

  struct SessionEntry {
    asio::any_io_executor executor;
    beast::tcp_stream* stream;
  };

  void log(int priority, std::string_view message) const {
    if (config_.log) config_.log(priority, message);
  }
  auto report_failure(std::string what) {
    return [this, what = std::move(what)](std::exception_ptr e) {
      if (e) log(kLogErr, what + " ended with an exception");
    };
  }
  std::shared_ptr<ssl::context> current_tls() const {
    std::lock_guard lock(tls_mutex_);
    return tls_;
  }
  Result<std::shared_ptr<ssl::context>> load_tls() const;

  error_code open_acceptor(const tcp::endpoint& endpoint);
  void run_io();
  asio::awaitable<void> accept_loop();
  void admit(tcp::socket socket);
  void release_connection();
  SessionRegistration register_session(beast::tcp_stream& stream);
  void unregister_session(std::uint64_t id);
  void close_session(std::uint64_t id);
  void close_all_sessions();
  void close_acceptor();
  template <class Predicate>
  bool wait_for(std::chrono::milliseconds limit, Predicate done);

  asio::awaitable<void> run_plain(tcp::socket socket, ConnectionSlot slot, std::string remote);
  asio::awaitable<void> run_tls(tcp::socket socket, std::shared_ptr<ssl::context> tls,
                                ConnectionSlot slot, std::string remote);
  asio::awaitable<void> linger_close(beast::tcp_stream& stream);

  template <class Stream>
  asio::awaitable<Ending> serve(Stream& stream, const Peer& peer);
  template <class Stream>
  asio::awaitable<error_code> read_request(Stream& stream, beast::flat_buffer& buffer,
                                           bhttp::request_parser<bhttp::string_body>& parser,
                                           bool first);
  template <class Stream>
  asio::awaitable<Ending> reject(Stream& stream, const error_code& ec);
  template <class Stream>
  asio::awaitable<bool> write(Stream& stream, BeastResponse& response);

  asio::awaitable<Response> respond(Request& request, unsigned version);
  std::optional<Response> refuse_early(Request& request, unsigned version);
  Response call_handler(Request& request);
  Response decode_failure(const Error& error);
  // The server's own error answers, shaped by config_.error_response when set.
  Response error_response(int status, std::string_view text) const;
  BeastResponse to_beast(Response response, unsigned version, bool head, bool keep_alive);

  enum class State { kIdle, kRunning, kStopped };

  // Declared before ioc_ and workers_: coroutine frames destroyed along with those still
  // reach the counters and the session registry.
  const ServerConfig config_;
  const Handler handler_;
  ServerCounters counters_;
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<bool> stopping_{false};
  std::uint16_t port_ = 0;

  mutable std::mutex state_mutex_;
  std::condition_variable state_changed_;
  std::size_t active_requests_ = 0;  // guarded by state_mutex_

  std::mutex sessions_mutex_;
  std::unordered_map<std::uint64_t, SessionEntry> sessions_;  // guarded by sessions_mutex_
  std::uint64_t next_session_id_ = 0;                         // guarded by sessions_mutex_
  bool sessions_closed_ = false;                              // guarded by sessions_mutex_

  mutable std::mutex tls_mutex_;
  std::shared_ptr<ssl::context> tls_;  // guarded by tls_mutex_; null for plain HTTP

  std::promise<void> accept_loop_done_;

  std::mutex stop_mutex_;
  State state_ = State::kIdle;  // guarded by stop_mutex_

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  asio::thread_pool workers_;
  std::vector<std::thread> io_threads_;
};

// ---- lifecycle -------------------------------------------------------------------------

Result<std::unique_ptr<HttpServer>> HttpServer::start(ServerConfig config, Handler handler) {
  if (!handler) return Error::invalid("HttpServer needs a handler");
  if (config.io_threads < 1 || config.worker_threads < 1 || config.max_connections < 1) {
    return Error::invalid("io_threads, worker_threads and max_connections must be at least 1");
  }
  if (config.header_limit == 0 || config.header_limit > UINT32_MAX) {
    return Error::invalid("header_limit must be between 1 and 4294967295");
  }
  auto server = std::make_unique<ServerImpl>(std::move(config), std::move(handler));
  if (Status listening = server->listen(); !listening) return listening.take_error();
  return std::unique_ptr<HttpServer>(std::move(server));
}

Status ServerImpl::listen() {
  if (config_.tls) {
    auto tls = load_tls();
    if (!tls) return tls.take_error();
    tls_ = std::move(tls).value();
  }
  error_code ec;
  const auto address = asio::ip::make_address(config_.address, ec);
  if (ec) return Error::invalid("invalid listen address '" + config_.address + "'");
  const tcp::endpoint endpoint(address, config_.port);
  const std::string where = config_.address + ":" + std::to_string(config_.port);
  if (ec = open_acceptor(endpoint); ec) {
    return Error::internal("cannot listen on " + where + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();

  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [this](std::exception_ptr e) {
    if (e) log(kLogErr, "acceptor ended with an exception");
    accept_loop_done_.set_value();
  });
  for (int i = 0; i < config_.io_threads; ++i) io_threads_.emplace_back([this] { run_io(); });
  {
    std::lock_guard lock(stop_mutex_);
    state_ = State::kRunning;
  }
  const bool client_certificates = config_.tls && !config_.tls->client_ca.empty();
  log(kLogInfo, std::string("HTTP") + (tls_ ? "S" : "") + " listening on " + config_.address + ":" +
                    std::to_string(port_) +
                    (client_certificates ? " (client certificates required)" : ""));
  return ok_status();
}

error_code ServerImpl::open_acceptor(const tcp::endpoint& endpoint) {
  error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

void ServerImpl::run_io() {
  // Handlers report through as_tuple and completion callbacks; an exception escaping one is
  // a bug, logged, and must not take the io thread down with it.
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception&) {
      log(kLogErr, "unexpected exception on an HTTP io thread");
    }
  }
}

template <class Predicate>
bool ServerImpl::wait_for(std::chrono::milliseconds limit, Predicate done) {
  std::unique_lock lock(state_mutex_);
  return state_changed_.wait_for(lock, limit, done);
}

void ServerImpl::stop(std::chrono::milliseconds drain) {
  std::lock_guard stop_lock(stop_mutex_);
  if (state_ != State::kRunning) return;
  if (ioc_.get_executor().running_in_this_thread() ||
      workers_.get_executor().running_in_this_thread()) {
    // Joining the io threads or the worker pool from one of them would deadlock.
    log(kLogErr, "HttpServer::stop called from an io or worker thread; ignored");
    assert(false && "HttpServer::stop called from an io or worker thread");
    return;
  }
  stopping_ = true;
  close_acceptor();
  wait_for(drain, [this] { return active_requests_ == 0; });
  close_all_sessions();
  // Handlers still running past the drain finish here; their connections then see a
  // closed socket and unwind.
  workers_.join();
  if (!wait_for(kUnwindTimeout, [this] { return open_connections_.load() == 0; })) {
    log(kLogWarning, std::to_string(open_connections_.load()) +
                         " HTTP connections did not unwind before the io threads stopped");
  }
  work_.reset();
  ioc_.stop();
  for (auto& thread : io_threads_) thread.join();
  io_threads_.clear();
  state_ = State::kStopped;
  log(kLogInfo, "HTTP listener on port " + std::to_string(port_) + " stopped");
}

// Waits for the accept loop to end, not just for the close: a connection the kernel
// handed over just before the close completes on the strand after it, and must be
// admitted (then closed with the others) or dropped before the io threads stop.
void ServerImpl::close_acceptor() {
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
  });
  accept_loop_done_.get_future().wait();
}

// ---- TLS -------------------------------------------------------------------------------

Result<std::shared_ptr<ssl::context>> ServerImpl::load_tls() const {
  Result<TlsContextPtr> native = make_server_tls_context(*config_.tls);
  if (!native) return native.take_error();
  // asio's context takes ownership of the SSL_CTX.
  return std::make_shared<ssl::context>(native.value().release());
}

Status ServerImpl::reload_tls() {
  if (!config_.tls) return ok_status();  // plain HTTP: nothing to reload
  auto tls = load_tls();
  if (!tls) {
    log(kLogErr, "TLS reload failed, keeping the previous certificate: " + tls.error().message);
    return tls.take_error();
  }
  {
    std::lock_guard lock(tls_mutex_);
    tls_ = std::move(tls).value();  // connections in progress keep the old context alive
  }
  log(kLogInfo, "TLS certificate reloaded");
  return ok_status();
}

// ---- accepting and the session registry ----------------------------------------------

asio::awaitable<void> ServerImpl::accept_loop() {
  asio::steady_timer backoff(acceptor_.get_executor());
  while (acceptor_.is_open()) {
    tcp::socket socket(asio::make_strand(ioc_));
    auto [ec] = co_await acceptor_.async_accept(socket, kUseTuple);
    if (!acceptor_.is_open() || ec == asio::error::operation_aborted) break;
    if (ec) {
      // Typically EMFILE: back off instead of spinning on an error that repeats at once.
      log(kLogWarning, "accept failed: " + ec.message());
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    admit(std::move(socket));
  }
}

void ServerImpl::admit(tcp::socket socket) {
  if (open_connections_.load() >= config_.max_connections) {
    ++counters_.connections_rejected;
    error_code ignored;
    socket.close(ignored);
    log(kLogDebug, "connection rejected: max_connections reached");
    return;
  }
  ++open_connections_;
  ++counters_.connections_accepted;
  ConnectionSlot slot(this);
  std::string remote = endpoint_address(socket);
  const auto executor = socket.get_executor();
  if (auto tls = current_tls()) {
    asio::co_spawn(executor,
                   run_tls(std::move(socket), std::move(tls), std::move(slot), std::move(remote)),
                   report_failure("TLS connection"));
  } else {
    asio::co_spawn(executor, run_plain(std::move(socket), std::move(slot), std::move(remote)),
                   report_failure("connection"));
  }
}

void ServerImpl::release_connection() {
  std::lock_guard lock(state_mutex_);
  --open_connections_;
  state_changed_.notify_all();
}

ServerImpl::SessionRegistration ServerImpl::register_session(beast::tcp_stream& stream) {
  std::lock_guard lock(sessions_mutex_);
  if (sessions_closed_) return {this, 0};  // accepted just as stop() swept the sessions
  const std::uint64_t id = ++next_session_id_;
  sessions_.emplace(id, SessionEntry{stream.get_executor(), &stream});
  return {this, id};
}

void ServerImpl::unregister_session(std::uint64_t id) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(id);
}

// Runs on the session's strand, so the session cannot be between lookup and close; an id
// no longer listed means the session already ended and its stream is gone.
void ServerImpl::close_session(std::uint64_t id) {
  std::lock_guard lock(sessions_mutex_);
  if (auto it = sessions_.find(id); it != sessions_.end()) it->second.stream->close();
}

void ServerImpl::close_all_sessions() {
  std::lock_guard lock(sessions_mutex_);
  sessions_closed_ = true;
  for (const auto& [id, entry] : sessions_) {
    asio::post(entry.executor, [this, session = id] { close_session(session); });
  }
}

// ---- one connection --------------------------------------------------------------------

asio::awaitable<void> ServerImpl::run_plain(tcp::socket socket,
                                            [[maybe_unused]] ConnectionSlot slot,
                                            std::string remote) {
  beast::tcp_stream stream(std::move(socket));
  const SessionRegistration registration = register_session(stream);
  if (!registration.active()) co_return;
  const Peer peer{std::move(remote), false, {}};
  const Ending ending = co_await serve(stream, peer);
  if (ending == Ending::kClose) co_await linger_close(stream);
}

asio::awaitable<void> ServerImpl::run_tls(tcp::socket socket, std::shared_ptr<ssl::context> tls,
                                          [[maybe_unused]] ConnectionSlot slot,
                                          std::string remote) {
  TlsStream stream(std::move(socket), *tls);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  const SessionRegistration registration = register_session(tcp_layer);
  if (!registration.active()) co_return;
  tcp_layer.expires_after(config_.request_timeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
  if (ec == asio::error::operation_aborted) co_return;  // closed by stop(), not a failure
  if (ec) {
    ++counters_.tls_handshake_failures;
    log(kLogDebug, "TLS handshake with " + remote + " failed: " + ec.message());
    co_return;
  }
  const Peer peer{std::move(remote), true, verified_peer_subject(stream.native_handle())};
  const Ending ending = co_await serve(stream, peer);
  if (ending == Ending::kClose) {
    tcp_layer.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kUseTuple);
  }
}

asio::awaitable<void> ServerImpl::linger_close(beast::tcp_stream& stream) {
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(kLingerTimeout);
  std::array<char, 4096> sink{};
  for (std::size_t discarded = 0; discarded < kLingerMaxBytes;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kUseTuple);
    if (ec) break;
    discarded += n;
  }
  stream.close();
}

template <class Stream>
asio::awaitable<Ending> ServerImpl::serve(Stream& stream, const Peer& peer) {
  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config_.header_limit));
    parser.body_limit(config_.body_limit);
    const error_code ec = co_await read_request(stream, buffer, parser, first);
    if (ec) {
      const Ending ending = co_await reject(stream, ec);
      co_return ending;
    }
    const ActiveRequest active(this);
    ++counters_.requests;
    const unsigned version = parser.get().version();
    const bool head = parser.get().method() == bhttp::verb::head;
    const bool client_keeps_alive = parser.get().keep_alive();
    Request request = to_request(parser.release(), peer);
    Response response = co_await respond(request, version);
    const bool keep_alive = client_keeps_alive && !stopping_.load();
    BeastResponse message = to_beast(std::move(response), version, head, keep_alive);
    const bool written = co_await write(stream, message);
    if (!written) co_return Ending::kDone;
    if (!keep_alive) co_return Ending::kClose;
  }
}

// The first request of a connection must arrive within request_timeout of the accept; a
// later one may be preceded by up to idle_timeout of silence, and then has request_timeout
// from its first byte. Either way a client dribbling bytes is cut off.
template <class Stream>
asio::awaitable<error_code> ServerImpl::read_request(
    Stream& stream, beast::flat_buffer& buffer, bhttp::request_parser<bhttp::string_body>& parser,
    bool first) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  if (!first && buffer.size() == 0) {
    tcp_layer.expires_after(config_.idle_timeout);
    const auto space = buffer.prepare(kReadChunk);
    auto [ec, n] = co_await stream.async_read_some(space, kUseTuple);
    if (ec == asio::error::eof) co_return bhttp::error::end_of_stream;
    if (ec) co_return ec;
    buffer.commit(n);
  }
  tcp_layer.expires_after(config_.request_timeout);
  auto [header_ec, header_n] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
  if (header_ec) co_return header_ec;
  if (parser.is_done()) co_return error_code{};
  if (expects_continue(parser.get())) {
    const auto interim = asio::buffer(kContinue);
    auto [continue_ec, continue_n] = co_await asio::async_write(stream, interim, kUseTuple);
    if (continue_ec) co_return continue_ec;
  }
  auto [body_ec, body_n] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
  co_return body_ec;
}

template <class Stream>
asio::awaitable<Ending> ServerImpl::reject(Stream& stream, const error_code& ec) {
  int status = 0;
  switch (classify_read_error(ec)) {
    case ReadFailure::kEnded:
      co_return Ending::kDone;
    case ReadFailure::kTimeout:
      ++counters_.timeouts;
      co_return Ending::kDone;  // Beast closed the socket when the deadline fired
    case ReadFailure::kHeaderTooLarge:
      ++counters_.too_large;
      status = 431;
      break;
    case ReadFailure::kBodyTooLarge:
      ++counters_.too_large;
      status = 413;
      break;
    case ReadFailure::kMalformed:
      ++counters_.bad_requests;
      status = 400;
      break;
  }
  log(kLogDebug, "rejected HTTP request (" + std::to_string(status) + "): " + ec.message());
  BeastResponse message =
      to_beast(error_response(status, bhttp::obsolete_reason(bhttp::int_to_status(status))), 11,
               /*head=*/false, /*keep_alive=*/false);
  const bool written = co_await write(stream, message);
  co_return written ? Ending::kClose : Ending::kDone;
}

template <class Stream>
asio::awaitable<bool> ServerImpl::write(Stream& stream, BeastResponse& response) {
  // A client that stops reading must not hold the connection (and its buffers) forever.
  beast::get_lowest_layer(stream).expires_after(config_.request_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream, response, kUseTuple);
  if (ec == beast::error::timeout) ++counters_.timeouts;
  co_return !ec;
}

// ---- requests and responses ------------------------------------------------------------

// What the server itself refuses before any handler runs: a missing Host (RFC 9112 §3.2)
// and request bodies it cannot decode. Also inflates gzip bodies in place.
std::optional<Response> ServerImpl::refuse_early(Request& request, unsigned version) {
  if (version >= 11 && !has_header(request.headers, "Host")) {
    ++counters_.bad_requests;
    return error_response(400, "Bad Request: missing Host header");
  }
  const Status decoded = decode_request_body(request, config_.body_limit);
  if (!decoded) return decode_failure(decoded.error());
  return std::nullopt;
}

asio::awaitable<Response> ServerImpl::respond(Request& request, unsigned version) {
  const std::string accept_encoding(request.header("Accept-Encoding"));
  std::optional<Response> response = refuse_early(request, version);
  if (!response) {
    // The handler may block (SQLite, group commit), so it runs on the worker pool; the
    // coroutine resumes on the connection's strand when it returns.
    auto on_worker = [this, &request]() -> asio::awaitable<Response> {
      co_return call_handler(request);
    };
    response = co_await asio::co_spawn(workers_, std::move(on_worker), asio::use_awaitable);
  }
  compress_response(accept_encoding, *response, config_.gzip_min_bytes);
  co_return std::move(*response);
}

Response ServerImpl::call_handler(Request& request) {
  try {
    return handler_(request);
  } catch (...) {
    // Handlers report errors as responses; an exception is a bug. Its message is not
    // logged because it may quote patient data.
    ++counters_.handler_errors;
    log(kLogErr, "handler threw an exception on " + describe(request));
    return error_response(500, "Internal Server Error");
  }
}

Response ServerImpl::error_response(int status, std::string_view text) const {
  if (config_.error_response) return config_.error_response(status, text);
  return plain_response(status, text);
}

Response ServerImpl::decode_failure(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kTooLarge:
      ++counters_.too_large;
      return error_response(413, "Payload Too Large: " + error.message);
    case ErrorKind::kUnsupported:
      return error_response(415, "Unsupported Media Type: " + error.message);
    case ErrorKind::kInvalid:
      ++counters_.bad_requests;
      return error_response(400, "Bad Request: " + error.message);
    default:
      return error_response(500, "Internal Server Error");
  }
}

BeastResponse ServerImpl::to_beast(Response response, unsigned version, bool head,
                                   bool keep_alive) {
  if (response.status < 100 || response.status > 599) {
    log(kLogErr, "handler returned invalid status " + std::to_string(response.status));
    ++counters_.handler_errors;
    response = error_response(500, "Internal Server Error");
  }
  BeastResponse message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  for (const auto& [name, value] : response.headers) {
    if (handler_may_set(name, value)) message.insert(name, value);
  }
  if (message.find(bhttp::field::server) == message.end()) {
    message.set(bhttp::field::server, config_.server_name);
  }
  if (message.find(bhttp::field::date) == message.end()) {
    message.set(bhttp::field::date, http_date_now());
  }
  // 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1); HEAD describes the GET body.
  const bool bodyless = response.status < 200 || response.status == 204 || response.status == 304;
  if (!bodyless) message.content_length(response.body.size());
  if (!bodyless && !head) message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  return message;
}

}  // namespace cg::http
