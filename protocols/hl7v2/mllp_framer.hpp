#pragma once
// MllpFramer: the incremental frame extractor of the Minimal Lower Layer Protocol (HL7 MLLP
// release 1/2), which carries HL7v2 messages over TCP as
//
//   0x0B  payload  0x1C 0x0D
//
// Bytes go in as they arrive from the socket, in any chunking; complete payloads come out in
// order. Pure: no sockets, no Asio, no logging; the MLLP server and the fuzz target drive it.
//
// Resynchronisation rules (what a sender can get wrong, and what the framer does):
// - a byte outside a frame (noise between frames, a lone 0x1C or 0x0D, a trailing newline
//   some senders add after 0x1C 0x0D) is skipped and counted as garbage;
// - 0x0B inside a frame means the sender started over: the unfinished frame's bytes count as
//   garbage and a new frame starts at that 0x0B;
// - 0x1C inside a frame that is not followed by 0x0D ends the frame as malformed: its bytes
//   count as garbage and the byte after the 0x1C is examined again outside any frame;
// - a payload longer than `max_message_size` is reported once as kOversize and its bytes are
//   dropped (never buffered) until the next 0x0B; they are not counted as garbage.
// So the framer never holds more than `max_message_size` payload bytes.
//
// Thread-safety: none; one framer per connection, used by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cg::hl7v2 {

inline constexpr char kMllpStartBlock = '\x0B';
inline constexpr char kMllpEndBlock = '\x1C';
inline constexpr char kMllpCarriageReturn = '\x0D';

// Wraps one outgoing payload in an MLLP frame. The payload must not contain 0x0B or 0x1C
// (HL7v2 text never does); this is not checked here.
std::string mllp_frame(std::string_view payload);

// What the framer found in the input.
struct MllpEvent {
  enum class Kind {
    kMessage,   // a complete frame; `payload` holds its content without the framing bytes
    kOversize,  // a frame passed max_message_size; `payload` is empty, the frame is dropped
  };
  Kind kind = Kind::kMessage;
  std::string payload;
};

// Cumulative, since construction.
struct MllpFramerStats {
  std::uint64_t frames = 0;           // kMessage events
  std::uint64_t oversize_frames = 0;  // kOversize events
  std::uint64_t garbage_bytes = 0;    // skipped bytes, see the rules above
};

class MllpFramer {
 public:
  // `max_message_size` bounds the payload (framing bytes excluded); must be at least 1.
  explicit MllpFramer(std::size_t max_message_size);

  // Consumes bytes from the front of `*input` up to and including the byte that completes
  // the next event, and returns that event; when `*input` runs out first, consumes all of
  // it, keeps the unfinished frame and returns nullopt. Call until nullopt for each chunk
  // read, handling each event before asking for the next one (that is what keeps pipelined
  // messages in order and the memory bounded).
  std::optional<MllpEvent> extract(std::string_view* input);

  // True between a frame's 0x0B and its end (including an oversize frame being dropped):
  // the sender is in the middle of a message. False between frames.
  bool in_frame() const { return state_ != State::kBetweenFrames; }

  // Payload bytes held for the unfinished frame (at most max_message_size).
  std::size_t buffered_bytes() const { return payload_.size(); }

  const MllpFramerStats& stats() const { return stats_; }

 private:
  enum class State {
    kBetweenFrames,  // looking for 0x0B
    kInPayload,      // collecting payload, looking for 0x1C
    kAfterEndBlock,  // saw 0x1C, the next byte must be 0x0D
    kDropping,       // oversize: dropping bytes until the next 0x0B
  };

  void skip_to_start_block(std::string_view* input);
  void drop_to_start_block(std::string_view* input);
  void collect_payload(std::string_view* input);
  std::optional<MllpEvent> finish_frame(std::string_view* input);
  void start_frame();
  void abandon_frame(std::size_t frame_bytes);

  const std::size_t max_message_size_;
  State state_ = State::kBetweenFrames;
  std::string payload_;
  MllpFramerStats stats_;
};

}  // namespace cg::hl7v2
