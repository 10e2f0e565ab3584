// The Beast/Asio side of post_form (form_client.hpp). Each call runs a private io_context
// on the calling thread: the coroutine below resolves, connects, handshakes, writes and
// reads under one deadline (the stream's expiry), and run_until() is the backstop for the
// name lookup, which the stream's timer does not cover.

#include "protocols/http/form_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
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

bhttp::request<bhttp::string_body> make_request(const FormPost& post) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, post.url.target, 11};
  req.set(bhttp::field::host, host_header(post.url));
  req.set(bhttp::field::user_agent, "clinic-gateway");
  req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
  req.set(bhttp::field::accept, "application/json");
  req.set(bhttp::field::connection, "close");
  if (!post.authorization.empty()) req.set(bhttp::field::authorization, post.authorization);
  req.body() = form_body(post);
  req.prepare_payload();
  return req;
}

std::string where(const FormPost& post) {
  return (post.url.tls ? "https://" : "http://") + host_header(post.url);
}

Error transport_error(const FormPost& post, std::string_view step, const error_code& ec) {
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

// Checks the certificate's host name (or IP address) against the URL's and sends SNI.
bool expect_host(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  error_code ec;
  asio::ip::make_address(host, ec);
  if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1 &&
         SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}

Result<ssl::context> client_context(const FormPost& post) {
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (post.tls_ca) {
    ctx.load_verify_file(post.tls_ca->string(), ec);
  } else {
    ctx.set_default_verify_paths(ec);
  }
  if (ec) return Error::internal("cannot load the CA certificates: " + ec.message());
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
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
asio::awaitable<void> exchange(Stream& stream, const FormPost& post,
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

asio::awaitable<void> post_plain(const FormPost& post, Clock::time_point deadline,
                                 std::optional<Result<FormAnswer>>& outcome) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_at(deadline);
  if (auto ec = co_await connect(stream, post.url)) {
    outcome = transport_error(post, "connecting", ec);
    co_return;
  }
  co_await exchange(stream, post, outcome);
}

asio::awaitable<void> post_tls(const FormPost& post, ssl::context& ctx, Clock::time_point deadline,
                               std::optional<Result<FormAnswer>>& outcome) {
  beast::ssl_stream<beast::tcp_stream> stream(co_await asio::this_coro::executor, ctx);
  if (!expect_host(stream.native_handle(), post.url.host)) {
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

Result<FormAnswer> post_form(const FormPost& post) {
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
    if (failure && !outcome) outcome = Error::internal("the form POST failed unexpectedly");
  });
  // The stream's expiry ends connect, handshake and I/O at the deadline; a name lookup is
  // not covered by it, so the loop itself stops shortly after.
  ioc.run_until(deadline + std::chrono::milliseconds(100));
  if (!outcome) {
    return Error::unavailable(where(post) + ": no answer within " +
                              std::to_string(post.timeout.count()) + " ms");
  }
  return std::move(*outcome);
}

}  // namespace cg::http
