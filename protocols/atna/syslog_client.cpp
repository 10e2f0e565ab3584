// The Asio side of send_syslog_batch (syslog_client.hpp): a private io_context per call on
// the calling thread, one coroutine that resolves, connects, handshakes, writes and closes
// under one deadline (the stream's expiry), and run_until() as the backstop for the name
// lookup, which the stream's timer does not cover.

#include "protocols/atna/syslog_client.hpp"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <vector>

#include "protocols/atna/syslog_framer.hpp"
#include "protocols/http/tls_context.hpp"

namespace cg::atna {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

Error failure(const SyslogClientConfig& config, std::string_view step, const error_code& ec) {
  const std::string where = to_url(config.destination);
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return Error::unavailable(where + ": " + std::string(step) + " did not finish within " +
                              std::to_string(config.timeout.count()) + " ms");
  }
  return Error::unavailable(where + ": " + std::string(step) + " failed: " + ec.message());
}

// The frames, and the buffers that point into them (one gathered write per batch).
struct Frames {
  std::vector<std::string> frames;
  std::vector<asio::const_buffer> buffers;
  explicit Frames(std::span<const std::string> messages) {
    frames.reserve(messages.size());
    for (const std::string& m : messages) frames.push_back(octet_frame(m));
    for (const std::string& f : frames) buffers.emplace_back(f.data(), f.size());
  }
};

template <class Stream>
asio::awaitable<error_code> connect(Stream& stream, const SyslogDestination& destination) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(
      destination.host, std::to_string(destination.port), kUseTuple);
  if (resolve_ec) co_return resolve_ec;
  auto [ec, endpoint] =
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, kUseTuple);
  (void)endpoint;
  co_return ec;
}

// Fatal alerts the receiver sent on one connection. OpenSSL counts a fatal alert as the
// peer's shutdown (SSL_RECEIVED_SHUTDOWN), so SSL_shutdown "succeeds" after the receiver
// refused us — say, our client certificate, which TLS 1.3 judges after the client's side of
// the handshake has finished. The info callback is how the refusal is told apart.
struct AlertWatch {
  int fatal_alert = -1;  // the alert's description, -1 for none
};

int alert_watch_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void on_ssl_info(const SSL* ssl, int where, int value) {
  if ((where & SSL_CB_READ_ALERT) == 0 || std::string_view(SSL_alert_type_string(value)) != "F") {
    return;
  }
  if (auto* watch = static_cast<AlertWatch*>(SSL_get_ex_data(ssl, alert_watch_index()))) {
    watch->fatal_alert = value & 0xff;
  }
}

// Watches `ssl` for fatal alerts into `watch`, which must outlive the connection.
bool watch_alerts(SSL* ssl, AlertWatch& watch) {
  if (alert_watch_index() < 0 || SSL_set_ex_data(ssl, alert_watch_index(), &watch) != 1) {
    return false;
  }
  SSL_set_info_callback(ssl, &on_ssl_info);
  return true;
}

// How a TLS close ends well: the receiver's close_notify (no error), or its FIN right after
// ours (eof / stream_truncated: some receivers close TCP without close_notify). A reset or
// an alert is an error.
bool closed_in_order(const error_code& ec) {
  return !ec || ec == asio::error::eof || ec == ssl::error::stream_truncated;
}

// The exchanges return their outcome as a value: co_spawn would need a default-constructible
// result type, which Status is not; the wrapper below stores it.
asio::awaitable<Status> send_tls(const SyslogClientConfig& config, ssl::context& ctx,
                                 const Frames& frames, Clock::time_point deadline) {
  AlertWatch alerts;  // before the stream: the SSL object points at it
  beast::ssl_stream<beast::tcp_stream> stream(co_await asio::this_coro::executor, ctx);
  if (!http::expect_server_name(stream.native_handle(), config.destination.host) ||
      !watch_alerts(stream.native_handle(), alerts)) {
    co_return Error::internal("cannot configure the TLS connection");
  }
  beast::get_lowest_layer(stream).expires_at(deadline);
  if (auto ec = co_await connect(stream, config.destination)) {
    co_return failure(config, "connecting", ec);
  }
  auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
  if (handshake_ec) co_return failure(config, "the TLS handshake", handshake_ec);
  auto [write_ec, written] = co_await asio::async_write(stream, frames.buffers, kUseTuple);
  (void)written;
  if (write_ec) co_return failure(config, "writing", write_ec);
  auto [close_ec] = co_await stream.async_shutdown(kUseTuple);
  if (!closed_in_order(close_ec)) co_return failure(config, "closing the TLS session", close_ec);
  if (alerts.fatal_alert >= 0) {
    co_return Error::unavailable(to_url(config.destination) + ": the receiver ended the TLS " +
                                 "session with the alert '" +
                                 SSL_alert_desc_string_long(alerts.fatal_alert) + "'");
  }
  co_return ok_status();
}

asio::awaitable<Status> send_plain(const SyslogClientConfig& config, const Frames& frames,
                                   Clock::time_point deadline) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_at(deadline);
  if (auto ec = co_await connect(stream, config.destination)) {
    co_return failure(config, "connecting", ec);
  }
  auto [write_ec, written] = co_await asio::async_write(stream, frames.buffers, kUseTuple);
  (void)written;
  if (write_ec) co_return failure(config, "writing", write_ec);
  error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return failure(config, "closing", ec);
  // Wait for the receiver's FIN; anything it says meanwhile is not ours to read.
  std::array<char, 512> discard{};
  for (;;) {
    auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(discard), kUseTuple);
    (void)n;
    if (read_ec == asio::error::eof) co_return ok_status();
    if (read_ec) co_return failure(config, "closing", read_ec);
  }
}

Result<std::optional<ssl::context>> tls_context(const SyslogClientConfig& config) {
  if (!config.destination.tls) return std::optional<ssl::context>();
  http::ClientTlsConfig tls;
  tls.ca_file = config.tls_ca;
  tls.certificate_chain = config.client_certificate;
  tls.private_key = config.client_key;
  auto made = http::make_client_tls_context(tls);
  if (!made) return Error::internal(made.error().message);
  return std::optional<ssl::context>(ssl::context(made->release()));  // takes ownership
}

asio::awaitable<void> store_outcome(const SyslogClientConfig& config,
                                    std::optional<ssl::context>& ctx, const Frames& frames,
                                    Clock::time_point deadline, std::optional<Status>& outcome) {
  if (ctx) {
    auto sent = co_await send_tls(config, *ctx, frames, deadline);
    outcome = std::move(sent);
  } else {
    auto sent = co_await send_plain(config, frames, deadline);
    outcome = std::move(sent);
  }
}

// Runs `ioc` until its work is done or `deadline`, looking at `stop` every 50 ms.
void run_until_done(asio::io_context& ioc, Clock::time_point deadline,
                    const std::stop_token& stop) {
  constexpr auto kStopCheck = std::chrono::milliseconds(50);
  while (!ioc.stopped() && Clock::now() < deadline && !stop.stop_requested()) {
    ioc.run_until(std::min(deadline, Clock::now() + kStopCheck));
  }
}

}  // namespace

Status send_syslog_batch(const SyslogClientConfig& config, std::span<const std::string> messages) {
  if (messages.empty()) return ok_status();
  const Clock::time_point deadline = Clock::now() + config.timeout;
  // Declared before the io_context: an unfinished coroutine is destroyed with it and may
  // still hold a stream made from the context, and point at the frames.
  auto ctx = tls_context(config);
  if (!ctx) return ctx.take_error();
  const Frames frames(messages);
  std::optional<Status> outcome;
  asio::io_context ioc(1);
  asio::co_spawn(ioc, store_outcome(config, *ctx, frames, deadline, outcome),
                 [&outcome](std::exception_ptr failed) {
                   if (failed && !outcome) {
                     outcome = Error::internal("the syslog send failed unexpectedly");
                   }
                 });
  run_until_done(ioc, deadline + std::chrono::milliseconds(100), config.stop);
  if (config.stop.stop_requested() && !outcome) {
    return Error::unavailable(to_url(config.destination) + ": stopped (the gateway is stopping)");
  }
  if (!outcome) {
    return Error::unavailable(to_url(config.destination) + ": no end of the exchange within " +
                              std::to_string(config.timeout.count()) + " ms");
  }
  return std::move(*outcome);
}

}  // namespace cg::atna
