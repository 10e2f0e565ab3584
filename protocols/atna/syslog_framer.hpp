#pragma once
// SyslogFramer: the incremental frame extractor of syslog over a byte stream (TCP, or TLS
// per RFC 5425). Bytes go in as they arrive, in any chunking; complete syslog messages come
// out in order. Pure: no sockets, no Asio, no logging; the ATNA receiver's TCP/TLS sessions
// and the fuzz target drive it.
//
// Framing is chosen per frame by its first byte (RFC 6587 §3.4):
// - a digit: octet counting (RFC 6587 §3.4.1, the only framing of RFC 5425):
//     MSG-LEN SP SYSLOG-MSG, MSG-LEN = NONZERO-DIGIT *DIGIT (at most kMaxMsgLenDigits digits)
//   the message is exactly MSG-LEN bytes and may contain any byte, LF included;
// - '<' (the start of PRI): non-transparent framing (RFC 6587 §3.4.2): the message ends at
//   the first LF or NUL (NUL is accepted as rsyslog does); a CR right before it is part of
//   the trailer (CRLF), not of the message;
// - LF, CR, NUL or SP between frames (blank lines, a newline some senders add after an
//   octet-counted frame) are skipped and counted as garbage.
//
// Limits and bad input:
// - a message longer than `max_message_size` is reported once as kOversize and its bytes are
//   dropped without being buffered: exactly MSG-LEN bytes for octet counting, up to the next
//   LF/NUL for non-transparent framing; the frames after it are read normally;
// - a malformed frame start (a leading zero, a non-digit before the SP, more than
//   kMaxMsgLenDigits digits, or a first byte that is neither a digit nor '<') is reported
//   once as kMalformed and the framer fails for good: failed() turns true and every later
//   byte is discarded as garbage. The session should close the connection. Resynchronising
//   (say, at the next '<' after an LF) is not attempted on purpose: after a bad MSG-LEN the
//   end of the frame is unknown, and ATNA messages are XML, whose lines routinely start with
//   '<' — a guess would turn fragments of one audit record into bogus "messages". A sender
//   that reconnects starts cleanly on a frame boundary.
// So the framer never holds more than `max_message_size` message bytes.
//
// Thread-safety: none; one framer per connection, used by one thread at a time.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cg::atna {

// RFC 5425 §4.3.1 asks receivers for at least 2048 octets and recommends 8192; ATNA audit
// records (DICOM audit XML) are often larger, so the default is generous but bounded.
inline constexpr std::size_t kDefaultMaxSyslogMessageSize = 64 * 1024;

// Nine digits allow lengths below 1 GB: far above any sane limit (so a legitimate but
// oversized frame is still skipped exactly), while a runaway digit string is caught early.
inline constexpr std::size_t kMaxMsgLenDigits = 9;

// Prefixes one outgoing message with its octet count (RFC 6587 §3.4.1, RFC 5425 §4.3).
std::string octet_frame(std::string_view message);

enum class SyslogFraming {
  kOctetCounting,   // MSG-LEN SP SYSLOG-MSG
  kNonTransparent,  // SYSLOG-MSG LF (or CRLF, or NUL)
};

// What the framer found in the input.
struct SyslogFrameEvent {
  enum class Kind {
    kMessage,    // a complete frame; `message` holds the syslog message without framing
    kOversize,   // a frame passed max_message_size; `message` is empty, the frame is dropped
    kMalformed,  // a frame start that cannot be read; `problem` says why; failed() is now true
  };
  Kind kind = Kind::kMessage;
  SyslogFraming framing = SyslogFraming::kOctetCounting;  // of kMessage and kOversize
  std::string message;
  std::string_view problem;  // kMalformed only; a static text, safe to log (no message bytes)
};

// Cumulative, since construction.
struct SyslogFramerStats {
  std::uint64_t frames = 0;            // kMessage events
  std::uint64_t oversize_frames = 0;   // kOversize events
  std::uint64_t malformed_frames = 0;  // kMalformed events (0 or 1)
  std::uint64_t truncated_frames = 0;  // octet-counted frames cut off by finish()
  std::uint64_t garbage_bytes = 0;     // skipped between frames, and everything after failure
};

class SyslogFramer {
 public:
  // `max_message_size` bounds the message (framing excluded); must be at least 1.
  explicit SyslogFramer(std::size_t max_message_size = kDefaultMaxSyslogMessageSize);

  // Consumes bytes from the front of `*input` up to and including the byte that completes
  // the next event, and returns that event; when `*input` runs out first, consumes all of
  // it, keeps the unfinished frame and returns nullopt. Call until nullopt for each chunk
  // read, handling each event before asking for the next one.
  std::optional<SyslogFrameEvent> extract(std::string_view* input);

  // The peer closed the stream. A non-transparent message that was waiting for its LF is
  // complete (a lone CR at its end is dropped as half a CRLF) and is returned; an unfinished
  // octet-counted frame is truncated: counted in stats().truncated_frames and dropped. The
  // framer is then between frames again (or still failed).
  std::optional<SyslogFrameEvent> finish();

  // True inside a frame (including an oversize frame being dropped): the sender is in the
  // middle of a message. False between frames and once failed.
  bool in_frame() const;

  // True after kMalformed: the stream cannot be read any further; close the connection.
  bool failed() const { return state_ == State::kFailed; }

  // Message bytes held for the unfinished frame (at most max_message_size).
  std::size_t buffered_bytes() const { return message_.size(); }

  const SyslogFramerStats& stats() const { return stats_; }

 private:
  enum class State {
    kBetweenFrames,  // looking at the first byte of the next frame
    kMsgLen,         // reading MSG-LEN digits, up to the SP
    kOctets,         // collecting exactly remaining_ message bytes
    kSkipOctets,     // oversize: dropping remaining_ bytes
    kLine,           // non-transparent: collecting up to LF or NUL
    kSkipLine,       // oversize: dropping up to LF or NUL
    kFailed,         // after kMalformed: discarding everything
  };

  std::optional<SyslogFrameEvent> start_frame(std::string_view* input);
  std::optional<SyslogFrameEvent> read_msg_len(std::string_view* input);
  std::optional<SyslogFrameEvent> collect_octets(std::string_view* input);
  void skip_octets(std::string_view* input);
  std::optional<SyslogFrameEvent> collect_line(std::string_view* input);
  void skip_line(std::string_view* input);
  void discard(std::string_view* input);

  bool append_bounded(std::string_view bytes);
  SyslogFrameEvent complete_frame(SyslogFraming framing);
  SyslogFrameEvent oversize(SyslogFraming framing, State next);
  SyslogFrameEvent malformed(std::string_view problem);

  const std::size_t max_message_size_;
  State state_ = State::kBetweenFrames;
  std::string message_;
  std::size_t msg_len_ = 0;  // MSG-LEN value read so far (kMsgLen)
  std::size_t msg_len_digits_ = 0;
  std::size_t remaining_ = 0;  // bytes left in an octet-counted frame
  bool pending_cr_ = false;    // kLine: a CR that may be the first half of CRLF
  SyslogFramerStats stats_;
};

}  // namespace cg::atna
