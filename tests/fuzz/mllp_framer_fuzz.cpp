// libFuzzer target: the MLLP frame extractor. Input: two bytes choosing max_message_size
// (1..4096), one byte seeding the chunking, then the byte stream. Checks that
//   - any chunking (one piece, single bytes, pseudo-random pieces) yields the same events
//     and the same statistics as one piece;
//   - the framer never holds more than max_message_size bytes, and no message exceeds it;
//   - re-framing the messages found and extracting again gives them back with no garbage.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/hl7v2/mllp_framer.hpp"

namespace {

using cg::hl7v2::MllpEvent;
using cg::hl7v2::MllpFramer;

struct Run {
  std::vector<MllpEvent> events;
  cg::hl7v2::MllpFramerStats stats;
};

bool same_events(const std::vector<MllpEvent>& a, const std::vector<MllpEvent>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].payload != b[i].payload) return false;
  }
  return true;
}

bool same_stats(const cg::hl7v2::MllpFramerStats& a, const cg::hl7v2::MllpFramerStats& b) {
  return a.frames == b.frames && a.oversize_frames == b.oversize_frames &&
         a.garbage_bytes == b.garbage_bytes;
}

// `next_chunk` returns the size of the next piece (at least 1).
template <class NextChunk>
Run run(std::string_view stream, std::size_t max, NextChunk next_chunk) {
  Run result;
  MllpFramer framer(max);
  while (!stream.empty()) {
    std::string_view input = stream.substr(0, next_chunk());
    stream.remove_prefix(input.size());
    while (auto event = framer.extract(&input)) {
      if (event->payload.size() > max) __builtin_trap();
      if (event->kind == MllpEvent::Kind::kOversize && !event->payload.empty()) __builtin_trap();
      if (framer.buffered_bytes() > max) __builtin_trap();
      result.events.push_back(std::move(*event));
    }
    if (!input.empty() || framer.buffered_bytes() > max) __builtin_trap();
  }
  result.stats = framer.stats();
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
  if (!same_events(whole.events, bytes.events) || !same_events(whole.events, pieces.events)) {
    __builtin_trap();
  }
  if (!same_stats(whole.stats, bytes.stats) || !same_stats(whole.stats, pieces.stats)) {
    __builtin_trap();
  }

  std::string reframed;
  std::size_t messages = 0;
  for (const MllpEvent& event : whole.events) {
    if (event.kind != MllpEvent::Kind::kMessage) continue;
    reframed += cg::hl7v2::mllp_frame(event.payload);
    ++messages;
  }
  const Run again = run(reframed, max, [&] { return reframed.size(); });
  if (again.events.size() != messages || again.stats.garbage_bytes != 0 ||
      again.stats.oversize_frames != 0) {
    __builtin_trap();
  }
  return 0;
}
