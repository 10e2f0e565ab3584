#include "protocols/atna/syslog_framer.hpp"

#include <algorithm>
#include <cassert>

namespace cg::atna {
namespace {

constexpr std::string_view kLineTerminators("\n\0", 2);
constexpr std::string_view kBetweenFrameFiller("\n\r\0 ", 4);

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::string octet_frame(std::string_view message) {
  std::string framed = std::to_string(message.size());
  framed += ' ';
  framed += message;
  return framed;
}

SyslogFramer::SyslogFramer(std::size_t max_message_size) : max_message_size_(max_message_size) {
  assert(max_message_size_ >= 1);
}

bool SyslogFramer::in_frame() const {
  return state_ != State::kBetweenFrames && state_ != State::kFailed;
}

std::optional<SyslogFrameEvent> SyslogFramer::extract(std::string_view* input) {
  while (!input->empty()) {
    std::optional<SyslogFrameEvent> event;
    switch (state_) {
      case State::kBetweenFrames:
        event = start_frame(input);
        break;
      case State::kMsgLen:
        event = read_msg_len(input);
        break;
      case State::kOctets:
        event = collect_octets(input);
        break;
      case State::kSkipOctets:
        skip_octets(input);
        break;
      case State::kLine:
        event = collect_line(input);
        break;
      case State::kSkipLine:
        skip_line(input);
        break;
      case State::kFailed:
        discard(input);
        break;
    }
    if (event) return event;
  }
  return std::nullopt;
}

std::optional<SyslogFrameEvent> SyslogFramer::finish() {
  std::optional<SyslogFrameEvent> event;
  switch (state_) {
    case State::kLine:
      // The close ends the last line; a CR held back as half a CRLF stays dropped.
      pending_cr_ = false;
      event = complete_frame(SyslogFraming::kNonTransparent);
      break;
    case State::kMsgLen:
    case State::kOctets:
      ++stats_.truncated_frames;
      break;
    case State::kBetweenFrames:
    case State::kSkipOctets:
    case State::kSkipLine:
    case State::kFailed:
      break;
  }
  if (state_ != State::kFailed) state_ = State::kBetweenFrames;
  std::string().swap(message_);
  msg_len_ = msg_len_digits_ = remaining_ = 0;
  return event;
}

// The first byte decides the framing of this frame (RFC 6587 §3.4).
std::optional<SyslogFrameEvent> SyslogFramer::start_frame(std::string_view* input) {
  const char first = input->front();
  if (kBetweenFrameFiller.find(first) != std::string_view::npos) {
    ++stats_.garbage_bytes;
    input->remove_prefix(1);
    return std::nullopt;
  }
  if (first == '<') {
    message_.clear();
    pending_cr_ = false;
    state_ = State::kLine;
    return std::nullopt;  // the '<' is the message's first byte: collect_line takes it
  }
  if (first == '0') {
    input->remove_prefix(1);
    return malformed("MSG-LEN starts with a zero");
  }
  if (!is_digit(first)) {
    input->remove_prefix(1);
    return malformed("frame starts with neither MSG-LEN nor '<'");
  }
  msg_len_ = 0;
  msg_len_digits_ = 0;
  state_ = State::kMsgLen;
  return std::nullopt;
}

std::optional<SyslogFrameEvent> SyslogFramer::read_msg_len(std::string_view* input) {
  while (!input->empty()) {
    const char c = input->front();
    input->remove_prefix(1);
    if (c == ' ') {
      if (msg_len_ > max_message_size_) {
        remaining_ = msg_len_;
        return oversize(SyslogFraming::kOctetCounting, State::kSkipOctets);
      }
      message_.clear();
      message_.reserve(msg_len_);  // bounded: msg_len_ <= max_message_size_
      remaining_ = msg_len_;
      state_ = State::kOctets;
      return std::nullopt;
    }
    if (!is_digit(c)) return malformed("MSG-LEN is not followed by SP");
    if (++msg_len_digits_ > kMaxMsgLenDigits) return malformed("MSG-LEN has too many digits");
    msg_len_ = msg_len_ * 10 + static_cast<std::size_t>(c - '0');
  }
  return std::nullopt;
}

std::optional<SyslogFrameEvent> SyslogFramer::collect_octets(std::string_view* input) {
  const std::string_view bytes = input->substr(0, remaining_);
  message_.append(bytes);
  input->remove_prefix(bytes.size());
  remaining_ -= bytes.size();
  if (remaining_ > 0) return std::nullopt;
  return complete_frame(SyslogFraming::kOctetCounting);
}

void SyslogFramer::skip_octets(std::string_view* input) {
  const std::size_t skipped = std::min(remaining_, input->size());
  input->remove_prefix(skipped);
  remaining_ -= skipped;
  if (remaining_ == 0) state_ = State::kBetweenFrames;
}

// Collects up to the terminator. A CR at the end of what has arrived is held back (not
// buffered, not counted against the limit) until the next byte tells whether it is the
// first half of a CRLF trailer or part of the message; that keeps the result and the limit
// independent of how the stream was chunked.
std::optional<SyslogFrameEvent> SyslogFramer::collect_line(std::string_view* input) {
  const std::size_t end = input->find_first_of(kLineTerminators);
  const bool terminated = end != std::string_view::npos;
  std::string_view bytes = input->substr(0, end);
  input->remove_prefix(terminated ? bytes.size() + 1 : bytes.size());

  const bool held_cr_is_content = pending_cr_ && !(terminated && bytes.empty());
  pending_cr_ = false;
  if (!bytes.empty() && bytes.back() == '\r') {
    bytes.remove_suffix(1);
    pending_cr_ = !terminated;  // when terminated, the CR is the trailer's and is dropped
  }
  if ((held_cr_is_content && !append_bounded("\r")) || !append_bounded(bytes)) {
    pending_cr_ = false;
    return oversize(SyslogFraming::kNonTransparent,
                    terminated ? State::kBetweenFrames : State::kSkipLine);
  }
  if (!terminated) return std::nullopt;
  return complete_frame(SyslogFraming::kNonTransparent);
}

void SyslogFramer::skip_line(std::string_view* input) {
  const std::size_t end = input->find_first_of(kLineTerminators);
  if (end == std::string_view::npos) {
    input->remove_prefix(input->size());
    return;
  }
  input->remove_prefix(end + 1);
  state_ = State::kBetweenFrames;
}

void SyslogFramer::discard(std::string_view* input) {
  stats_.garbage_bytes += input->size();
  input->remove_prefix(input->size());
}

// Appends unless that would pass the limit. Growth is capped at the limit so the buffer's
// capacity, not only its size, stays within max_message_size.
bool SyslogFramer::append_bounded(std::string_view bytes) {
  if (bytes.size() > max_message_size_ - message_.size()) return false;
  const std::size_t needed = message_.size() + bytes.size();
  if (needed > message_.capacity()) {
    message_.reserve(std::min(max_message_size_, std::max(needed, 2 * message_.capacity())));
  }
  message_.append(bytes);
  return true;
}

SyslogFrameEvent SyslogFramer::complete_frame(SyslogFraming framing) {
  ++stats_.frames;
  state_ = State::kBetweenFrames;
  SyslogFrameEvent event{SyslogFrameEvent::Kind::kMessage, framing, std::move(message_), {}};
  message_ = std::string();  // a moved-from string is only "valid but unspecified"
  return event;
}

SyslogFrameEvent SyslogFramer::oversize(SyslogFraming framing, State next) {
  ++stats_.oversize_frames;
  std::string().swap(message_);
  state_ = next;
  if (next == State::kSkipOctets && remaining_ == 0) state_ = State::kBetweenFrames;
  return {SyslogFrameEvent::Kind::kOversize, framing, {}, {}};
}

SyslogFrameEvent SyslogFramer::malformed(std::string_view problem) {
  ++stats_.malformed_frames;
  std::string().swap(message_);
  state_ = State::kFailed;
  return {SyslogFrameEvent::Kind::kMalformed, SyslogFraming::kOctetCounting, {}, problem};
}

}  // namespace cg::atna
