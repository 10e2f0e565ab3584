#include "protocols/hl7v2/mllp_framer.hpp"

#include <algorithm>
#include <cassert>

namespace cg::hl7v2 {
namespace {

constexpr std::string_view kPayloadDelimiters("\x0B\x1C", 2);
constexpr std::size_t kStartBlockSize = 1;
constexpr std::size_t kEndBlockSize = 1;

}  // namespace

std::string mllp_frame(std::string_view payload) {
  std::string framed;
  framed.reserve(payload.size() + 3);
  framed += kMllpStartBlock;
  framed += payload;
  framed += kMllpEndBlock;
  framed += kMllpCarriageReturn;
  return framed;
}

MllpFramer::MllpFramer(std::size_t max_message_size) : max_message_size_(max_message_size) {
  assert(max_message_size_ >= 1);
}

std::optional<MllpEvent> MllpFramer::extract(std::string_view* input) {
  while (!input->empty()) {
    std::optional<MllpEvent> event;
    switch (state_) {
      case State::kBetweenFrames:
        skip_to_start_block(input);
        break;
      case State::kInPayload:
        collect_payload(input);
        if (state_ == State::kDropping) return MllpEvent{MllpEvent::Kind::kOversize, {}};
        break;
      case State::kAfterEndBlock:
        event = finish_frame(input);
        break;
      case State::kDropping:
        drop_to_start_block(input);
        break;
    }
    if (event) return event;
  }
  return std::nullopt;
}

void MllpFramer::skip_to_start_block(std::string_view* input) {
  const std::size_t skipped = std::min(input->find(kMllpStartBlock), input->size());
  stats_.garbage_bytes += skipped;
  input->remove_prefix(skipped);
  if (!input->empty()) {
    input->remove_prefix(kStartBlockSize);
    start_frame();
  }
}

void MllpFramer::drop_to_start_block(std::string_view* input) {
  input->remove_prefix(std::min(input->find(kMllpStartBlock), input->size()));
  if (!input->empty()) {
    input->remove_prefix(kStartBlockSize);
    start_frame();
  }
}

// Appends payload bytes up to the next framing byte. Growth is capped at the limit so the
// buffer's capacity, not only its size, stays within max_message_size.
void MllpFramer::collect_payload(std::string_view* input) {
  const std::string_view data = input->substr(0, input->find_first_of(kPayloadDelimiters));
  if (data.size() > max_message_size_ - payload_.size()) {
    ++stats_.oversize_frames;
    input->remove_prefix(data.size());
    std::string().swap(payload_);
    state_ = State::kDropping;
    return;
  }
  const std::size_t needed = payload_.size() + data.size();
  if (needed > payload_.capacity()) {
    payload_.reserve(std::min(max_message_size_, std::max(needed, 2 * payload_.capacity())));
  }
  payload_.append(data);
  input->remove_prefix(data.size());
  if (input->empty()) return;
  if (input->front() == kMllpStartBlock) {
    // The sender started over without finishing the frame.
    abandon_frame(kStartBlockSize + payload_.size());
    input->remove_prefix(kStartBlockSize);
    start_frame();
    return;
  }
  input->remove_prefix(kEndBlockSize);
  state_ = State::kAfterEndBlock;
}

std::optional<MllpEvent> MllpFramer::finish_frame(std::string_view* input) {
  if (input->front() != kMllpCarriageReturn) {
    // 0x1C without 0x0D: malformed. The current byte is examined again between frames, so
    // "0x1C 0x0B" still starts the next frame.
    abandon_frame(kStartBlockSize + payload_.size() + kEndBlockSize);
    return std::nullopt;
  }
  input->remove_prefix(1);
  ++stats_.frames;
  state_ = State::kBetweenFrames;
  MllpEvent event{MllpEvent::Kind::kMessage, std::move(payload_)};
  payload_ = std::string();  // a moved-from string is only "valid but unspecified"
  return event;
}

void MllpFramer::start_frame() {
  payload_.clear();
  state_ = State::kInPayload;
}

void MllpFramer::abandon_frame(std::size_t frame_bytes) {
  stats_.garbage_bytes += frame_bytes;
  payload_.clear();
  state_ = State::kBetweenFrames;
}

}  // namespace cg::hl7v2
