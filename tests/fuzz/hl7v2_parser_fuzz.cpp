// libFuzzer target: the HL7v2 parser and serializer. Any input either fails to parse with an
// Error (deterministically, with a readable 0357 code) or parses to a Message whose
// serialization is canonical: it re-parses, and serializes to the same bytes again. A
// canonical input serializes to itself. Every value can be read; any valid UTF-8 text set
// into a value reads back unchanged, also after a round trip through the serialized form.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/hl7v2/hl7v2.hpp"

namespace {

using namespace cg::hl7v2;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

ParseOptions options() {
  ParseOptions o;
  o.max_message_bytes = 256 * 1024;
  o.max_segments = 1'000;
  o.max_fields_per_segment = 300;
  return o;
}

void read_every_value(const Message& m) {
  for (const Segment& s : m.segments()) {
    for (int f = 1; f <= std::min(s.field_count(), 40); ++f) {
      (void)s.presence(f);
      for (int r = 1; r <= std::min(std::max(s.repetition_count(f), 1), 4); ++r) {
        for (int c = 1; c <= std::min(std::max(s.component_count(f, r), 1), 8); ++c) {
          (void)s.subcomponent_count(f, r, c);
          (void)s.get(f, r, c, 1);
          (void)s.get(f, r, c, 2, Formatting::kPlainText);
        }
      }
    }
  }
  (void)read_header(m);
  (void)check_header(m);
}

// set() then get() gives the text back, before and after serializing.
void check_value_round_trip(const Message& parsed, std::string_view text) {
  if (!is_valid_utf8(text)) return;
  Message m = Message::create(parsed.delimiters(), parsed.charset());
  check(m.append_segment("ZZZ").ok());
  auto set = m.set("ZZZ-2(2).3.2", text);
  if (!set) {
    check(parsed.charset() == Charset::kLatin1);  // beyond U+00FF
    return;
  }
  check(m.get("ZZZ-2(2).3.2") == text);
  auto reparsed = parse(m.serialize(), options());
  check(reparsed.ok());
  check(reparsed->get("ZZZ-2(2).3.2") == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto first = parse(text, options());
  if (!first) {
    check(!parse(text, options()).ok());  // deterministic
    (void)error_code(first.error());
    (void)error_location(first.error());
  } else {
    const std::string once = first->serialize();
    if (first->canonical_input()) check(once == text);
    ParseOptions again = options();
    again.max_message_bytes += 1;  // an unended last segment gains its "\r"
    auto second = parse(once, again);
    check(second.ok());
    check(second->canonical_input());
    check(second->charset() == first->charset() || !first->canonical_input());
    check(second->serialize() == once);
    read_every_value(*first);
    check_value_round_trip(*first, text.substr(0, 200));
  }
  for (std::string_view part : split_messages(text)) (void)parse(part, options());
  auto path = parse_path(text.substr(0, 40));
  if (path) check(*parse_path(to_string(*path)) == *path);
  return 0;
}
