#include "protocols/atna/syslog_framer.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/atna/logger_samples.hpp"

namespace cg::atna {
namespace {

using namespace std::string_view_literals;
using Kind = SyslogFrameEvent::Kind;

// Events as text, so a whole run compares in one CHECK: "O:<msg>" (octet counted),
// "N:<msg>" (newline framed), "OVERSIZE", "MALFORMED:<problem>".
std::string describe(const SyslogFrameEvent& event) {
  switch (event.kind) {
    case Kind::kMessage:
      return (event.framing == SyslogFraming::kOctetCounting ? "O:" : "N:") + event.message;
    case Kind::kOversize:
      return "OVERSIZE";
    case Kind::kMalformed:
      return "MALFORMED:" + std::string(event.problem);
  }
  return "?";
}

// Feeds `stream` in chunks of `chunk` bytes, draining every event of each chunk, then ends
// the stream; checks the memory bound after every step.
std::vector<std::string> feed(SyslogFramer& framer, std::string_view stream, std::size_t chunk,
                              std::size_t max) {
  std::vector<std::string> events;
  while (!stream.empty()) {
    std::string_view input = stream.substr(0, chunk);
    stream.remove_prefix(input.size());
    while (auto event = framer.extract(&input)) {
      CHECK(event->message.size() <= max);
      events.push_back(describe(*event));
      CHECK(framer.buffered_bytes() <= max);
    }
    CHECK(input.empty());
    CHECK(framer.buffered_bytes() <= max);
  }
  if (auto last = framer.finish()) events.push_back(describe(*last));
  return events;
}

// The same stream in one piece, byte by byte and in 7-byte pieces must give the same events.
std::vector<std::string> feed_every_way(std::string_view stream, std::size_t max = 1024) {
  SyslogFramer whole(max);
  const std::vector<std::string> events = feed(whole, stream, stream.size() + 1, max);
  SyslogFramer bytes(max);
  CHECK(feed(bytes, stream, 1, max) == events);
  SyslogFramer pieces(max);
  CHECK(feed(pieces, stream, 7, max) == events);
  CHECK(bytes.stats().frames == whole.stats().frames);
  CHECK(bytes.stats().garbage_bytes == whole.stats().garbage_bytes);
  return events;
}

using Events = std::vector<std::string>;

}  // namespace

TEST_CASE("octet_frame prefixes the message with its length and a space") {
  CHECK(octet_frame("<13>1 - - - - - -") == "17 <13>1 - - - - - -");
  CHECK(octet_frame("x") == "1 x");
}

TEST_CASE("an octet-counted frame gives exactly MSG-LEN bytes, LF and '<' included") {
  const std::string msg = "<13>1 - - - - - - line one\n<AuditMessage>\n</AuditMessage>";
  CHECK(feed_every_way(octet_frame(msg)) == Events{"O:" + msg});
}

TEST_CASE("several octet-counted frames in one read come out one per call, in order") {
  SyslogFramer framer;
  const std::string stream = octet_frame("<13>1 a") + octet_frame("<14>1 b");
  std::string_view input = stream;
  auto first = framer.extract(&input);
  REQUIRE(first);
  CHECK(first->message == "<13>1 a");
  // The second frame stays in the input until asked for.
  CHECK(input == octet_frame("<14>1 b"));
  auto second = framer.extract(&input);
  REQUIRE(second);
  CHECK(second->message == "<14>1 b");
  CHECK_FALSE(framer.extract(&input));
  CHECK(framer.stats().frames == 2);
  CHECK_FALSE(framer.in_frame());
}

TEST_CASE("a frame split anywhere across reads is reassembled") {
  const std::string stream = octet_frame("<13>1 first") + "<13>1 second\n" +
                             octet_frame("<13>1 third") + "<13>1 fourth\r\n";
  CHECK(feed_every_way(stream) ==
        Events{"O:<13>1 first", "N:<13>1 second", "O:<13>1 third", "N:<13>1 fourth"});
}

TEST_CASE("the framing is chosen per frame, so a sender may mix them") {
  const std::string stream = "<13>1 newline\n" + octet_frame("<13>1 counted") + "<13>1 again\n";
  CHECK(feed_every_way(stream) == Events{"N:<13>1 newline", "O:<13>1 counted", "N:<13>1 again"});
}

TEST_CASE("newline framing ends at LF, CRLF or NUL; the trailer is not part of the message") {
  CHECK(feed_every_way("<13>a\n<13>b\r\n<13>c\0<13>d\r\0"sv) ==
        Events{"N:<13>a", "N:<13>b", "N:<13>c", "N:<13>d"});
}

TEST_CASE("a CR that is not right before the terminator stays in the message") {
  CHECK(feed_every_way("<13>a\rb\n<13>c\r\r\n"sv) == Events{"N:<13>a\rb", "N:<13>c\r"});
}

TEST_CASE("blank lines and a newline after an octet-counted frame are skipped as garbage") {
  SyslogFramer framer;
  const std::string stream = "\n\r\n" + octet_frame("<13>1 x") + "\n" + "<13>1 y\n";
  CHECK(feed(framer, stream, 3, kDefaultMaxSyslogMessageSize) == Events{"O:<13>1 x", "N:<13>1 y"});
  CHECK(framer.stats().garbage_bytes == 4);
  CHECK_FALSE(framer.failed());
}

TEST_CASE("real logger output: octet counted, newline framed RFC 5424 and RFC 3164") {
  using namespace logger_samples;
  std::string stream;
  stream += kOctetCountedWithSd;
  stream += kOctetCounted;
  stream += kRfc5424Newline;
  stream += kRfc3164Newline;
  stream += kOctetCountedNil;
  const Events events = feed_every_way(stream);
  REQUIRE(events.size() == 5);
  CHECK(events[0] == "O:" + std::string(kOctetCountedWithSd.substr(4)));
  CHECK(events[1] == "O:" + std::string(kOctetCounted.substr(3)));
  CHECK(events[2] == "N:" + std::string(kRfc5424Newline.substr(0, kRfc5424Newline.size() - 1)));
  CHECK(events[3] == "N:" + std::string(kRfc3164Newline.substr(0, kRfc3164Newline.size() - 1)));
  CHECK(events[4] == "O:<13>1 - - cg - - - no time no host");
}

TEST_CASE("a message of exactly the limit passes, one byte more is oversize") {
  const std::string fits = "<13>" + std::string(6, 'x');
  const std::string over = fits + "y";
  CHECK(feed_every_way(octet_frame(fits), 10) == Events{"O:" + fits});
  CHECK(feed_every_way(fits + "\r\n", 10) == Events{"N:" + fits});
  CHECK(feed_every_way(octet_frame(over), 10) == Events{"OVERSIZE"});
  CHECK(feed_every_way(over + "\n", 10) == Events{"OVERSIZE"});
}

TEST_CASE("an oversize octet-counted frame is skipped exactly, unbuffered, once reported") {
  const std::string big = "<13>1 " + std::string(5000, 'x') + "\n<not a frame>\n";
  const std::string stream = octet_frame(big) + octet_frame("<13>1 after");
  SyslogFramer framer(100);
  CHECK(feed(framer, stream, 1, 100) == Events{"OVERSIZE", "O:<13>1 after"});
  CHECK(framer.stats().oversize_frames == 1);
  CHECK(framer.stats().frames == 1);
  CHECK(feed_every_way(stream, 100) == Events{"OVERSIZE", "O:<13>1 after"});
}

TEST_CASE("an oversize line is dropped up to its LF and the next frame is read") {
  const std::string stream = "<13>1 " + std::string(5000, 'x') + "\n<13>1 after\n";
  SyslogFramer framer(100);
  std::string_view input = std::string_view(stream).substr(0, 200);  // the LF is still to come
  auto event = framer.extract(&input);
  REQUIRE(event);
  CHECK(event->kind == Kind::kOversize);
  CHECK(event->framing == SyslogFraming::kNonTransparent);
  CHECK(framer.buffered_bytes() == 0);
  CHECK_FALSE(framer.extract(&input));
  CHECK(framer.buffered_bytes() == 0);
  CHECK(framer.in_frame());
  CHECK(feed_every_way(stream, 100) == Events{"OVERSIZE", "N:<13>1 after"});
}

TEST_CASE("malformed MSG-LEN fails the framer and discards the rest of the stream") {
  struct Case {
    std::string stream;
    std::string problem;
  };
  const Case cases[] = {
      {"05 <13>x" + octet_frame("<13>1 never"), "MSG-LEN starts with a zero"},
      {"0 " + octet_frame("<13>1 never"), "MSG-LEN starts with a zero"},
      {"12a <13>1 x", "MSG-LEN is not followed by SP"},
      {"12\n<13>1 x\n", "MSG-LEN is not followed by SP"},
      {"1234567890 <13>1 x", "MSG-LEN has too many digits"},
      {"hello\n<13>1 x\n", "frame starts with neither MSG-LEN nor '<'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.stream);
    CHECK(feed_every_way(c.stream) == Events{"MALFORMED:" + c.problem});
    SyslogFramer framer;
    feed(framer, c.stream, 2, kDefaultMaxSyslogMessageSize);
    CHECK(framer.failed());
    CHECK_FALSE(framer.in_frame());
    CHECK(framer.stats().malformed_frames == 1);
    CHECK(framer.stats().frames == 0);
    CHECK(framer.stats().garbage_bytes > 0);
  }
}

TEST_CASE("frames before a malformed one are delivered") {
  CHECK(feed_every_way(octet_frame("<13>1 ok") + "x") ==
        Events{"O:<13>1 ok", "MALFORMED:frame starts with neither MSG-LEN nor '<'"});
}

TEST_CASE("nine-digit MSG-LEN is a legal (oversize) length, not malformed") {
  SyslogFramer framer(100);
  std::string_view input = "999999999 <13>1 ";
  auto event = framer.extract(&input);
  REQUIRE(event);
  CHECK(event->kind == Kind::kOversize);
  CHECK_FALSE(framer.failed());
}

TEST_CASE("finish: an unterminated line is a message, an unfinished octet frame is truncated") {
  SyslogFramer line;
  CHECK(feed(line, "<13>1 last words\r", 4, 1024) == Events{"N:<13>1 last words"});
  CHECK(line.stats().truncated_frames == 0);

  SyslogFramer counted;
  CHECK(feed(counted, "20 <13>1 cut", 4, 1024).empty());
  CHECK(counted.stats().truncated_frames == 1);
  CHECK_FALSE(counted.in_frame());

  SyslogFramer between;
  CHECK(feed(between, octet_frame("<13>1 done"), 4, 1024) == Events{"O:<13>1 done"});
  CHECK(between.stats().truncated_frames == 0);
}

TEST_CASE("in_frame tells whether the sender stopped in the middle of a message") {
  SyslogFramer framer;
  std::string_view input = "11 <13>";
  CHECK_FALSE(framer.extract(&input));
  CHECK(framer.in_frame());
  CHECK(framer.buffered_bytes() == 4);
  input = "1 hello";
  REQUIRE(framer.extract(&input));
  CHECK_FALSE(framer.in_frame());
}

}  // namespace cg::atna
