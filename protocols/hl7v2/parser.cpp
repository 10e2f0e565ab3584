#include "protocols/hl7v2/parser.hpp"

#include <algorithm>
#include <string>

#include "protocols/hl7v2/error.hpp"

namespace cg::hl7v2 {

namespace detail {

// The parser's access to the insides of Message and Segment.
class MessageBuilder {
 public:
  static Message make(const Delimiters& delimiters, Charset charset) {
    return Message(delimiters, charset);
  }
  static Segment& add_segment(Message& message, std::string_view id) {
    message.segments_.push_back(message.make_segment(id));
    return message.segments_.back();
  }
  static std::vector<std::string>& fields(Segment& segment) { return segment.fields_; }
  static void set_canonical_input(Message& message, bool canonical) {
    message.canonical_input_ = canonical;
  }
};

}  // namespace detail

namespace {

using detail::MessageBuilder;

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::size_t npos = std::string_view::npos;

// One segment's text and where the next one starts.
struct Line {
  std::string_view text;
  std::size_t next = 0;
  bool canonical_end = true;  // ended by a single "\r"
};

Line read_line(std::string_view in, std::size_t pos) {
  std::size_t end = in.find_first_of("\r\n", pos);
  if (end == npos) return {in.substr(pos), in.size(), false};
  Line line{in.substr(pos, end - pos), end + 1, in[end] == '\r'};
  if (in[end] == '\r' && end + 1 < in.size() && in[end + 1] == '\n') {
    line.next = end + 2;
    line.canonical_end = false;
  }
  return line;
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// True when `line` is a segment with id `id` ("MSH", "MSH|...").
bool starts_segment(std::string_view line, std::string_view id) {
  return line.substr(0, 3) == id && (line.size() == 3 || !is_alnum(line[3]));
}

void split_fields(std::string_view text, char separator, std::vector<std::string>& out) {
  std::size_t begin = 0;
  while (true) {
    std::size_t end = text.find(separator, begin);
    out.emplace_back(text.substr(begin, end == npos ? npos : end - begin));
    if (end == npos) return;
    begin = end + 1;
  }
}

Error too_large(std::string message, const ErrorLocation& location = {}) {
  return make_error(ErrorCode::kApplicationInternalError, ErrorKind::kTooLarge, std::move(message),
                    location);
}

// Parses the MSH line: its delimiters, fields and charset.
Result<Message> parse_header(std::string_view line, bool bom, const ParseOptions& options) {
  if (!starts_segment(line, "MSH")) {
    return make_error(ErrorCode::kSegmentSequenceError, "message does not start with MSH");
  }
  if (line.size() < 4) {
    return make_error(ErrorCode::kDataTypeError, "MSH-1 is missing", {"MSH", 1, 1});
  }
  std::string_view encoding = line.substr(4, line.find(line[3], 4) - 4);
  auto delimiters = Delimiters::from_header(line[3], encoding);
  if (!delimiters) return delimiters.take_error();
  std::string_view rest = line.substr(4 + encoding.size());
  if (static_cast<std::size_t>(std::count(rest.begin(), rest.end(), line[3])) + 2 >
      options.max_fields_per_segment) {
    return too_large("MSH has more fields than allowed", {"MSH", 1});
  }
  std::vector<std::string> fields{std::string(1, line[3]), std::string(encoding)};
  if (!rest.empty()) split_fields(rest.substr(1), line[3], fields);

  // MSH-18's first repetition names the charset; later ones (ISO 2022 alternatives) are kept
  // but not interpreted.
  Charset charset = bom ? Charset::kUtf8 : options.default_charset;
  if (fields.size() >= 18) {
    std::string_view msh18 = fields[17];
    msh18 = msh18.substr(0, msh18.find(delimiters->repetition));
    msh18 = msh18.substr(0, msh18.find(delimiters->component));
    std::string name = unescape(msh18, *delimiters);
    if (!is_blank(name)) {
      auto named = charset_from_name(name);
      if (named) {
        charset = *named;
      } else if (options.reject_unknown_charset) {
        return make_error(ErrorCode::kTableValueNotFound, ErrorKind::kUnsupported,
                          "MSH-18 names a character set the gateway does not read", {"MSH", 1, 18});
      }
    }
  }
  Message message = MessageBuilder::make(*delimiters, charset);
  MessageBuilder::fields(MessageBuilder::add_segment(message, "MSH")) = std::move(fields);
  return message;
}

Status add_segment(Message& message, std::string_view line, std::size_t ordinal,
                   const ParseOptions& options) {
  char separator = message.delimiters().field;
  std::string_view id = line.substr(0, 3);
  if (!is_segment_id(id) || (line.size() > 3 && line[3] != separator)) {
    return make_error(ErrorCode::kSegmentSequenceError,
                      "segment " + std::to_string(ordinal) + " has no valid segment id");
  }
  auto here = [&] { return ErrorLocation{std::string(id), message.count(id) + 1}; };
  if (id == "MSH") {
    return make_error(ErrorCode::kSegmentSequenceError, "a second MSH in one message", here());
  }
  if (message.segments().size() >= options.max_segments) {
    return too_large("message has more segments than allowed");
  }
  if (static_cast<std::size_t>(std::count(line.begin(), line.end(), separator)) >
      options.max_fields_per_segment) {
    return too_large("segment has more fields than allowed", here());
  }
  Segment& segment = MessageBuilder::add_segment(message, id);
  if (line.size() > 3) split_fields(line.substr(4), separator, MessageBuilder::fields(segment));
  return ok_status();
}

}  // namespace

Result<Message> parse(std::string_view bytes, const ParseOptions& options) {
  if (bytes.size() > options.max_message_bytes) {
    return too_large("message is larger than allowed");
  }
  const bool bom = bytes.substr(0, kBom.size()) == kBom;
  std::string_view in = bom ? bytes.substr(kBom.size()) : bytes;
  bool canonical = !bom;

  Line first = read_line(in, 0);
  while (is_blank(first.text) && first.next < in.size()) {  // leading empty lines
    canonical = false;
    first = read_line(in, first.next);
  }
  auto message = parse_header(first.text, bom, options);
  if (!message) return message;
  canonical = canonical && first.canonical_end;
  std::size_t ordinal = 1;
  for (std::size_t pos = first.next; pos < in.size();) {
    Line line = read_line(in, pos);
    pos = line.next;
    canonical = canonical && line.canonical_end;
    if (is_blank(line.text)) {
      canonical = false;
      continue;
    }
    auto added = add_segment(*message, line.text, ++ordinal, options);
    if (!added) return added.take_error();
  }
  MessageBuilder::set_canonical_input(*message, canonical);
  return message;
}

std::vector<std::string_view> split_messages(std::string_view bytes) {
  std::vector<std::string_view> out;
  std::size_t chunk_start = npos;
  auto close_chunk = [&](std::size_t end) {
    if (chunk_start != npos) out.push_back(bytes.substr(chunk_start, end - chunk_start));
    chunk_start = npos;
  };
  const std::size_t body = bytes.substr(0, kBom.size()) == kBom ? kBom.size() : 0;
  for (std::size_t pos = body; pos < bytes.size();) {
    Line line = read_line(bytes, pos);
    const std::size_t start = pos == body ? 0 : pos;  // a leading BOM stays with its message
    if (starts_segment(line.text, "MSH")) {
      close_chunk(start);
      chunk_start = start;
    } else if (starts_segment(line.text, "FHS") || starts_segment(line.text, "BHS") ||
               starts_segment(line.text, "BTS") || starts_segment(line.text, "FTS")) {
      close_chunk(start);
    } else if (chunk_start == npos && !is_blank(line.text)) {
      chunk_start = start;
    }
    pos = line.next;
  }
  close_chunk(bytes.size());
  return out;
}

}  // namespace cg::hl7v2
