// The Beast/Asio side of post_form (form_client.hpp). Each call runs a private io_context
// on the calling thread: the coroutine below resolves, connects, handshakes, writes and
// reads under one deadline (the stream's expiry), and run_until() is the backstop for the
// name lookup, which the stream's timer does not cover.

#include "protocols/http/form_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "protocols/http/percent_encoding.hpp"
#include "protocols/http/tls_context.hpp"

namespace cg::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kHeaderLimit = 8 * 1024;

std::string form_body(const FormPost& post) {
  std::string body;
  for (const auto& [name, value] : post.fields) {
    if (!body.empty()) body += '&';
    body += form_encode(name) + '=' + form_encode(value);
  }
  return body;
}

bhttp::request<bhttp::string_body> make_request(const BodyPost& post) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, post.url.target, 11};
  req.set(bhttp::field::host, host_header(post.url));
  req.set(bhttp::field::user_agent, "clinic-gateway");
  req.set(bhttp::field::content_type, post.content_type);
  req.set(bhttp::field::accept, post.accept);
  req.set(bhttp::field::connection, "close");
  if (!post.authorization.empty()) req.set(bhttp::field::authorization, post.authorization);
  req.body() = post.body;
  req.prepare_payload();
  return req;
}

std::string where(const BodyPost& post) {
  return (post.url.tls ? "https://" : "http://") + host_header(post.url);
}

Error transport_error(const BodyPost& post, std::string_view step, const error_code& ec) {
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return Error::unavailable(where(post) + ": no answer within " +
                              std::to_string(post.timeout.count()) + " ms");
  }
  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
    return Error::too_large(where(post) + ": the answer is larger than " +
                            std::to_string(post.max_response_bytes) + " bytes");
  }
  const bool http_syntax = ec.category() == error_code(bhttp::error::bad_version).category() &&
                           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
  if (http_syntax) {
    return Error::invalid(where(post) + ": the answer is not HTTP/1.x (" + ec.message() + ")");
  }
  return Error::unavailable(where(post) + ": " + std::string(step) + " failed: " + ec.message());
}

Result<ssl::context> client_context(const BodyPost& post) {
  ClientTlsConfig tls;
  tls.ca_file = post.tls_ca;
  tls.certificate_chain = post.client_certificate;
  tls.private_key = post.client_key;
  auto made = make_client_tls_context(tls);
  // The caller's settings are at fault, not the server: kInternal, as documented.
  if (!made) return Error::internal(made.error().message);
  return ssl::context(made->release());  // takes ownership
}

// Connects `stream`'s lowest layer to one of the host's addresses.
template <class Stream>
asio::awaitable<error_code> connect(Stream& stream, const HttpUrl& url) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [resolve_ec, endpoints] =
      co_await resolver.async_resolve(url.host, std::to_string(url.port), kUseTuple);
  if (resolve_ec) co_return resolve_ec;
  auto [ec, endpoint] =
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, kUseTuple);
  (void)endpoint;
  co_return ec;
}

// Writes the request and reads the answer on a connected (and, for TLS, handshaken) stream.
template <class Stream>
asio::awaitable<void> exchange(Stream& stream, const BodyPost& post,
                               std::optional<Result<FormAnswer>>& outcome) {
  auto request = make_request(post);
  auto [write_ec, written] = co_await bhttp::async_write(stream, request, kUseTuple);
  (void)written;
  if (write_ec) {
    outcome = transport_error(post, "sending the request", write_ec);
    co_return;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(post.max_response_bytes);
  auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
  (void)read;
  if (read_ec) {
    outcome = transport_error(post, "reading the answer", read_ec);
    co_return;
  }
  const auto& response = parser.get();
  outcome = FormAnswer{static_cast<int>(response.result_int()),
                       std::string(response[bhttp::field::content_type]), response.body()};
}

asio::awaitable<void> post_plain(const BodyPost& post, Clock::time_point deadline,
                                 std::optional<Result<FormAnswer>>& outcome) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_at(deadline);
  if (auto ec = co_await connect(stream, post.url)) {
    outcome = transport_error(post, "connecting", ec);
    co_return;
  }
  co_await exchange(stream, post, outcome);
}

asio::awaitable<void> post_tls(const BodyPost& post, ssl::context& ctx, Clock::time_point deadline,
                               std::optional<Result<FormAnswer>>& outcome) {
  beast::ssl_stream<beast::tcp_stream> stream(co_await asio::this_coro::executor, ctx);
  if (!expect_server_name(stream.native_handle(), post.url.host)) {
    outcome = Error::internal("cannot set the expected TLS host name");
    co_return;
  }
  beast::get_lowest_layer(stream).expires_at(deadline);
  if (auto ec = co_await connect(stream, post.url)) {
    outcome = transport_error(post, "connecting", ec);
    co_return;
  }
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
  if (ec) {
    outcome = transport_error(post, "the TLS handshake", ec);
    co_return;
  }
  co_await exchange(stream, post, outcome);
  // No TLS close_notify exchange: the answer is complete (Content-Length or chunked), and
  // waiting for the server's close_notify would only spend the deadline.
}

}  // namespace

Result<FormAnswer> post_form(const FormPost& form) {
  BodyPost post;
  post.url = form.url;
  post.content_type = "application/x-www-form-urlencoded";
  post.body = form_body(form);
  post.authorization = form.authorization;
  post.timeout = form.timeout;
  post.max_response_bytes = form.max_response_bytes;
  post.tls_ca = form.tls_ca;
  return post_body(post);
}

Result<FormAnswer> post_body(const BodyPost& post) {
  const Clock::time_point deadline = Clock::now() + post.timeout;
  // Declared before the io_context: an unfinished coroutine is destroyed with it, and may
  // still hold a stream made from ctx.
  std::optional<Result<FormAnswer>> outcome;
  std::optional<ssl::context> ctx;
  if (post.url.tls) {
    auto made = client_context(post);
    if (!made) return made.take_error();
    ctx.emplace(std::move(*made));
  }
  asio::io_context ioc(1);
  auto task =
      post.url.tls ? post_tls(post, *ctx, deadline, outcome) : post_plain(post, deadline, outcome);
  asio::co_spawn(ioc, std::move(task), [&outcome](std::exception_ptr failure) {
    if (failure && !outcome) outcome = Error::internal("the POST failed unexpectedly");
  });
  // The stream's expiry ends connect, handshake and I/O at the deadline; a name lookup is
  // not covered by it, so the loop itself stops shortly after.
  // Looked at every 50 ms: a stop request (the gateway stopping) ends the wait early.
  const auto backstop = deadline + std::chrono::milliseconds(100);
  while (!ioc.stopped() && Clock::now() < backstop && !post.stop.stop_requested()) {
    ioc.run_until(std::min(backstop, Clock::now() + std::chrono::milliseconds(50)));
  }
  if (!outcome && post.stop.stop_requested()) {
    return Error::unavailable(where(post) + ": stopped (the gateway is stopping)");
  }
  if (!outcome) {
    return Error::unavailable(where(post) + ": no answer within " +
                              std::to_string(post.timeout.count()) + " ms");
  }
  return std::move(*outcome);
}

}  // namespace cg::http
