#include "protocols/hl7v2/message.hpp"

#include <algorithm>
#include <cassert>
#include <optional>
#include <utility>

namespace cg::hl7v2 {
namespace {

constexpr std::string_view kNull = "\"\"";

// The n-th (1-based) piece of `s` split at `sep`; nullopt when there are fewer. An empty `s`
// is one empty piece.
std::optional<std::string_view> piece(std::string_view s, char sep, int n) {
  std::size_t begin = 0;
  for (int i = 1; i < n; ++i) {
    std::size_t next = s.find(sep, begin);
    if (next == std::string_view::npos) return std::nullopt;
    begin = next + 1;
  }
  std::size_t end = s.find(sep, begin);
  return s.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
}

int count_pieces(std::string_view s, char sep) {
  if (s.empty()) return 0;
  return static_cast<int>(std::count(s.begin(), s.end(), sep)) + 1;
}

// `s` with its n-th piece replaced; missing pieces before it are added empty.
std::string replace_piece(std::string_view s, char sep, int n, std::string_view value) {
  constexpr std::size_t npos = std::string_view::npos;
  std::string out;
  out.reserve(s.size() + value.size() + static_cast<std::size_t>(n));
  std::size_t begin = 0;  // where the current piece starts in s; npos once s is used up
  for (int i = 1; i < n; ++i) {
    if (begin == npos) {
      out += sep;
      continue;
    }
    std::size_t next = s.find(sep, begin);
    if (next == npos) {
      out.append(s.substr(begin));
      out += sep;
      begin = npos;
    } else {
      out.append(s.substr(begin, next + 1 - begin));
      begin = next + 1;
    }
  }
  out.append(value);
  if (begin != npos) {
    std::size_t end = s.find(sep, begin);
    if (end != npos) out.append(s.substr(end));
  }
  return out;
}

// A number not given before a given one means the first: PID-3.4 is PID-3(1).4.
struct Level {
  int repetition, component, subcomponent;
};
Level fill_inner(int repetition, int component, int subcomponent) {
  if (subcomponent > 0 && component <= 0) component = 1;
  if (component > 0 && repetition <= 0) repetition = 1;
  return {std::max(repetition, 0), std::max(component, 0), std::max(subcomponent, 0)};
}

// The text of a level inside a field's text; level numbers of 0 stop the descent.
std::optional<std::string_view> locate(std::string_view field, const Delimiters& d, Level l) {
  std::optional<std::string_view> v = field;
  if (l.repetition > 0) v = piece(*v, d.repetition, l.repetition);
  if (v && l.component > 0) v = piece(*v, d.component, l.component);
  if (v && l.subcomponent > 0) v = piece(*v, d.subcomponent, l.subcomponent);
  return v;
}

bool valid_numbers(int field, Level l) {
  return field >= 1 && field <= kMaxPathNumber && l.repetition <= kMaxPathNumber &&
         l.component <= kMaxPathNumber && l.subcomponent <= kMaxPathNumber;
}

}  // namespace

// ---- Segment ----

std::string_view Segment::raw(int field, int repetition, int component, int subcomponent) const {
  if (field < 1 || field > field_count()) return {};
  const std::string& text = fields_[static_cast<std::size_t>(field - 1)];
  if (is_header() && field <= 2) {
    // MSH-1 and MSH-2 hold delimiters: they are one value, never split.
    return repetition <= 1 && component <= 1 && subcomponent <= 1 ? std::string_view(text)
                                                                  : std::string_view();
  }
  return locate(text, delimiters_, fill_inner(repetition, component, subcomponent))
      .value_or(std::string_view());
}

std::string Segment::get(int field, int repetition, int component, int subcomponent,
                         Formatting formatting) const {
  std::string_view text =
      raw(field, std::max(repetition, 1), std::max(component, 1), std::max(subcomponent, 1));
  if (is_header() && field <= 2) return std::string(text);
  if (text == kNull) return {};
  return to_utf8(unescape(text, delimiters_, formatting), charset_);
}

Presence Segment::presence(int field, int repetition, int component, int subcomponent) const {
  std::string_view text = raw(field, repetition, component, subcomponent);
  if (text == kNull) return Presence::kNull;
  const Delimiters& d = delimiters_;
  bool only_separators = std::all_of(text.begin(), text.end(), [&](char c) {
    return c == d.repetition || c == d.component || c == d.subcomponent;
  });
  return only_separators && !(is_header() && field <= 2) ? Presence::kAbsent : Presence::kValued;
}

int Segment::repetition_count(int field) const {
  if (is_header() && field <= 2) return raw(field).empty() ? 0 : 1;
  return count_pieces(raw(field), delimiters_.repetition);
}

int Segment::component_count(int field, int repetition) const {
  if (is_header() && field <= 2) return repetition_count(field);
  return count_pieces(raw(field, std::max(repetition, 1)), delimiters_.component);
}

int Segment::subcomponent_count(int field, int repetition, int component) const {
  if (is_header() && field <= 2) return repetition_count(field);
  return count_pieces(raw(field, std::max(repetition, 1), std::max(component, 1)),
                      delimiters_.subcomponent);
}

Status Segment::set(int field, int repetition, int component, int subcomponent,
                    std::string_view utf8) {
  auto bytes = from_utf8(utf8, charset_);
  if (!bytes) return bytes.take_error();
  EscapeOptions options;
  options.hex_non_ascii = charset_ == Charset::kAscii;
  return replace(field, std::max(repetition, 1), std::max(component, 1), std::max(subcomponent, 1),
                 escape(*bytes, delimiters_, options));
}

Status Segment::set_formatted(int field, int repetition, int component, int subcomponent,
                              std::string_view utf8) {
  auto bytes = from_utf8(utf8, charset_);
  if (!bytes) return bytes.take_error();
  EscapeOptions options;
  options.keep_formatting = true;
  options.hex_non_ascii = charset_ == Charset::kAscii;
  return replace(field, std::max(repetition, 1), std::max(component, 1), std::max(subcomponent, 1),
                 escape(*bytes, delimiters_, options));
}

Status Segment::set_null(int field, int repetition, int component, int subcomponent) {
  return replace(field, repetition, component, subcomponent, kNull);
}

Status Segment::set_raw(int field, int repetition, int component, int subcomponent,
                        std::string_view escaped) {
  const Delimiters& d = delimiters_;
  Level l = fill_inner(repetition, component, subcomponent);
  bool ok = std::none_of(escaped.begin(), escaped.end(), [&](char c) {
    return c == '\r' || c == '\n' || c == d.field || (l.repetition > 0 && c == d.repetition) ||
           (l.component > 0 && c == d.component) || (l.subcomponent > 0 && c == d.subcomponent);
  });
  if (!ok) return Error::invalid("text holds a separator of the level it is set at");
  return replace(field, repetition, component, subcomponent, escaped);
}

Status Segment::replace(int field, int repetition, int component, int subcomponent,
                        std::string_view escaped) {
  Level l = fill_inner(repetition, component, subcomponent);
  if (!valid_numbers(field, l)) return Error::invalid("field number out of range");
  if (is_header() && field <= 2) {
    return Error::invalid("MSH-1 and MSH-2 hold the delimiters and cannot be set");
  }
  const Delimiters& d = delimiters_;
  std::string_view old_field;
  if (field <= field_count()) old_field = fields_[static_cast<std::size_t>(field - 1)];
  std::string value(escaped);
  if (l.component > 0) {
    std::string_view old_rep = locate(old_field, d, {l.repetition, 0, 0}).value_or("");
    if (l.subcomponent > 0) {
      std::string_view old_comp = locate(old_field, d, {l.repetition, l.component, 0}).value_or("");
      value = replace_piece(old_comp, d.subcomponent, l.subcomponent, value);
    }
    value = replace_piece(old_rep, d.component, l.component, value);
  }
  if (l.repetition > 0) value = replace_piece(old_field, d.repetition, l.repetition, value);
  if (is_header() && field == 18) {
    // MSH-18 must keep naming the charset the message's text is in.
    std::string_view first = locate(value, d, {1, 1, 1}).value_or("");
    std::string name = unescape(first, d);
    if (!name.empty() && charset_from_name(name) != charset_) {
      return Error::invalid("MSH-18 must name the message's own character set");
    }
  }
  if (field > field_count()) fields_.resize(static_cast<std::size_t>(field));
  fields_[static_cast<std::size_t>(field - 1)] = std::move(value);
  return ok_status();
}

// ---- Message ----

Message::Message(const Delimiters& delimiters, Charset charset)
    : delimiters_(delimiters), charset_(charset) {}

Message Message::create(const Delimiters& delimiters, Charset charset) {
  assert(Delimiters::from_header(delimiters.field, delimiters.encoding_characters()).ok());
  Message m(delimiters, charset);
  Segment msh = m.make_segment("MSH");
  msh.fields_ = {std::string(1, delimiters.field), delimiters.encoding_characters()};
  if (charset != Charset::kAscii) {
    msh.fields_.resize(18);
    msh.fields_[17] = escape(charset_name(charset), delimiters);
  }
  m.segments_.push_back(std::move(msh));
  return m;
}

Segment Message::make_segment(std::string_view id) const {
  Segment s;
  s.id_ = std::string(id);
  s.delimiters_ = delimiters_;
  s.charset_ = charset_;
  return s;
}

Segment& Message::segment(std::size_t index) {
  assert(index < segments_.size());
  return segments_[index];
}

const Segment* Message::find(std::string_view id, int occurrence) const {
  int seen = 0;
  for (const Segment& s : segments_) {
    if (s.id() == id && ++seen == std::max(occurrence, 1)) return &s;
  }
  return nullptr;
}

Segment* Message::find(std::string_view id, int occurrence) {
  return const_cast<Segment*>(std::as_const(*this).find(id, occurrence));
}

int Message::count(std::string_view id) const {
  return static_cast<int>(std::count_if(segments_.begin(), segments_.end(),
                                        [&](const Segment& s) { return s.id() == id; }));
}

std::string Message::get(const Path& path, Formatting formatting) const {
  const Segment* s = find(path.segment, path.occurrence);
  if (s == nullptr) return {};
  return s->get(path.field, path.repetition, path.component, path.subcomponent, formatting);
}

std::string Message::get(std::string_view path, Formatting formatting) const {
  auto parsed = parse_path(path);
  assert(parsed.ok());
  return parsed ? get(*parsed, formatting) : std::string();
}

std::string Message::get(std::string_view segment, int field, int repetition, int component,
                         int subcomponent) const {
  const Segment* s = find(segment);
  return s == nullptr ? std::string() : s->get(field, repetition, component, subcomponent);
}

std::string_view Message::raw(const Path& path) const {
  const Segment* s = find(path.segment, path.occurrence);
  if (s == nullptr) return {};
  return s->raw(path.field, path.repetition, path.component, path.subcomponent);
}

std::string_view Message::raw(std::string_view path) const {
  auto parsed = parse_path(path);
  assert(parsed.ok());
  return parsed ? raw(*parsed) : std::string_view();
}

Presence Message::presence(const Path& path) const {
  const Segment* s = find(path.segment, path.occurrence);
  if (s == nullptr) return Presence::kAbsent;
  return s->presence(path.field, path.repetition, path.component, path.subcomponent);
}

Presence Message::presence(std::string_view path) const {
  auto parsed = parse_path(path);
  assert(parsed.ok());
  return parsed ? presence(*parsed) : Presence::kAbsent;
}

Result<Segment*> Message::segment_for(const Path& path) {
  Segment* s = find(path.segment, path.occurrence);
  if (s == nullptr)
    return Error::not_found("no " + to_string(Path{path.segment, path.occurrence}) + " segment");
  return s;
}

Status Message::set(std::string_view path, std::string_view utf8) {
  auto p = parse_path(path);
  if (!p) return p.take_error();
  auto s = segment_for(*p);
  if (!s) return s.take_error();
  return (*s)->set(p->field, p->repetition, p->component, p->subcomponent, utf8);
}

Status Message::set_formatted(std::string_view path, std::string_view utf8) {
  auto p = parse_path(path);
  if (!p) return p.take_error();
  auto s = segment_for(*p);
  if (!s) return s.take_error();
  return (*s)->set_formatted(p->field, p->repetition, p->component, p->subcomponent, utf8);
}

Status Message::set_null(std::string_view path) {
  auto p = parse_path(path);
  if (!p) return p.take_error();
  auto s = segment_for(*p);
  if (!s) return s.take_error();
  return (*s)->set_null(p->field, p->repetition, p->component, p->subcomponent);
}

Status Message::set_raw(std::string_view path, std::string_view escaped) {
  auto p = parse_path(path);
  if (!p) return p.take_error();
  auto s = segment_for(*p);
  if (!s) return s.take_error();
  return (*s)->set_raw(p->field, p->repetition, p->component, p->subcomponent, escaped);
}

Result<std::size_t> Message::append_segment(std::string_view id) {
  return insert_segment(segments_.size(), id);
}

Result<std::size_t> Message::insert_segment(std::size_t index, std::string_view id) {
  if (!is_segment_id(id) || id == "MSH") return Error::invalid("not a segment id other than MSH");
  if (index < 1 || index > segments_.size()) return Error::invalid("segment index out of range");
  segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(index), make_segment(id));
  return index;
}

Status Message::remove_segment(std::size_t index) {
  if (index < 1 || index >= segments_.size()) return Error::invalid("segment index out of range");
  segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(index));
  return ok_status();
}

std::string Message::serialize() const {
  std::size_t size = 0;
  for (const Segment& s : segments_) {
    size += 4 + s.fields_.size();
    for (const std::string& f : s.fields_) size += f.size();
  }
  std::string out;
  out.reserve(size);
  for (const Segment& s : segments_) {
    out += s.id_;
    std::size_t first = 0;
    if (s.is_header()) {
      // MSH-1 is the separator itself and MSH-2 follows it directly: "MSH|^~\&|...".
      out += s.fields_[0];
      out += s.fields_[1];
      first = 2;
    }
    for (std::size_t i = first; i < s.fields_.size(); ++i) {
      out += delimiters_.field;
      out += s.fields_[i];
    }
    out += '\r';
  }
  return out;
}

}  // namespace cg::hl7v2
