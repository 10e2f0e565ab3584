#pragma once
// One HL7v2 message: segments → fields → repetitions → components → subcomponents.
//
// The message holds each field's text exactly as received — escaped, in the message's own
// character set — so serialize() gives back the bytes parsed (with "\r" segment terminators).
// Repetitions, components and subcomponents are found in that text when asked for.
//
// Two families of accessors:
// - value accessors (get, set, set_formatted, set_null) address one atomic value: a number
//   that is not given means the first, so get("PID-5") is PID-5(1).1.1, HAPI's convention.
//   get() unescapes (escape.hpp: formatting escapes stay verbatim unless Formatting::kPlainText)
//   and converts to UTF-8 (charset.hpp); set() takes UTF-8 and escapes everything, including
//   escape characters, so the text is stored literally. Neither touches the rest of the field.
// - raw accessors (raw, presence, set_raw) address the level given: raw("PID-3") is the whole
//   field with its repetitions, raw("PID-3(2)") the second repetition, escaped as stored.
// MSH-1 is the field separator and MSH-2 the encoding characters, as in HL7: get("MSH-1") is
// "|", get("MSH-2") "^~\&", never split or unescaped, and neither can be set.
//
// Errors of the setters are kInvalid (a bad path, text that cannot be stored at that level)
// or kNotFound (no such segment). Thread-safety: a plain value; const access from several
// threads is safe, mutation needs exclusive access. Views returned by raw() and segments()
// stay valid until the message is next modified.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/charset.hpp"
#include "protocols/hl7v2/delimiters.hpp"
#include "protocols/hl7v2/escape.hpp"
#include "protocols/hl7v2/path.hpp"

namespace cg::hl7v2 {

namespace detail {
class MessageBuilder;
}

// HL7 distinguishes a value that is not sent (absent: the receiver keeps what it has) from the
// explicit null "" (the receiver deletes what it has).
enum class Presence { kAbsent, kNull, kValued };

// One segment. Numbers are 1-based; 0 means "not given" (see the two families above).
class Segment {
 public:
  const std::string& id() const { return id_; }
  // Fields present, trailing empty ones included; for MSH, MSH-1 and MSH-2 count.
  int field_count() const { return static_cast<int>(fields_.size()); }

  std::string get(int field, int repetition = 1, int component = 1, int subcomponent = 1,
                  Formatting formatting = Formatting::kKeep) const;
  std::string_view raw(int field, int repetition = 0, int component = 0,
                       int subcomponent = 0) const;
  Presence presence(int field, int repetition = 0, int component = 0, int subcomponent = 0) const;

  // 0 when the field (repetition, component) is empty.
  int repetition_count(int field) const;
  int component_count(int field, int repetition = 1) const;
  int subcomponent_count(int field, int repetition = 1, int component = 1) const;

  // Missing fields, repetitions, components and subcomponents are added empty.
  Status set(int field, int repetition, int component, int subcomponent, std::string_view utf8);
  Status set_formatted(int field, int repetition, int component, int subcomponent,
                       std::string_view utf8);
  Status set_null(int field, int repetition = 0, int component = 0, int subcomponent = 0);
  // `escaped` must be in the message's charset and hold no segment terminator, no field
  // separator, and no separator of the level addressed or above.
  Status set_raw(int field, int repetition, int component, int subcomponent,
                 std::string_view escaped);

 private:
  friend class Message;
  friend class detail::MessageBuilder;

  bool is_header() const { return id_ == "MSH"; }
  Status replace(int field, int repetition, int component, int subcomponent,
                 std::string_view escaped);

  std::string id_;
  std::vector<std::string> fields_;  // fields_[0] is field 1
  Delimiters delimiters_;
  Charset charset_ = Charset::kAscii;
};

class Message {
 public:
  // A message holding only "MSH|^~\&" (MSH-18 set when the charset is not ASCII).
  static Message create(const Delimiters& delimiters = {}, Charset charset = Charset::kAscii);

  const Delimiters& delimiters() const { return delimiters_; }
  Charset charset() const { return charset_; }
  // True when serialize() reproduces the parsed bytes exactly: no BOM, every segment ended by
  // one "\r" (the last one too), no empty lines. Always true for create().
  bool canonical_input() const { return canonical_input_; }

  // In message order; segments()[0] is the MSH.
  const std::vector<Segment>& segments() const { return segments_; }
  Segment& segment(std::size_t index);
  // The occurrence-th (1-based) segment with this id; nullptr when there is none.
  const Segment* find(std::string_view id, int occurrence = 1) const;
  Segment* find(std::string_view id, int occurrence = 1);
  int count(std::string_view id) const;

  // Paths as in path.hpp. The string overloads assert that the path is well formed (paths are
  // written in code; parse_path() checks untrusted ones). Absent segments read as absent.
  std::string get(std::string_view path, Formatting formatting = Formatting::kKeep) const;
  std::string get(const Path& path, Formatting formatting = Formatting::kKeep) const;
  std::string get(std::string_view segment, int field, int repetition = 1, int component = 1,
                  int subcomponent = 1) const;
  std::string_view raw(std::string_view path) const;
  std::string_view raw(const Path& path) const;
  Presence presence(std::string_view path) const;
  Presence presence(const Path& path) const;

  // The segment must exist (append_segment() first); a bad path string is kInvalid.
  Status set(std::string_view path, std::string_view utf8);
  Status set_formatted(std::string_view path, std::string_view utf8);
  Status set_null(std::string_view path);
  Status set_raw(std::string_view path, std::string_view escaped);

  // Adds an empty segment and returns its index. `id` must be a segment id other than MSH.
  Result<std::size_t> append_segment(std::string_view id);
  // Inserts before `index` (1..segments().size()).
  Result<std::size_t> insert_segment(std::size_t index, std::string_view id);
  // Removes the segment at `index` (not the MSH).
  Status remove_segment(std::size_t index);

  // The message in its own charset, every segment ended by "\r".
  std::string serialize() const;

 private:
  friend class detail::MessageBuilder;
  Message(const Delimiters& delimiters, Charset charset);

  Segment make_segment(std::string_view id) const;
  Result<Segment*> segment_for(const Path& path);

  Delimiters delimiters_;
  Charset charset_ = Charset::kAscii;
  bool canonical_input_ = true;
  std::vector<Segment> segments_;
};

}  // namespace cg::hl7v2
