#pragma once
// post_form: one HTTP(S) POST of an application/x-www-form-urlencoded body, and its answer
// — what the gateway needs to ask another OAuth server for a token (bridged logins,
// gateway/security/upstream_login.hpp); post_body: the same for any body (the audit
// forwarder's batch Bundle to an upstream FHIR server). Deliberately small: one request per
// connection (Connection: close), no redirects, no cookies, no proxies.
//
// Bounded in every direction: the whole exchange (name lookup, connect, TLS handshake,
// request, answer) must finish within `timeout`, the answer's header within 8 KiB and its
// body within `max_response_bytes`. With https the server's certificate must chain to the
// system's CAs (or to `tls_ca`'s) and name the URL's host (DNS name or IP address), over
// TLS 1.2 or later; with a client certificate and key the client presents them when the
// server asks (mutual TLS).
//
// Thread-safety: post_form blocks the calling thread (each call runs its own small event
// loop); call it from worker threads, never from an I/O thread. Concurrent calls share
// nothing.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/http/http_url.hpp"

namespace cg::http {

struct FormPost {
  HttpUrl url;
  std::vector<std::pair<std::string, std::string>> fields;  // encoded with form_encode()
  std::string authorization;  // the Authorization header's value; "" sends none
  std::chrono::milliseconds timeout{3000};
  std::size_t max_response_bytes = 64 * 1024;
  std::optional<std::filesystem::path> tls_ca;  // PEM file; unset: the system's CAs
};

// Any body: what post_form sends, in general.
struct BodyPost {
  HttpUrl url;
  std::string content_type;  // of `body`
  std::string body;
  std::string accept = "application/json";
  std::string authorization;  // the Authorization header's value; "" sends none
  std::chrono::milliseconds timeout{3000};
  std::size_t max_response_bytes = 64 * 1024;
  std::optional<std::filesystem::path> tls_ca;              // PEM file; unset: the system's CAs
  std::optional<std::filesystem::path> client_certificate;  // PEM chain, with client_key
  std::optional<std::filesystem::path> client_key;
  std::stop_token stop;  // a stop request ends the exchange early (kUnavailable)
};

struct FormAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// The answer, whatever its status. Errors (no answer to judge): kUnavailable when the host
// cannot be resolved or reached, the TLS handshake or certificate check fails, the exchange
// times out or the connection ends early; kTooLarge for an answer over the limits; kInvalid
// for an answer that is not HTTP/1.x; kInternal when `tls_ca` cannot be loaded. Messages
// name the host and the cause, never a field's value.
Result<FormAnswer> post_form(const FormPost& post);
// The same answers and errors; kInternal also when the client certificate or key cannot be
// loaded.
Result<FormAnswer> post_body(const BodyPost& post);

}  // namespace cg::http
