#pragma once
// Blocking MLLP test client: the HTTP tests' socket client (plain or TLS, optionally with a
// client certificate) plus an MllpFramer for the answers, so tests speak the real wire
// without compiling Asio a second time. Every read is bounded by a deadline. One per thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/hl7v2/mllp_framer.hpp"
#include "tests/http/test_client.hpp"

namespace cg::hl7v2::testing {

using namespace std::chrono_literals;

class MllpTestClient {
 public:
  explicit MllpTestClient(std::uint16_t port, bool tls = false,
                          const http::testing::CertificateFiles* client_certificate = nullptr)
      : client_(port, tls, client_certificate) {}

  bool ok() const { return client_.ok(); }
  // Raw bytes, for split, coalesced and broken frames.
  bool send(std::string_view bytes) { return client_.send(bytes); }
  bool send_message(std::string_view payload) { return send(mllp_frame(payload)); }

  // The payload of the next framed answer within `timeout`; nullopt on close or timeout.
  std::optional<std::string> read_answer(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::string_view input = pending_;
      std::optional<MllpEvent> event = framer_.extract(&input);
      pending_.erase(0, pending_.size() - input.size());
      if (event && event->kind == MllpEvent::Kind::kMessage) return std::move(event->payload);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return std::nullopt;
      std::string more = client_.read_some(left);
      if (more.empty()) return std::nullopt;
      pending_ += more;
    }
  }

  std::optional<std::string> exchange(std::string_view payload,
                                      std::chrono::milliseconds timeout = 5s) {
    if (!send_message(payload)) return std::nullopt;
    return read_answer(timeout);
  }

  // True when the server closes the connection within `timeout` (bytes meanwhile dropped).
  bool wait_closed(std::chrono::milliseconds timeout = 5s) { return client_.wait_closed(timeout); }

 private:
  http::testing::TestClient client_;
  MllpFramer framer_{64 * 1024 * 1024};
  std::string pending_;
};

}  // namespace cg::hl7v2::testing
