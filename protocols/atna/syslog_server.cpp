// The Asio side of cg::atna::SyslogServer, the only translation unit of the syslog receivers
// that includes Asio or Beast: it moves bytes, enforces limits, deadlines and backpressure,
// and calls the pure SyslogFramer / datagram_message, the TLS context helper and the sink
// for the rest. The lifecycle (accepting, session registry, drain) follows
// protocols/hl7v2/mllp_server.cpp.
//
// Threads: `io_threads` run ioc_; each connection coroutine runs on its own strand, each
// acceptor and the UDP socket on another. The sink runs on workers_. A batch's completion
// may come from any thread (typically the store's writer): it reaches a connection only by
// a handler posted to that connection's strand, looked up by session id, so a completion
// that arrives after its connection ended finds nothing and does nothing.

#include "protocols/atna/syslog_server.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
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

#include "protocols/atna/syslog_datagram.hpp"
#include "protocols/atna/syslog_framer.hpp"
#include "protocols/http/tls_context.hpp"

namespace cg::atna {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// syslog priorities
constexpr int kLogErr = 3;
constexpr int kLogWarning = 4;
constexpr int kLogInfo = 6;
constexpr int kLogDebug = 7;

constexpr std::string_view kUdp = "udp";
constexpr std::string_view kTcp = "tcp";
constexpr std::string_view kTls = "tls";

// A busy sender's batch is what one read returns: 64 KiB (about 40 typical audit records)
// keeps a single connection near the store's pace; 16 KiB held it to two thirds of it.
constexpr std::size_t kReadChunk = 64 * 1024;
// At most this much is read into one TCP/TLS batch (then it goes to the sink).
constexpr std::size_t kBatchReadLimit = 256 * 1024;
// A UDP burst becomes one batch up to this many bytes (and kUdpBurstMessages messages).
constexpr std::size_t kUdpBurstBytes = 1024 * 1024;
// Two bytes of trailer (CR LF) plus one: a datagram longer than the limit is seen as such
// instead of being cut to fit (datagram_message).
constexpr std::size_t kUdpSlack = 3;
constexpr std::chrono::milliseconds kTlsShutdownTimeout{1'000};
constexpr std::chrono::milliseconds kAcceptBackoff{100};
constexpr std::chrono::milliseconds kUnwindTimeout{2'000};
constexpr std::chrono::milliseconds kDestructorDrain{0};
constexpr std::chrono::seconds kDropLogInterval{10};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string endpoint_address(const tcp::socket& socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : remote.address().to_string();
}

SyslogBatch new_batch(std::string_view transport) {
  SyslogBatch batch;
  batch.transport = transport;
  batch.received_ms = now_ms();
  return batch;
}

std::size_t batch_bytes(const SyslogBatch& batch) {
  std::size_t bytes = 0;
  for (const auto& m : batch.messages) bytes += m.message.size();
  return bytes;
}

// How a connection's read loop ended, which decides how the socket is closed.
enum class Ending {
  kDone,   // peer closed, deadline hit or socket failed: nothing more to say
  kClose,  // the server decided to close (malformed frame, stopping): close gracefully
};

// A connection's share of the batches in flight; lives in the connection coroutine's frame
// and is touched only on its strand.
struct ConnectionFlow {
  explicit ConnectionFlow(const asio::any_io_executor& executor) : wake(executor) {}
  std::size_t in_flight = 0;
  std::size_t in_flight_bytes = 0;
  asio::steady_timer wake;  // waited on while in flight is at a limit; cancelled to wake
};

}  // namespace

class SyslogServerImpl;

// The batches handed to the sink and not yet completed. Shared with the completions, which
// may outlive the server (a store still holding one): once `detached`, a completion only
// gives its count back and never touches the server.
struct BatchTracker {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t in_flight = 0;
  bool detached = false;
  SyslogServerImpl* server = nullptr;  // valid while !detached
};

// One batch's completion, shared by the copies of its SyslogBatchDone. Finishes once: when
// called, or as "not stored" when the last copy goes away uncalled.
class BatchCompletion {
 public:
  BatchCompletion(std::shared_ptr<BatchTracker> tracker, std::size_t messages,
                  std::uint64_t session, std::size_t bytes)
      : tracker_(std::move(tracker)), messages_(messages), session_(session), bytes_(bytes) {}
  BatchCompletion(const BatchCompletion&) = delete;
  BatchCompletion& operator=(const BatchCompletion&) = delete;
  ~BatchCompletion() { finish(false); }

  void finish(bool stored);
  bool detached() const {
    std::lock_guard lock(tracker_->mutex);
    return tracker_->detached;
  }

 private:
  std::shared_ptr<BatchTracker> tracker_;
  const std::size_t messages_;
  const std::uint64_t session_;  // 0 for UDP
  const std::size_t bytes_;      // what the batch counts against its connection's or UDP's bound
  std::atomic<bool> finished_{false};
};

class SyslogServerImpl final : public SyslogServer {
 public:
  SyslogServerImpl(SyslogConfig config, SyslogSink sink)
      : config_(std::move(config)),
        sink_(std::move(sink)),
        tracker_(std::make_shared<BatchTracker>()),
        ioc_(config_.io_threads),
        work_(ioc_.get_executor()),
        tcp_acceptor_(asio::make_strand(ioc_)),
        tls_acceptor_(asio::make_strand(ioc_)),
        udp_socket_(asio::make_strand(ioc_)),
        workers_(static_cast<std::size_t>(config_.worker_threads)) {
    tracker_->server = this;
  }

  ~SyslogServerImpl() override { stop(kDestructorDrain); }

  SyslogServerImpl(const SyslogServerImpl&) = delete;
  SyslogServerImpl& operator=(const SyslogServerImpl&) = delete;

  Status listen();

  std::optional<std::uint16_t> udp_port() const override { return udp_port_; }
  std::optional<std::uint16_t> tcp_port() const override { return tcp_port_; }
  std::optional<std::uint16_t> tls_port() const override { return tls_port_; }
  const SyslogCounters& counters() const override { return counters_; }
  std::size_t open_connections() const override { return open_connections_.load(); }
  Status reload_tls() override;
  void stop(std::chrono::milliseconds drain) override;
  void post(std::function<void()> task) override { asio::post(ioc_, std::move(task)); }

  // A batch finished (from BatchCompletion::finish, under the tracker's mutex, any thread).
  void batch_done(bool stored, std::size_t messages, std::uint64_t session, std::size_t bytes);

 private:
  // Counts one admitted connection until destroyed. Passed by value into the connection
  // coroutine, so even a coroutine that never starts gives its slot back.
  class ConnectionSlot {
   public:
    explicit ConnectionSlot(SyslogServerImpl* server) : server_(server) {}
    ConnectionSlot(ConnectionSlot&& other) noexcept : server_(std::exchange(other.server_, {})) {}
    ConnectionSlot& operator=(ConnectionSlot&&) = delete;
    ~ConnectionSlot() {
      if (server_ != nullptr) server_->release_connection();
    }

   private:
    SyslogServerImpl* server_;
  };

  // Lists a live connection so stop() can close it and completions can find its flow;
  // unlisted before the stream and the flow are destroyed.
  class SessionRegistration {
   public:
    SessionRegistration(SyslogServerImpl* server, std::uint64_t id) : server_(server), id_(id) {}
    SessionRegistration(const SessionRegistration&) = delete;
    SessionRegistration& operator=(const SessionRegistration&) = delete;
    ~SessionRegistration() {
      if (id_ != 0) server_->unregister_session(id_);
    }
    std::uint64_t id() const { return id_; }

   private:
    SyslogServerImpl* server_;
    std::uint64_t id_;
  };

  struct SessionEntry {
    asio::any_io_executor executor;
    beast::tcp_stream* stream;
    ConnectionFlow* flow;
  };

  // Who is on the other end of a connection, for batches and logs.
  struct Peer {
    std::string address;
    std::string_view transport;
    std::uint64_t session = 0;
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

  Status check_config() const;
  Result<std::uint16_t> open_acceptor(tcp::acceptor& acceptor, const asio::ip::address& address,
                                      std::uint16_t port, std::string_view what);
  Result<std::uint16_t> open_udp(const asio::ip::address& address, std::uint16_t port);
  void size_udp_buffer();
  void run_io();
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool tls);
  void admit(tcp::socket socket, bool tls);
  void release_connection();
  SessionRegistration register_session(beast::tcp_stream& stream, ConnectionFlow& flow);
  void unregister_session(std::uint64_t id);
  void release_batch_slot(std::uint64_t id, std::size_t bytes);
  void close_session(std::uint64_t id);
  void close_all_sessions();
  void close_listener(tcp::acceptor& acceptor, std::promise<void>& loop_done);
  void close_udp();
  template <class Predicate>
  bool wait_for(std::chrono::milliseconds limit, Predicate done);

  asio::awaitable<void> run_plain(tcp::socket socket, ConnectionSlot slot, std::string remote);
  asio::awaitable<void> run_tls(tcp::socket socket, std::shared_ptr<ssl::context> tls,
                                ConnectionSlot slot, std::string remote);
  template <class Stream>
  asio::awaitable<Ending> serve(Stream& stream, ConnectionFlow& flow, const Peer& peer);
  asio::awaitable<bool> wait_for_batch_slot(ConnectionFlow& flow);
  bool take_event(SyslogFrameEvent& event, SyslogBatch& batch, const Peer& peer,
                  bool& oversize_logged);
  void finish_stream(SyslogFramer& framer, SyslogBatch& batch, ConnectionFlow& flow,
                     const Peer& peer, bool peer_closed);
  void note_read_end(const error_code& ec, const Peer& peer);

  asio::awaitable<void> udp_loop();
  void take_datagram(SyslogBatch& batch, std::string_view datagram, const std::string& peer);
  void submit_udp(SyslogBatch batch);

  // `session` 0 for UDP; `bytes` what the batch counts against its bound.
  void submit(SyslogBatch batch, std::uint64_t session, std::size_t bytes);
  void submit_tcp(SyslogBatch batch, ConnectionFlow& flow, std::uint64_t session);
  void call_sink(SyslogBatch batch, std::shared_ptr<BatchCompletion> completion);
  void note_dropped(std::size_t messages, std::string_view why);

  enum class State { kIdle, kRunning, kStopped };

  // Declared before ioc_ and workers_: coroutine frames destroyed along with those still
  // reach the counters and the session registry.
  const SyslogConfig config_;
  const SyslogSink sink_;
  SyslogCounters counters_;
  std::shared_ptr<BatchTracker> tracker_;
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<std::size_t> udp_in_flight_bytes_{0};
  std::atomic<bool> stopping_{false};
  std::optional<std::uint16_t> udp_port_;
  std::optional<std::uint16_t> tcp_port_;
  std::optional<std::uint16_t> tls_port_;

  mutable std::mutex state_mutex_;
  std::condition_variable state_changed_;  // open_connections_ went down

  std::mutex sessions_mutex_;
  std::unordered_map<std::uint64_t, SessionEntry> sessions_;  // guarded by sessions_mutex_
  std::uint64_t next_session_id_ = 0;                         // guarded by sessions_mutex_
  bool sessions_closed_ = false;                              // guarded by sessions_mutex_

  mutable std::mutex tls_mutex_;
  std::shared_ptr<ssl::context> tls_;  // guarded by tls_mutex_; null without a TLS listener

  std::mutex drop_log_mutex_;
  Clock::time_point last_drop_log_{};   // guarded by drop_log_mutex_
  std::uint64_t unreported_drops_ = 0;  // guarded by drop_log_mutex_

  Clock::time_point last_udp_oversize_log_{};  // on the UDP socket's strand only

  std::promise<void> tcp_loop_done_;
  std::promise<void> tls_loop_done_;
  std::promise<void> udp_loop_done_;

  std::mutex stop_mutex_;
  State state_ = State::kIdle;  // guarded by stop_mutex_

  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::acceptor tcp_acceptor_;
  tcp::acceptor tls_acceptor_;
  udp::socket udp_socket_;
  asio::thread_pool workers_;
  std::vector<std::thread> io_threads_;
};

// ---- completions -----------------------------------------------------------------------

void BatchCompletion::finish(bool stored) {
  if (finished_.exchange(true)) return;
  std::lock_guard lock(tracker_->mutex);
  --tracker_->in_flight;
  tracker_->changed.notify_all();
  if (!tracker_->detached) tracker_->server->batch_done(stored, messages_, session_, bytes_);
}

void SyslogServerImpl::batch_done(bool stored, std::size_t messages, std::uint64_t session,
                                  std::size_t bytes) {
  if (!stored) note_dropped(messages, "not stored");
  if (session == 0) {
    udp_in_flight_bytes_ -= bytes;
    return;
  }
  std::lock_guard lock(sessions_mutex_);
  if (auto it = sessions_.find(session); it != sessions_.end()) {
    asio::post(it->second.executor, [this, session, bytes] { release_batch_slot(session, bytes); });
  }
}

// On the session's strand: the flow is alive exactly as long as the session is listed.
void SyslogServerImpl::release_batch_slot(std::uint64_t id, std::size_t bytes) {
  std::lock_guard lock(sessions_mutex_);
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    --it->second.flow->in_flight;
    it->second.flow->in_flight_bytes -= bytes;
    it->second.flow->wake.cancel();
  }
}

// Counted at once; logged at most every kDropLogInterval, with the count since the last line.
void SyslogServerImpl::note_dropped(std::size_t messages, std::string_view why) {
  counters_.dropped += messages;
  std::lock_guard lock(drop_log_mutex_);
  unreported_drops_ += messages;
  const auto now = Clock::now();
  if (last_drop_log_ != Clock::time_point{} && now - last_drop_log_ < kDropLogInterval) return;
  log(kLogWarning, std::to_string(unreported_drops_) +
                       " syslog messages dropped (latest: " + std::string(why) + "); " +
                       std::to_string(counters_.dropped.load()) + " in all");
  unreported_drops_ = 0;
  last_drop_log_ = now;
}

// ---- lifecycle -------------------------------------------------------------------------

Result<std::unique_ptr<SyslogServer>> SyslogServer::start(SyslogConfig config, SyslogSink sink) {
  if (!sink) return Error::invalid("SyslogServer needs a sink");
  auto server = std::make_unique<SyslogServerImpl>(std::move(config), std::move(sink));
  if (Status s = server->listen(); !s) return s.take_error();
  return std::unique_ptr<SyslogServer>(std::move(server));
}

Status SyslogServerImpl::check_config() const {
  if (config_.max_message_size == 0) return Error::invalid("max_message_size must be positive");
  if (config_.max_connections == 0) return Error::invalid("max_connections must be positive");
  if (config_.io_threads < 1 || config_.worker_threads < 1) {
    return Error::invalid("io_threads and worker_threads must be at least 1");
  }
  if (config_.tls_port && !config_.tls) {
    return Error::invalid("the syslog TLS listener needs a certificate and a private key");
  }
  if (!config_.udp_port && !config_.tcp_port && !config_.tls_port) {
    return Error::invalid("no syslog listener is configured (UDP, TCP and TLS all off)");
  }
  return ok_status();
}

Status SyslogServerImpl::listen() {
  if (Status s = check_config(); !s) return s;
  if (config_.tls_port) {
    auto tls = load_tls();
    if (!tls) return tls.take_error();
    tls_ = std::move(tls).value();
  }
  error_code ec;
  const auto address = asio::ip::make_address(config_.address, ec);
  if (ec) return Error::invalid("invalid syslog listen address '" + config_.address + "'");
  // Each loop's promise is set at once for a listener that is off, so stop() never waits.
  if (config_.udp_port) {
    auto port = open_udp(address, *config_.udp_port);
    if (!port) return port.take_error();
    udp_port_ = *port;
    asio::co_spawn(udp_socket_.get_executor(), udp_loop(), [this](std::exception_ptr e) {
      if (e) log(kLogErr, "syslog UDP receiver ended with an exception");
      udp_loop_done_.set_value();
    });
  } else {
    udp_loop_done_.set_value();
  }
  struct Listener {
    std::optional<std::uint16_t> wanted;
    tcp::acceptor& acceptor;
    std::optional<std::uint16_t>& bound;
    std::promise<void>& done;
    bool tls;
  };
  for (Listener l : {Listener{config_.tcp_port, tcp_acceptor_, tcp_port_, tcp_loop_done_, false},
                     Listener{config_.tls_port, tls_acceptor_, tls_port_, tls_loop_done_, true}}) {
    if (!l.wanted) {
      l.done.set_value();
      continue;
    }
    auto port = open_acceptor(l.acceptor, address, *l.wanted, l.tls ? kTls : kTcp);
    if (!port) return port.take_error();
    l.bound = *port;
    asio::co_spawn(l.acceptor.get_executor(), accept_loop(l.acceptor, l.tls),
                   [this, &done = l.done](std::exception_ptr e) {
                     if (e) log(kLogErr, "syslog acceptor ended with an exception");
                     done.set_value();
                   });
  }
  for (int i = 0; i < config_.io_threads; ++i) io_threads_.emplace_back([this] { run_io(); });
  {
    std::lock_guard lock(stop_mutex_);
    state_ = State::kRunning;
  }
  return ok_status();
}

Result<std::uint16_t> SyslogServerImpl::open_acceptor(tcp::acceptor& acceptor,
                                                      const asio::ip::address& address,
                                                      std::uint16_t port, std::string_view what) {
  const tcp::endpoint endpoint(address, port);
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  const std::uint16_t bound = ec ? 0 : acceptor.local_endpoint(ec).port();
  if (ec) {
    return Error::internal("cannot listen for syslog over " + std::string(what) + " on " +
                           config_.address + ":" + std::to_string(port) + ": " + ec.message());
  }
  std::string mode(what);
  if (what == kTls && !config_.tls->client_ca.empty()) mode += " (client certificates)";
  log(kLogInfo,
      "syslog listening on " + mode + " " + config_.address + ":" + std::to_string(bound));
  return bound;
}

Result<std::uint16_t> SyslogServerImpl::open_udp(const asio::ip::address& address,
                                                 std::uint16_t port) {
  const udp::endpoint endpoint(address, port);
  error_code ec;
  udp_socket_.open(endpoint.protocol(), ec);
  if (!ec) udp_socket_.bind(endpoint, ec);
  // Non-blocking for the synchronous receives that drain a burst; async ones are unaffected.
  if (!ec) udp_socket_.non_blocking(true, ec);
  const std::uint16_t bound = ec ? 0 : udp_socket_.local_endpoint(ec).port();
  if (ec) {
    return Error::internal("cannot receive syslog over udp on " + config_.address + ":" +
                           std::to_string(port) + ": " + ec.message());
  }
  size_udp_buffer();
  log(kLogInfo, "syslog listening on udp " + config_.address + ":" + std::to_string(bound));
  return bound;
}

// A burst of datagrams waits in the socket's receive buffer while the batch before it is
// handed over. SO_RCVBUFFORCE (root or CAP_NET_ADMIN) may exceed net.core.rmem_max; else
// SO_RCVBUF is capped there, and the operator is told how to raise it.
void SyslogServerImpl::size_udp_buffer() {
  const int fd = udp_socket_.native_handle();
  const int wanted = static_cast<int>(std::min<std::size_t>(config_.udp_receive_buffer, 1 << 30));
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) != 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);
  }
  int got = 0;
  socklen_t length = sizeof got;
  ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &length);
  got /= 2;  // Linux reports twice the size asked for (its bookkeeping overhead)
  if (got < wanted) {
    log(kLogWarning, "syslog UDP receive buffer is " + std::to_string(got) + " bytes, not " +
                         std::to_string(wanted) +
                         ": raise net.core.rmem_max (sysctl) so bursts are not lost");
  }
}

void SyslogServerImpl::run_io() {
  // Handlers report through as_tuple and completion callbacks; an exception escaping one is
  // a bug, logged, and must not take the io thread down with it.
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception&) {
      log(kLogErr, "unexpected exception on a syslog io thread");
    }
  }
}

template <class Predicate>
bool SyslogServerImpl::wait_for(std::chrono::milliseconds limit, Predicate done) {
  std::unique_lock lock(state_mutex_);
  return state_changed_.wait_for(lock, limit, done);
}

void SyslogServerImpl::stop(std::chrono::milliseconds drain) {
  std::lock_guard stop_lock(stop_mutex_);
  if (state_ != State::kRunning) return;
  if (ioc_.get_executor().running_in_this_thread() ||
      workers_.get_executor().running_in_this_thread()) {
    // Joining the io threads or the worker pool from one of them would deadlock.
    log(kLogErr, "SyslogServer::stop called from an io or worker thread; ignored");
    assert(false && "SyslogServer::stop called from an io or worker thread");
    return;
  }
  stopping_ = true;  // connections read no more and hand over what they have
  close_listener(tcp_acceptor_, tcp_loop_done_);
  close_listener(tls_acceptor_, tls_loop_done_);
  close_udp();
  close_all_sessions();
  // Closed connections hand over the frames they read before they unwind.
  if (!wait_for(kUnwindTimeout, [this] { return open_connections_.load() == 0; })) {
    log(kLogWarning, std::to_string(open_connections_.load()) +
                         " syslog connections did not unwind before the drain");
  }
  {
    std::unique_lock lock(tracker_->mutex);
    if (!tracker_->changed.wait_for(lock, drain, [this] { return tracker_->in_flight == 0; })) {
      log(kLogWarning, std::to_string(tracker_->in_flight) +
                           " syslog batches were still being stored when the drain ended");
    }
    tracker_->detached = true;  // from here on completions do not touch the server
  }
  workers_.join();  // batches not yet given to the sink are dropped (call_sink sees detached)
  work_.reset();
  ioc_.stop();
  for (auto& thread : io_threads_) thread.join();
  io_threads_.clear();
  state_ = State::kStopped;
  const SyslogCounters& c = counters_;
  log(kLogInfo, "syslog receivers stopped: " + std::to_string(c.messages.load()) + " messages (" +
                    std::to_string(c.bytes.load()) + " bytes) received, " +
                    std::to_string(c.dropped.load()) + " not stored, " +
                    std::to_string(c.oversize.load()) + " oversize, " +
                    std::to_string(c.malformed.load()) + " malformed, " +
                    std::to_string(c.truncated.load()) + " truncated");
}

// Waits for the accept loop to end, not just for the close: a connection the kernel handed
// over just before the close completes on the strand after it, and must be admitted (then
// closed with the others) or dropped before the io threads stop.
void SyslogServerImpl::close_listener(tcp::acceptor& acceptor, std::promise<void>& loop_done) {
  asio::post(acceptor.get_executor(), [&acceptor] {
    error_code ignored;
    acceptor.close(ignored);
  });
  loop_done.get_future().wait();
}

// The loop hands over the burst it has read before it sees the close.
void SyslogServerImpl::close_udp() {
  asio::post(udp_socket_.get_executor(), [this] {
    error_code ignored;
    udp_socket_.close(ignored);
  });
  udp_loop_done_.get_future().wait();
}

// ---- TLS -------------------------------------------------------------------------------

Result<std::shared_ptr<ssl::context>> SyslogServerImpl::load_tls() const {
  const SyslogTlsConfig& tls = *config_.tls;
  Result<http::TlsContextPtr> native =
      http::make_server_tls_context({tls.certificate_chain, tls.private_key, tls.client_ca});
  if (!native) return native.take_error();
  // asio's context takes ownership of the SSL_CTX.
  return std::make_shared<ssl::context>(native.value().release());
}

Status SyslogServerImpl::reload_tls() {
  if (!tls_port_) return ok_status();  // no TLS listener: nothing to reload
  auto tls = load_tls();
  if (!tls) {
    log(kLogErr,
        "syslog TLS reload failed, keeping the previous certificate: " + tls.error().message);
    return tls.take_error();
  }
  {
    std::lock_guard lock(tls_mutex_);
    tls_ = std::move(tls).value();  // connections in progress keep the old context alive
  }
  log(kLogInfo, "syslog TLS certificate reloaded");
  return ok_status();
}

// ---- accepting and the session registry ----------------------------------------------

asio::awaitable<void> SyslogServerImpl::accept_loop(tcp::acceptor& acceptor, bool tls) {
  asio::steady_timer backoff(acceptor.get_executor());
  while (acceptor.is_open()) {
    tcp::socket socket(asio::make_strand(ioc_));
    auto [ec] = co_await acceptor.async_accept(socket, kUseTuple);
    if (!acceptor.is_open() || ec == asio::error::operation_aborted) break;
    if (ec) {
      // Typically EMFILE: back off instead of spinning on an error that repeats at once.
      log(kLogWarning, "syslog accept failed: " + ec.message());
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    admit(std::move(socket), tls);
  }
}

void SyslogServerImpl::admit(tcp::socket socket, bool tls) {
  std::string remote = endpoint_address(socket);
  if (open_connections_.load() >= config_.max_connections) {
    ++counters_.connections_rejected;
    error_code ignored;
    socket.close(ignored);
    log(kLogWarning, "syslog connection from " + remote + " rejected: max_connections (" +
                         std::to_string(config_.max_connections) + ") reached");
    return;
  }
  ++open_connections_;
  ++counters_.connections_accepted;
  ConnectionSlot slot(this);
  const auto executor = socket.get_executor();
  if (tls) {
    asio::co_spawn(executor,
                   run_tls(std::move(socket), current_tls(), std::move(slot), std::move(remote)),
                   report_failure("syslog TLS connection"));
  } else {
    asio::co_spawn(executor, run_plain(std::move(socket), std::move(slot), std::move(remote)),
                   report_failure("syslog TCP connection"));
  }
}

void SyslogServerImpl::release_connection() {
  std::lock_guard lock(state_mutex_);
  --open_connections_;
  state_changed_.notify_all();
}

SyslogServerImpl::SessionRegistration SyslogServerImpl::register_session(beast::tcp_stream& stream,
                                                                         ConnectionFlow& flow) {
  std::lock_guard lock(sessions_mutex_);
  if (sessions_closed_) return {this, 0};  // accepted just as stop() swept the sessions
  const std::uint64_t id = ++next_session_id_;
  sessions_.emplace(id, SessionEntry{stream.get_executor(), &stream, &flow});
  return {this, id};
}

void SyslogServerImpl::unregister_session(std::uint64_t id) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.erase(id);
}

// Runs on the session's strand, so the session cannot be between lookup and close.
void SyslogServerImpl::close_session(std::uint64_t id) {
  std::lock_guard lock(sessions_mutex_);
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    it->second.stream->close();
    it->second.flow->wake.cancel();  // a connection waiting for a batch slot sees the stop
  }
}

void SyslogServerImpl::close_all_sessions() {
  std::lock_guard lock(sessions_mutex_);
  sessions_closed_ = true;
  for (const auto& [id, entry] : sessions_) {
    asio::post(entry.executor, [this, session = id] { close_session(session); });
  }
}

// ---- one connection --------------------------------------------------------------------

asio::awaitable<void> SyslogServerImpl::run_plain(tcp::socket socket,
                                                  [[maybe_unused]] ConnectionSlot slot,
                                                  std::string remote) {
  beast::tcp_stream stream(std::move(socket));
  ConnectionFlow flow(stream.get_executor());
  const SessionRegistration registration = register_session(stream, flow);
  if (registration.id() == 0) co_return;
  const Peer peer{std::move(remote), kTcp, registration.id()};
  log(kLogDebug, "syslog TCP connection from " + peer.address);
  co_await serve(stream, flow, peer);
}

asio::awaitable<void> SyslogServerImpl::run_tls(tcp::socket socket,
                                                std::shared_ptr<ssl::context> tls,
                                                [[maybe_unused]] ConnectionSlot slot,
                                                std::string remote) {
  TlsStream stream(std::move(socket), *tls);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  ConnectionFlow flow(tcp_layer.get_executor());
  const SessionRegistration registration = register_session(tcp_layer, flow);
  if (registration.id() == 0) co_return;
  tcp_layer.expires_after(config_.handshake_timeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
  if (ec == asio::error::operation_aborted) co_return;  // closed by stop(), not a failure
  if (ec) {
    // Worth an operator's attention: typically a sender without (or with the wrong) client
    // certificate, one that does not trust ours, or plain syslog sent to the TLS port.
    ++counters_.tls_handshake_failures;
    log(kLogInfo, "syslog TLS handshake with " + remote + " failed: " + ec.message());
    co_return;
  }
  const Peer peer{std::move(remote), kTls, registration.id()};
  const std::string subject = http::verified_peer_subject(stream.native_handle());
  log(kLogDebug,
      "syslog TLS connection from " + peer.address + (subject.empty() ? "" : " as " + subject));
  const Ending ending = co_await serve(stream, flow, peer);
  if (ending == Ending::kClose) {
    tcp_layer.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kUseTuple);
  }
}

// Waits until the connection may hand over another batch. False: the server is stopping.
asio::awaitable<bool> SyslogServerImpl::wait_for_batch_slot(ConnectionFlow& flow) {
  while ((flow.in_flight >= kBatchesInFlightPerConnection ||
          flow.in_flight_bytes >= kBytesInFlightPerConnection) &&
         !stopping_.load()) {
    flow.wake.expires_at(Clock::time_point::max());
    co_await flow.wake.async_wait(kUseTuple);  // ends when cancelled by a completion or stop
  }
  co_return !stopping_.load();
}

// Whether more of the stream can be read at once: decrypted bytes the TLS layer holds, or
// bytes waiting in the socket.
template <class Stream>
bool more_waiting(Stream& stream) {
  error_code ec;
  if constexpr (requires { ::SSL_pending(stream.native_handle()); }) {
    if (::SSL_pending(stream.native_handle()) > 0) return true;
  }
  return beast::get_lowest_layer(stream).socket().available(ec) > 0 && !ec;
}

// Reads frames until the peer leaves, the idle deadline passes, a frame start is malformed or
// the server stops. What can be read at once (up to kBatchReadLimit bytes) goes to the sink
// as one batch, so a busy sender's messages reach audit.db in large commits (a TLS read
// returns one 16 KiB record: five audit messages); with kBatchesInFlightPerConnection
// batches outstanding the connection is not read.
template <class Stream>
asio::awaitable<Ending> SyslogServerImpl::serve(Stream& stream, ConnectionFlow& flow,
                                                const Peer& peer) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  SyslogFramer framer(config_.max_message_size);
  std::vector<char> chunk(kReadChunk);
  bool oversize_logged = false;
  for (;;) {
    const bool may_read = co_await wait_for_batch_slot(flow);
    if (!may_read) co_return Ending::kClose;
    SyslogBatch batch = new_batch(peer.transport);
    std::size_t read = 0;
    bool malformed = false;
    do {
      tcp_layer.expires_after(config_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(chunk), kUseTuple);
      if (ec) {
        note_read_end(ec, peer);
        const bool peer_closed = ec == asio::error::eof || ec == ssl::error::stream_truncated;
        finish_stream(framer, batch, flow, peer, peer_closed);
        co_return Ending::kDone;
      }
      read += n;
      std::string_view input(chunk.data(), n);
      while (std::optional<SyslogFrameEvent> event = framer.extract(&input)) {
        malformed = !take_event(*event, batch, peer, oversize_logged);
        if (malformed) break;
      }
    } while (!malformed && read < kBatchReadLimit && more_waiting(stream));
    submit_tcp(std::move(batch), flow, peer.session);
    if (malformed || stopping_.load()) co_return Ending::kClose;
  }
}

// Adds a complete frame to the batch, or counts and logs a bad one. False: malformed, the
// connection must close.
bool SyslogServerImpl::take_event(SyslogFrameEvent& event, SyslogBatch& batch, const Peer& peer,
                                  bool& oversize_logged) {
  switch (event.kind) {
    case SyslogFrameEvent::Kind::kMessage:
      batch.messages.push_back({std::move(event.message), peer.address});
      return true;
    case SyslogFrameEvent::Kind::kOversize:
      ++counters_.oversize;
      // The first of a connection is logged; a sender that keeps doing it is only counted.
      if (!oversize_logged) {
        log(kLogWarning, "syslog message from " + peer.address + " over " +
                             std::string(peer.transport) + " dropped: over " +
                             std::to_string(config_.max_message_size) +
                             " bytes (further ones on this connection only counted)");
        oversize_logged = true;
      }
      return true;
    case SyslogFrameEvent::Kind::kMalformed:
      ++counters_.malformed;
      log(kLogWarning,
          "syslog connection from " + peer.address + " closed: " + std::string(event.problem));
      return false;
  }
  return true;
}

// The connection ended. When the peer closed it, a newline-framed message still waiting for
// its LF is complete (RFC 6587 §3.4.2); any other unfinished frame — octet-counted, or cut
// by a reset, a timeout or stop() — is counted as truncated and dropped.
void SyslogServerImpl::finish_stream(SyslogFramer& framer, SyslogBatch& batch, ConnectionFlow& flow,
                                     const Peer& peer, bool peer_closed) {
  const std::uint64_t truncated_before = framer.stats().truncated_frames;
  bool truncated = framer.in_frame() && !peer_closed;
  if (peer_closed) {
    if (std::optional<SyslogFrameEvent> last = framer.finish()) {
      bool ignored = true;
      take_event(*last, batch, peer, ignored);
    }
    truncated = framer.stats().truncated_frames > truncated_before;
  }
  if (truncated) {
    ++counters_.truncated;
    log(kLogInfo,
        "syslog connection from " + peer.address + " ended in the middle of a message (dropped)");
  }
  submit_tcp(std::move(batch), flow, peer.session);
}

void SyslogServerImpl::note_read_end(const error_code& ec, const Peer& peer) {
  if (ec == beast::error::timeout) {
    ++counters_.idle_timeouts;
    log(kLogDebug, "syslog connection from " + peer.address + " closed after idle_timeout");
    return;
  }
  if (ec != asio::error::eof && ec != ssl::error::stream_truncated &&
      ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
    log(kLogInfo, "syslog connection from " + peer.address + " ended: " + ec.message());
  }
}

// ---- UDP -------------------------------------------------------------------------------

// One datagram, then whatever else is already queued (up to a burst), as one batch. This
// loop is what empties the socket's buffer during a burst, so it does little per datagram:
// one copy, and the sender's address as text only when the sender changes.
asio::awaitable<void> SyslogServerImpl::udp_loop() {
  std::vector<char> buffer(config_.max_message_size + kUdpSlack);
  udp::endpoint from;
  udp::endpoint named;  // whose address `peer` holds
  std::string peer;
  auto peer_of = [&]() -> const std::string& {
    if (peer.empty() || from != named) {
      named = from;
      peer = from.address().to_string();
    }
    return peer;
  };
  while (udp_socket_.is_open()) {
    auto [ec, n] = co_await udp_socket_.async_receive_from(asio::buffer(buffer), from, kUseTuple);
    if (!udp_socket_.is_open() || ec == asio::error::operation_aborted) break;
    if (ec) {
      log(kLogWarning, "syslog UDP receive failed: " + ec.message());
      continue;
    }
    SyslogBatch batch = new_batch(kUdp);
    std::size_t bytes = n;
    take_datagram(batch, std::string_view(buffer.data(), n), peer_of());
    while (batch.messages.size() < kUdpBurstMessages && bytes < kUdpBurstBytes) {
      const std::size_t more = udp_socket_.receive_from(asio::buffer(buffer), from, 0, ec);
      if (ec) break;  // would_block: nothing more queued
      bytes += more;
      take_datagram(batch, std::string_view(buffer.data(), more), peer_of());
    }
    submit_udp(std::move(batch));
  }
}

void SyslogServerImpl::take_datagram(SyslogBatch& batch, std::string_view datagram,
                                     const std::string& peer) {
  Result<std::string_view> message = datagram_message(datagram, config_.max_message_size);
  if (message) {
    batch.messages.push_back({std::string(*message), peer});
    return;
  }
  if (message.error().kind == ErrorKind::kTooLarge) {
    ++counters_.oversize;
    // A sender that keeps doing it would flood the log: one line per interval.
    const auto now = Clock::now();
    if (last_udp_oversize_log_ == Clock::time_point{} ||
        now - last_udp_oversize_log_ >= kDropLogInterval) {
      last_udp_oversize_log_ = now;
      log(kLogWarning, "syslog datagram from " + peer + " dropped: over " +
                           std::to_string(config_.max_message_size) +
                           " bytes (further ones for a while only counted)");
    }
  } else {
    ++counters_.malformed;  // empty: nothing to keep, nothing worth a log line
  }
}

void SyslogServerImpl::submit_udp(SyslogBatch batch) {
  if (batch.messages.empty()) return;
  const std::size_t bytes = std::max<std::size_t>(1, batch_bytes(batch));
  if (udp_in_flight_bytes_.load() + bytes > config_.max_udp_in_flight_bytes) {
    counters_.messages += batch.messages.size();
    counters_.bytes += batch_bytes(batch);
    note_dropped(batch.messages.size(), "UDP queue full: the store is behind");
    return;
  }
  udp_in_flight_bytes_ += bytes;
  submit(std::move(batch), 0, bytes);
}

// ---- handing batches to the sink -------------------------------------------------------

void SyslogServerImpl::submit_tcp(SyslogBatch batch, ConnectionFlow& flow, std::uint64_t session) {
  if (batch.messages.empty()) return;
  const std::size_t bytes = std::max<std::size_t>(1, batch_bytes(batch));
  ++flow.in_flight;
  flow.in_flight_bytes += bytes;
  submit(std::move(batch), session, bytes);
}

void SyslogServerImpl::submit(SyslogBatch batch, std::uint64_t session, std::size_t bytes) {
  counters_.messages += batch.messages.size();
  counters_.bytes += batch_bytes(batch);
  {
    std::lock_guard lock(tracker_->mutex);
    ++tracker_->in_flight;
  }
  auto completion =
      std::make_shared<BatchCompletion>(tracker_, batch.messages.size(), session, bytes);
  asio::post(workers_,
             [this, batch = std::move(batch), completion = std::move(completion)]() mutable {
               call_sink(std::move(batch), std::move(completion));
             });
}

void SyslogServerImpl::call_sink(SyslogBatch batch, std::shared_ptr<BatchCompletion> completion) {
  if (completion->detached()) return;  // stopped: dropped (the completion does nothing)
  const SyslogBatchDone done = [completion = std::move(completion)](bool stored) {
    completion->finish(stored);
  };
  try {
    sink_(std::move(batch), done);
  } catch (...) {
    // The exception's text is not logged: it may quote the message.
    log(kLogErr, "syslog sink failed on a batch; its messages are counted as dropped");
    done(false);  // nothing when the sink already finished it
  }
}

}  // namespace cg::atna
