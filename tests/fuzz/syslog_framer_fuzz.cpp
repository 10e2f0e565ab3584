// libFuzzer target: the syslog stream framer. Input: two bytes choosing max_message_size
// (1..4096), one byte seeding the chunking, then the byte stream. Checks that
//   - any chunking (one piece, single bytes, pseudo-random pieces), followed by finish(),
//     yields the same events, the same statistics and the same end state as one piece;
//   - the framer never holds more than max_message_size bytes, no message exceeds it, and a
//     kMalformed event is the last one;
//   - octet-framing the messages found and extracting again gives them back, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/atna/syslog_framer.hpp"

namespace {

using cg::atna::SyslogFrameEvent;
using cg::atna::SyslogFramer;
using cg::atna::SyslogFramerStats;

struct Run {
  std::vector<SyslogFrameEvent> events;
  SyslogFramerStats stats;
  bool failed = false;
};

bool same_events(const std::vector<SyslogFrameEvent>& a, const std::vector<SyslogFrameEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].framing != b[i].framing || a[i].message != b[i].message ||
        a[i].problem != b[i].problem) {
      return false;
    }
  }
  return true;
}

bool same_stats(const SyslogFramerStats& a, const SyslogFramerStats& b) {
  return a.frames == b.frames && a.oversize_frames == b.oversize_frames &&
         a.malformed_frames == b.malformed_frames && a.truncated_frames == b.truncated_frames &&
         a.garbage_bytes == b.garbage_bytes;
}

void check_event(const SyslogFramer& framer, const SyslogFrameEvent& event, std::size_t max) {
  if (event.message.size() > max) __builtin_trap();
  if (event.kind != SyslogFrameEvent::Kind::kMessage && !event.message.empty()) __builtin_trap();
  if ((event.kind == SyslogFrameEvent::Kind::kMalformed) != framer.failed()) __builtin_trap();
  if (framer.buffered_bytes() > max) __builtin_trap();
}

// `next_chunk` returns the size of the next piece (at least 1).
template <class NextChunk>
Run run(std::string_view stream, std::size_t max, NextChunk next_chunk) {
  Run result;
  SyslogFramer framer(max);
  while (!stream.empty()) {
    std::string_view input = stream.substr(0, next_chunk());
    stream.remove_prefix(input.size());
    while (auto event = framer.extract(&input)) {
      check_event(framer, *event, max);
      result.events.push_back(std::move(*event));
    }
    if (!input.empty() || framer.buffered_bytes() > max) __builtin_trap();
  }
  if (auto last = framer.finish()) {
    if (last->kind != SyslogFrameEvent::Kind::kMessage || last->message.size() > max) {
      __builtin_trap();
    }
    result.events.push_back(std::move(*last));
  }
  if (framer.in_frame() || framer.buffered_bytes() != 0) __builtin_trap();
  result.stats = framer.stats();
  result.failed = framer.failed();
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t max = 1 + ((static_cast<std::size_t>(data[0]) << 8 | data[1]) % 4096);
  std::uint32_t state = 0x9E3779B9u ^ data[2];
  const std::string_view stream(reinterpret_cast<const char*>(data + 3), size - 3);

  const Run whole = run(stream, max, [&] { return stream.size(); });
  const Run bytes = run(stream, max, [] { return std::size_t{1}; });
  const Run pieces = run(stream, max, [&] {
    state ^= state << 13;  // xorshift32: deterministic for a given input
    state ^= state >> 17;
    state ^= state << 5;
    return std::size_t{1} + state % 97;
  });
  for (const Run* other : {&bytes, &pieces}) {
    if (!same_events(whole.events, other->events) || !same_stats(whole.stats, other->stats) ||
        whole.failed != other->failed) {
      __builtin_trap();
    }
  }

  std::string reframed;
  std::vector<std::string_view> messages;
  for (const SyslogFrameEvent& event : whole.events) {
    if (event.kind != SyslogFrameEvent::Kind::kMessage) continue;
    reframed += cg::atna::octet_frame(event.message);
    messages.push_back(event.message);
  }
  const Run again = run(reframed, max, [&] { return reframed.size(); });
  if (again.events.size() != messages.size() || again.stats.garbage_bytes != 0 || again.failed) {
    __builtin_trap();
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (again.events[i].message != messages[i]) __builtin_trap();
  }
  return 0;
}
