// The Beast/Asio side of cg::hl7v2::MllpServer, the only translation unit of the MLLP
// listener that includes Beast or Asio: it moves bytes, enforces limits and deadlines, and
// calls the pure MllpFramer, the TLS context helper and the MessageHandler for the rest.
// The lifecycle (accepting, session registry, drain) follows protocols/http/server.cpp.
//
// Threads: `io_threads` run ioc_; each connection coroutine runs on its own strand, the
// acceptor on another. Handlers run on workers_ and the connection resumes on its strand.
// stop() runs on a caller thread and only talks to io threads through posted handlers.

#include "protocols/hl7v2/mllp_server.hpp"

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
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cassert>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocols/hl7v2/mllp_framer.hpp"
#include "protocols/http/tls_context.hpp"

namespace cg::hl7v2 {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// syslog priorities
constexpr int kLogErr = 3;
constexpr int kLogWarning = 4;
constexpr int kLogInfo = 6;
constexpr int kLogDebug = 7;

constexpr std::size_t kReadChunk = 16 * 1024;
// When the server closes a connection the sender may still be sending (pipelined frames);
// reading and discarding for a moment keeps the kernel from answering with a RST that
// could destroy answers already written but not yet read (a "lingering close").
constexpr std::chrono::milliseconds kLingerTimeout{1'000};
constexpr std::size_t kLingerMaxBytes = 256 * 1024;
constexpr std::chrono::milliseconds kTlsShutdownTimeout{1'000};
constexpr std::chrono::milliseconds kAcceptBackoff{100};
// After the drain, closed sessions need a moment to unwind their coroutines.
constexpr std::chrono::milliseconds kUnwindTimeout{2'000};
constexpr std::chrono::milliseconds kDestructorDrain{0};
constexpr std::string_view kFramingBytes("\x0B\x1C", 2);

// How a connection's message loop ended, which decides how the socket is closed.
enum class Ending {
  kDone,   // peer closed, deadline hit or socket failed: nothing more to say
  kClose,  // the server decided to close (handler failure, stopping): close gracefully
};

std::string endpoint_address(const tcp::socket& socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : remote.address().to_string();
}

}  // namespace

class MllpServerImpl final : public MllpServer {
 public:
  MllpServerImpl(MllpConfig config, MessageHandler handler)
      : config_(std::move(config)),
        handler_(std::move(handler)),
        ioc_(config_.io_threads),
        work_(ioc_.get_executor()),
        acceptor_(asio::make_strand(ioc_)),
        workers_(static_cast<std::size_t>(config_.worker_threads)) {}

  ~MllpServerImpl() override { stop(kDestructorDrain); }

  MllpServerImpl(const MllpServerImpl&) = delete;
  MllpServerImpl& operator=(const MllpServerImpl&) = delete;

  Status listen();

  std::uint16_t port() const override { return port_; }
  const MllpCounters& counters() const override { return counters_; }
  std::size_t open_connections() const override { return open_connections_.load(); }
  Status reload_tls() override;
  void stop(std::chrono::milliseconds drain) override;
  void post(std::function<void()> task) override { asio::post(ioc_, std::move(task)); }

 private:
  // Counts one admitted connection until destroyed. Passed by value into the connection
  // coroutine, so even a coroutine that never starts gives its slot back.
  class ConnectionSlot {
   public:
    explicit ConnectionSlot(MllpServerImpl* server) : server_(server) {}
    ConnectionSlot(ConnectionSlot&& other) noexcept : server_(std::exchange(other.server_, {})) {}
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ~ConnectionSlot() {
      if (server_ != nullptr) server_->release_connection();
    }

   private:
    MllpServerImpl* server_;
  };

  // Lists a live stream so stop() can close it; unlisted before the stream is destroyed.
  class SessionRegistration {
   public:
    SessionRegistration(MllpServerImpl* server, std::uint64_t id) : server_(server), id_(id) {}
    SessionRegistration(const SessionRegistration&) = delete;
    SessionRegistration& operator=(const SessionRegistration&) = delete;
    ~SessionRegistration() {
      if (id_ != 0) server_->unregister_session(id_);
    }
    bool active() const { return id_ != 0; }

   private:
    MllpServerImpl* server_;
    std::uint64_t id_;
  };

  // Counts one message from "taken" to "answer written", which is what stop() drains.
  class ActiveMessage {
   public:
    explicit ActiveMessage(MllpServerImpl* server) : server_(server) {
      std::lock_guard lock(server_->state_mutex_);
      ++server_->active_messages_;
    }
    ActiveMessage(const ActiveMessage&) = delete;
    ActiveMessage& operator=(const ActiveMessage&) = delete;
    ~ActiveMessage() {
      std::lock_guard lock(server_->state_mutex_);
      --server_->active_messages_;
      server_->state_changed_.notify_all();
    }

   private:
    MllpServerImpl* server_;
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
  asio::awaitable<Ending> serve(Stream& stream, const MllpPeer& peer);
  template <class Stream>
  asio::awaitable<std::optional<Ending>> answer(Stream& stream, const std::string& message,
                                                const MllpPeer& peer);
  void note_read_end(const error_code& ec, bool mid_frame, const MllpPeer& peer);
  void note_garbage(const MllpFramer& framer, std::uint64_t* reported, const MllpPeer& peer);
  std::optional<std::string> call_handler(std::string_view message, const MllpPeer& peer);

  enum class State { kIdle, kRunning, kStopped };

  // Declared before ioc_ and workers_: coroutine frames destroyed along with those still
  // reach the counters and the session registry.
  const MllpConfig config_;
  const MessageHandler handler_;
  MllpCounters counters_;
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<bool> stopping_{false};
  std::uint16_t port_ = 0;

  mutable std::mutex state_mutex_;
  std::condition_variable state_changed_;
  std::size_t active_messages_ = 0;  // guarded by state_mutex_

  std::mutex sessions_mutex_;
  std::unordered_map<std::uint64_t, SessionEntry> sessions_;  // guarded by sessions_mutex_
  std::uint64_t next_session_id_ = 0;                         // guarded by sessions_mutex_
  bool sessions_closed_ = false;                              // guarded by sessions_mutex_

  mutable std::mutex tls_mutex_;
  std::shared_ptr<ssl::context> tls_;  // guarded by tls_mutex_; null for plain MLLP

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

Result<std::unique_ptr<MllpServer>> MllpServer::start(MllpConfig config, MessageHandler handler) {
  if (!handler) return Error::invalid("MllpServer needs a message handler");
  if (config.io_threads < 1 || config.worker_threads < 1 || config.max_connections < 1) {
    return Error::invalid("io_threads, worker_threads and max_connections must be at least 1");
  }
  if (config.max_message_size < 1) return Error::invalid("max_message_size must be at least 1");
  if (config.idle_timeout <= std::chrono::milliseconds::zero() ||
      config.read_timeout <= std::chrono::milliseconds::zero()) {
    return Error::invalid("idle_timeout and read_timeout must be positive");
  }
  auto server = std::make_unique<MllpServerImpl>(std::move(config), std::move(handler));
  if (Status listening = server->listen(); !listening) return listening.take_error();
  return std::unique_ptr<MllpServer>(std::move(server));
}

Status MllpServerImpl::listen() {
  if (config_.tls) {
    auto tls = load_tls();
    if (!tls) return tls.take_error();
    tls_ = std::move(tls).value();
  }
  error_code ec;
  const auto address = asio::ip::make_address(config_.address, ec);
  if (ec) return Error::invalid("invalid MLLP listen address '" + config_.address + "'");
  const tcp::endpoint endpoint(address, config_.port);
  const std::string where = config_.address + ":" + std::to_string(config_.port);
  if (ec = open_acceptor(endpoint); ec) {
    return Error::internal("cannot listen for MLLP on " + where + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();

  asio::co_spawn(acceptor_.get_executor(), accept_loop(), [this](std::exception_ptr e) {
    if (e) log(kLogErr, "MLLP acceptor ended with an exception");
    accept_loop_done_.set_value();
  });
  for (int i = 0; i < config_.io_threads; ++i) io_threads_.emplace_back([this] { run_io(); });
  {
    std::lock_guard lock(stop_mutex_);
    state_ = State::kRunning;
  }
  std::string mode = "MLLP";
  if (tls_)
    mode += config_.tls->client_ca.empty() ? " over TLS" : " over TLS (client certificates)";
  log(kLogInfo, mode + " listening on " + config_.address + ":" + std::to_string(port_));
  return ok_status();
}

error_code MllpServerImpl::open_acceptor(const tcp::endpoint& endpoint) {
  error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

void MllpServerImpl::run_io() {
  // Handlers report through as_tuple and completion callbacks; an exception escaping one is
  // a bug, logged, and must not take the io thread down with it.
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception&) {
      log(kLogErr, "unexpected exception on an MLLP io thread");
    }
  }
}

template <class Predicate>
bool MllpServerImpl::wait_for(std::chrono::milliseconds limit, Predicate done) {
  std::unique_lock lock(state_mutex_);
  return state_changed_.wait_for(lock, limit, done);
}

void MllpServerImpl::stop(std::chrono::milliseconds drain) {
  std::lock_guard stop_lock(stop_mutex_);
  if (state_ != State::kRunning) return;
  if (ioc_.get_executor().running_in_this_thread() ||
      workers_.get_executor().running_in_this_thread()) {
    // Joining the io threads or the worker pool from one of them would deadlock.
    log(kLogErr, "MllpServer::stop called from an io or worker thread; ignored");
    assert(false && "MllpServer::stop called from an io or worker thread");
    return;
  }
  stopping_ = true;  // sessions take no new message from here on
  close_acceptor();
  wait_for(drain, [this] { return active_messages_ == 0; });
  close_all_sessions();
  // Handlers still running past the drain finish here (the message is stored but its
  // answer cannot go out: the sender resends it and duplicate detection answers it).
  workers_.join();
  if (!wait_for(kUnwindTimeout, [this] { return open_connections_.load() == 0; })) {
    log(kLogWarning, std::to_string(open_connections_.load()) +
                         " MLLP connections did not unwind before the io threads stopped");
  }
  work_.reset();
  ioc_.stop();
  for (auto& thread : io_threads_) thread.join();
  io_threads_.clear();
  state_ = State::kStopped;
  log(kLogInfo, "MLLP listener on port " + std::to_string(port_) + " stopped");
}

// Waits for the accept loop to end, not just for the close: a connection the kernel
// handed over just before the close completes on the strand after it, and must be
// admitted (then closed with the others) or dropped before the io threads stop.
void MllpServerImpl::close_acceptor() {
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
  });
  accept_loop_done_.get_future().wait();
}

// ---- TLS -------------------------------------------------------------------------------

Result<std::shared_ptr<ssl::context>> MllpServerImpl::load_tls() const {
  const MllpTlsConfig& tls = *config_.tls;
  Result<http::TlsContextPtr> native =
      http::make_server_tls_context({tls.certificate_chain, tls.private_key, tls.client_ca});
  if (!native) return native.take_error();
  // asio's context takes ownership of the SSL_CTX.
  return std::make_shared<ssl::context>(native.value().release());
}

Status MllpServerImpl::reload_tls() {
  if (!config_.tls) return ok_status();  // plain MLLP: nothing to reload
  auto tls = load_tls();
  if (!tls) {
    log(kLogErr,
        "MLLP TLS reload failed, keeping the previous certificate: " + tls.error().message);
    return tls.take_error();
  }
  {
    std::lock_guard lock(tls_mutex_);
    tls_ = std::move(tls).value();  // connections in progress keep the old context alive
  }
  log(kLogInfo, "MLLP TLS certificate reloaded");
  return ok_status();
}

// ---- accepting and the session registry ----------------------------------------------

asio::awaitable<void> MllpServerImpl::accept_loop() {
  asio::steady_timer backoff(acceptor_.get_executor());
  while (acceptor_.is_open()) {
    tcp::socket socket(asio::make_strand(ioc_));
    auto [ec] = co_await acceptor_.async_accept(socket, kUseTuple);
    if (!acceptor_.is_open() || ec == asio::error::operation_aborted) break;
    if (ec) {
      // Typically EMFILE: back off instead of spinning on an error that repeats at once.
      log(kLogWarning, "MLLP accept failed: " + ec.message());
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    admit(std::move(socket));
  }
}

void MllpServerImpl::admit(tcp::socket socket) {
  std::string remote = endpoint_address(socket);
  if (open_connections_.load() >= config_.max_connections) {
    ++counters_.connections_rejected;
    error_code ignored;
    socket.close(ignored);
    log(kLogWarning, "MLLP connection from " + remote + " rejected: max_connections (" +
                         std::to_string(config_.max_connections) + ") reached");
    return;
  }
  ++open_connections_;
  ++counters_.connections_accepted;
  ConnectionSlot slot(this);
  const auto executor = socket.get_executor();
  if (auto tls = current_tls()) {
    asio::co_spawn(executor,
                   run_tls(std::move(socket), std::move(tls), std::move(slot), std::move(remote)),
                   report_failure("MLLP TLS connection"));
  } else {
    asio::co_spawn(executor, run_plain(std::move(socket), std::move(slot), std::move(remote)),
                   report_failure("MLLP connection"));
  }
}

void MllpServerImpl::release_connection() {
  std::lock_guard lock(state_mutex_);
  --open_connections_;
  state_changed_.notify_all();
}

MllpServerImpl::SessionRegistration MllpServerImpl::register_session(beast::tcp_stream& stream) {
  std::lock_guard lock(sessions_mutex_);
  if (sessions_closed_) return {this, 0};  // accepted just as stop() swept the sessions
  const std::uint64_t id = ++next_session_id_;
  sessions_.emplace(id, SessionEntry{stream.get_executor(), &stream});
  return {this, id};
}

void MllpServerImpl::unregister_session(std::uint64_t id) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(id);
}

// Runs on the session's strand, so the session cannot be between lookup and close; an id
// no longer listed means the session already ended and its stream is gone.
void MllpServerImpl::close_session(std::uint64_t id) {
  std::lock_guard lock(sessions_mutex_);
  if (auto it = sessions_.find(id); it != sessions_.end()) it->second.stream->close();
}

void MllpServerImpl::close_all_sessions() {
  std::lock_guard lock(sessions_mutex_);
  sessions_closed_ = true;
  for (const auto& [id, entry] : sessions_) {
    asio::post(entry.executor, [this, session = id] { close_session(session); });
  }
}

// ---- one connection --------------------------------------------------------------------

asio::awaitable<void> MllpServerImpl::run_plain(tcp::socket socket,
                                                [[maybe_unused]] ConnectionSlot slot,
                                                std::string remote) {
  beast::tcp_stream stream(std::move(socket));
  const SessionRegistration registration = register_session(stream);
  if (!registration.active()) co_return;
  const MllpPeer peer{std::move(remote), false, {}};
  log(kLogDebug, "MLLP connection from " + peer.address);
  const Ending ending = co_await serve(stream, peer);
  if (ending == Ending::kClose) co_await linger_close(stream);
}

asio::awaitable<void> MllpServerImpl::run_tls(tcp::socket socket, std::shared_ptr<ssl::context> tls,
                                              [[maybe_unused]] ConnectionSlot slot,
                                              std::string remote) {
  TlsStream stream(std::move(socket), *tls);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  const SessionRegistration registration = register_session(tcp_layer);
  if (!registration.active()) co_return;
  tcp_layer.expires_after(config_.read_timeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
  if (ec == asio::error::operation_aborted) co_return;  // closed by stop(), not a failure
  if (ec) {
    // Worth an operator's attention: typically a sender without (or with the wrong) client
    // certificate, or speaking plain MLLP to the TLS port.
    ++counters_.tls_handshake_failures;
    log(kLogInfo, "MLLP TLS handshake with " + remote + " failed: " + ec.message());
    co_return;
  }
  const MllpPeer peer{std::move(remote), true, http::verified_peer_subject(stream.native_handle())};
  log(kLogDebug, "MLLP TLS connection from " + peer.address +
                     (peer.client_subject.empty() ? "" : " as " + peer.client_subject));
  const Ending ending = co_await serve(stream, peer);
  if (ending == Ending::kClose) {
    tcp_layer.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kUseTuple);
  }
}

asio::awaitable<void> MllpServerImpl::linger_close(beast::tcp_stream& stream) {
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

// Reads and answers messages until the peer leaves, a deadline passes or the server closes.
// Between frames a read may wait idle_timeout; once a frame has begun, it must be complete
// within read_timeout of the read that began it, however the sender dribbles its bytes.
template <class Stream>
asio::awaitable<Ending> MllpServerImpl::serve(Stream& stream, const MllpPeer& peer) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  MllpFramer framer(config_.max_message_size);
  std::vector<char> chunk(kReadChunk);
  Clock::time_point frame_deadline{};  // for the frame in progress, once frame_timed
  bool frame_timed = false;
  std::uint64_t garbage_reported = 0;
  for (;;) {
    const bool mid_frame = framer.in_frame();
    if (mid_frame) {
      tcp_layer.expires_at(frame_deadline);
    } else {
      tcp_layer.expires_after(config_.idle_timeout);
    }
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(chunk), kUseTuple);
    if (ec) {
      note_read_end(ec, mid_frame, peer);
      co_return Ending::kDone;
    }
    std::string_view input(chunk.data(), n);
    while (std::optional<MllpEvent> event = framer.extract(&input)) {
      note_garbage(framer, &garbage_reported, peer);
      frame_timed = false;
      if (event->kind == MllpEvent::Kind::kOversize) {
        ++counters_.oversize_frames;
        log(kLogWarning, "MLLP message from " + peer.address + " dropped unanswered: over " +
                             std::to_string(config_.max_message_size) + " bytes");
        continue;
      }
      ++counters_.frames;
      std::optional<Ending> ending = co_await answer(stream, event->payload, peer);
      if (ending) co_return *ending;
    }
    note_garbage(framer, &garbage_reported, peer);
    if (!framer.in_frame()) {
      frame_timed = false;
    } else if (!frame_timed) {
      frame_deadline = Clock::now() + config_.read_timeout;
      frame_timed = true;
    }
  }
}

// Hands one message to the handler on the worker pool and writes its answer. nullopt: go on
// reading; otherwise how the connection ends.
template <class Stream>
asio::awaitable<std::optional<Ending>> MllpServerImpl::answer(Stream& stream,
                                                              const std::string& message,
                                                              const MllpPeer& peer) {
  // Stopping: the message is not taken (no answer), so the sender resends it later.
  if (stopping_.load()) co_return Ending::kClose;
  const ActiveMessage active(this);
  auto on_worker = [this, &message, &peer]() -> asio::awaitable<std::optional<std::string>> {
    co_return call_handler(message, peer);
  };
  std::optional<std::string> reply =
      co_await asio::co_spawn(workers_, std::move(on_worker), asio::use_awaitable);
  if (!reply) co_return Ending::kClose;
  const std::string framed = mllp_frame(*reply);
  // A sender that stops reading must not hold the connection (and its buffers) forever.
  beast::get_lowest_layer(stream).expires_after(config_.read_timeout);
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(framed), kUseTuple);
  if (ec) {
    if (ec == beast::error::timeout) ++counters_.timeouts;
    log(kLogWarning, "MLLP answer to " + peer.address + " not delivered: " + ec.message());
    co_return Ending::kDone;
  }
  ++counters_.answers;
  if (stopping_.load()) co_return Ending::kClose;
  co_return std::nullopt;
}

std::optional<std::string> MllpServerImpl::call_handler(std::string_view message,
                                                        const MllpPeer& peer) {
  std::string reply;
  try {
    reply = handler_(message, peer);
  } catch (...) {
    // The exception's text is not logged: it may quote the message.
    ++counters_.handler_errors;
    log(kLogErr, "MLLP message handler failed on a message from " + peer.address +
                     "; connection closed without an answer");
    return std::nullopt;
  }
  if (reply.empty() || reply.find_first_of(kFramingBytes) != std::string::npos) {
    ++counters_.handler_errors;
    log(kLogErr,
        "MLLP message handler returned an empty answer or one with MLLP framing bytes "
        "for a message from " +
            peer.address + "; connection closed without an answer");
    return std::nullopt;
  }
  return reply;
}

void MllpServerImpl::note_read_end(const error_code& ec, bool mid_frame, const MllpPeer& peer) {
  if (ec == beast::error::timeout) {
    if (mid_frame) {
      ++counters_.timeouts;
      log(kLogInfo, "MLLP connection from " + peer.address +
                        " closed: a message was not complete within read_timeout");
    } else {
      ++counters_.idle_timeouts;
      log(kLogDebug, "MLLP connection from " + peer.address + " closed after idle_timeout");
    }
    return;
  }
  if (mid_frame && ec != asio::error::operation_aborted) {
    log(kLogInfo, "MLLP connection from " + peer.address +
                      " ended in the middle of a message: " + ec.message());
  }
}

// Adds the framer's new garbage to the counters; the first garbage of a connection is
// logged (a misconfigured sender), later garbage on it only counted.
void MllpServerImpl::note_garbage(const MllpFramer& framer, std::uint64_t* reported,
                                  const MllpPeer& peer) {
  const std::uint64_t total = framer.stats().garbage_bytes;
  if (total == *reported) return;
  counters_.garbage_bytes += total - *reported;
  if (*reported == 0) {
    log(kLogInfo, "MLLP connection from " + peer.address + ": skipped " + std::to_string(total) +
                      " bytes outside MLLP frames (counted from now on)");
  }
  *reported = total;
}

}  // namespace cg::hl7v2
