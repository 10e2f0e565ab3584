#include "protocols/hl7v2/mllp_framer.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace cg::hl7v2 {
namespace {

const std::string kAdt =
    "MSH|^~\\&|EMR|CLINIC|GW|DISTRICT|20240101120000||ADT^A01|MSG1|P|2.5\r"
    "PID|1||123^^^CLINIC^MR||DOE^JANE\r";
const std::string kVxu = "MSH|^~\\&|EMR|CLINIC|GW|DISTRICT|20240101120001||VXU^V04|MSG2|P|2.5.1\r";
const std::string kOru = "MSH|^~\\&|LAB|CLINIC|GW|DISTRICT|20240101120002||ORU^R01|MSG3|P|2.5\r";

// Events as text, so a whole run compares in one CHECK: "M:<payload>" or "OVERSIZE".
std::string describe(const MllpEvent& event) {
  return event.kind == MllpEvent::Kind::kOversize ? std::string("OVERSIZE") : "M:" + event.payload;
}

// Feeds `stream` in chunks of `chunk` bytes, draining every event of each chunk, and checks
// the memory bound after every step.
std::vector<std::string> feed(MllpFramer& framer, std::string_view stream, std::size_t chunk,
                              std::size_t max_message_size) {
  std::vector<std::string> events;
  while (!stream.empty()) {
    std::string_view input = stream.substr(0, chunk);
    stream.remove_prefix(input.size());
    while (auto event = framer.extract(&input)) {
      events.push_back(describe(*event));
      CHECK(framer.buffered_bytes() <= max_message_size);
    }
    CHECK(input.empty());
    CHECK(framer.buffered_bytes() <= max_message_size);
  }
  return events;
}

std::vector<std::string> feed_all(std::string_view stream, std::size_t max = 1024) {
  MllpFramer framer(max);
  return feed(framer, stream, stream.size() + 1, max);
}

}  // namespace

TEST_CASE("mllp_frame wraps a payload in start block, end block and carriage return") {
  CHECK(mllp_frame("MSH|x") == std::string("\x0BMSH|x\x1C\x0D"));
  CHECK(mllp_frame("") == std::string("\x0B\x1C\x0D"));
}

TEST_CASE("one frame in one read gives its payload") {
  MllpFramer framer(1024);
  const std::string framed = mllp_frame(kAdt);
  std::string_view input = framed;
  auto event = framer.extract(&input);
  REQUIRE(event);
  CHECK(event->kind == MllpEvent::Kind::kMessage);
  CHECK(event->payload == kAdt);
  CHECK(input.empty());
  CHECK_FALSE(framer.extract(&input));
  CHECK(framer.stats().frames == 1);
  CHECK(framer.stats().garbage_bytes == 0);
  CHECK_FALSE(framer.in_frame());
}

TEST_CASE("several frames in one read come out one per call, in order") {
  MllpFramer framer(1024);
  const std::string stream = mllp_frame(kAdt) + mllp_frame(kVxu) + mllp_frame(kOru);
  std::string_view input = stream;
  auto first = framer.extract(&input);
  REQUIRE(first);
  CHECK(first->payload == kAdt);
  // What follows the first frame stays in the input until asked for: a server answers one
  // pipelined message before it looks at the next.
  CHECK(input.size() == stream.size() - kAdt.size() - 3);
  auto second = framer.extract(&input);
  auto third = framer.extract(&input);
  REQUIRE(second);
  REQUIRE(third);
  CHECK(second->payload == kVxu);
  CHECK(third->payload == kOru);
  CHECK_FALSE(framer.extract(&input));
  CHECK(framer.stats().frames == 3);
}

TEST_CASE("a frame split over many reads is reassembled, whatever the chunking") {
  const std::string stream = mllp_frame(kAdt) + mllp_frame(kVxu) + mllp_frame(kOru);
  const std::vector<std::string> expected{"M:" + kAdt, "M:" + kVxu, "M:" + kOru};
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    CAPTURE(chunk);
    MllpFramer framer(1024);
    CHECK(feed(framer, stream, chunk, 1024) == expected);
    CHECK(framer.stats().garbage_bytes == 0);
  }
}

TEST_CASE("in_frame tells a partial frame from the gap between frames") {
  MllpFramer framer(1024);
  std::string_view start = "\x0BMSH|";
  CHECK_FALSE(framer.extract(&start));
  CHECK(framer.in_frame());
  CHECK(framer.buffered_bytes() == 4);
  std::string_view end_block = "\x1C";  // the end block and its CR in different reads
  CHECK_FALSE(framer.extract(&end_block));
  CHECK(framer.in_frame());
  std::string_view cr = "\x0D";
  auto event = framer.extract(&cr);
  REQUIRE(event);
  CHECK(event->payload == "MSH|");
  CHECK_FALSE(framer.in_frame());
  CHECK(framer.buffered_bytes() == 0);
}

TEST_CASE("an empty frame is a message with an empty payload") {
  CHECK(feed_all(mllp_frame("")) == std::vector<std::string>{"M:"});
}

TEST_CASE("garbage before, between and after frames is skipped and counted") {
  const std::string stream = "noise" + mllp_frame(kAdt) + "\r\n" + mllp_frame(kVxu) + "\n";
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, stream.size()}) {
    CAPTURE(chunk);
    MllpFramer framer(1024);
    CHECK(feed(framer, stream, chunk, 1024) == std::vector<std::string>{"M:" + kAdt, "M:" + kVxu});
    CHECK(framer.stats().garbage_bytes == 5 + 2 + 1);
    CHECK(framer.stats().frames == 2);
  }
}

TEST_CASE("a stray end block or carriage return outside a frame is garbage") {
  MllpFramer framer(1024);
  const std::string stream = std::string("\x1C\x0D\x1C") + mllp_frame(kAdt);
  CHECK(feed(framer, stream, 2, 1024) == std::vector<std::string>{"M:" + kAdt});
  CHECK(framer.stats().garbage_bytes == 3);
}

TEST_CASE("an end block without its carriage return makes the frame garbage") {
  MllpFramer framer(1024);
  SUBCASE("followed by other bytes, then a good frame") {
    const std::string stream = std::string("\x0B") + "ABC" + "\x1C" + "X" + mllp_frame(kAdt);
    CHECK(feed(framer, stream, 1, 1024) == std::vector<std::string>{"M:" + kAdt});
    CHECK(framer.stats().garbage_bytes == 1 + 3 + 1 + 1);  // the frame, then "X"
  }
  SUBCASE("directly followed by the next start block, which still starts a frame") {
    const std::string stream = std::string("\x0B") + "ABC" + "\x1C" + mllp_frame(kAdt);
    CHECK(feed(framer, stream, stream.size(), 1024) == std::vector<std::string>{"M:" + kAdt});
    CHECK(framer.stats().garbage_bytes == 5);
  }
  CHECK(framer.stats().frames == 1);
}

TEST_CASE("a start block inside a frame abandons it and starts a new one") {
  MllpFramer framer(1024);
  const std::string stream = std::string("\x0B") + "half a message" + mllp_frame(kAdt);
  CHECK(feed(framer, stream, 4, 1024) == std::vector<std::string>{"M:" + kAdt});
  CHECK(framer.stats().garbage_bytes == 1 + 14);
}

TEST_CASE("an oversize frame is reported once, dropped, and the next frame still arrives") {
  constexpr std::size_t kMax = 64;
  const std::string big(200, 'A');
  const std::string stream = mllp_frame(kAdt.substr(0, kMax)) + mllp_frame(big) + "junk" +
                             mllp_frame("after") + mllp_frame(big) + mllp_frame("last");
  const std::vector<std::string> expected{"M:" + kAdt.substr(0, kMax), "OVERSIZE", "M:after",
                                          "OVERSIZE", "M:last"};
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, stream.size()}) {
    CAPTURE(chunk);
    MllpFramer framer(kMax);
    CHECK(feed(framer, stream, chunk, kMax) == expected);
    CHECK(framer.stats().oversize_frames == 2);
    CHECK(framer.stats().frames == 3);
    // The dropped frames' bytes, including what follows them up to the next start block,
    // are not garbage: they were reported as oversize.
    CHECK(framer.stats().garbage_bytes == 0);
  }
}

TEST_CASE("a payload of exactly the limit passes, one byte more is oversize") {
  CHECK(feed_all(mllp_frame(std::string(10, 'x')), 10) ==
        std::vector<std::string>{"M:" + std::string(10, 'x')});
  CHECK(feed_all(mllp_frame(std::string(11, 'x')), 10) == std::vector<std::string>{"OVERSIZE"});
}

TEST_CASE("an oversize frame that never ends holds no memory and stays in_frame") {
  constexpr std::size_t kMax = 16;
  MllpFramer framer(kMax);
  std::string_view start = "\x0B";
  CHECK_FALSE(framer.extract(&start));
  const std::string chunk(1000, 'B');
  int oversize = 0;
  for (int i = 0; i < 100; ++i) {
    std::string_view input = chunk;
    while (auto event = framer.extract(&input)) {
      CHECK(event->kind == MllpEvent::Kind::kOversize);
      ++oversize;
    }
    CHECK(framer.buffered_bytes() == 0);
    CHECK(framer.in_frame());
  }
  CHECK(oversize == 1);
}

}  // namespace cg::hl7v2
