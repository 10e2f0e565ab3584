#include "protocols/hl7v2/escape.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace cg::hl7v2 {
namespace {

// Longest run of line breaks or spaces a \.sp n\ or \.sk n\ turns into in plain text.
constexpr int kMaxPlainRepeat = 20;

enum class SequenceKind {
  kDelimiter,   // \F\ \S\ \T\ \R\ \E\ \P\: `delimiter` holds the character
  kHex,         // \Xhh..\: `bytes` holds the decoded bytes
  kLineBreak,   // \.br\ (a line break)
  kFormatting,  // kept verbatim, dropped in plain text
  kLines,       // \.sp n\ \.ce\: `count` line breaks in plain text
  kSpaces,      // \.sk n\: `count` spaces in plain text
  kMalformed,
};

struct Sequence {
  SequenceKind kind = SequenceKind::kMalformed;
  char delimiter = '\0';
  int count = 0;
  std::string bytes;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool all_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return hex_value(c) >= 0; });
}

// "", " n", "n", and with `signed_number` also "+n" / "-n" (n: 1-6 digits). Returns the
// number (1 when absent), or -1 when `arg` has another form.
int parse_argument(std::string_view arg, bool signed_number) {
  if (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  if (arg.empty()) return 1;
  if (signed_number && (arg.front() == '+' || arg.front() == '-')) arg.remove_prefix(1);
  if (arg.empty() || arg.size() > 6 || !std::all_of(arg.begin(), arg.end(), is_digit)) return -1;
  int n = 0;
  for (char c : arg) n = n * 10 + (c - '0');
  return n;
}

Sequence formatting_command(std::string_view seq) {
  // seq starts with '.'; commands are two letters after it.
  std::string_view cmd = seq.substr(1, 2);
  std::string_view arg = seq.substr(std::min<std::size_t>(seq.size(), 3));
  Sequence s;
  if (cmd == "br" && arg.empty()) {
    s.kind = SequenceKind::kLineBreak;
  } else if ((cmd == "fi" || cmd == "nf") && arg.empty()) {
    s.kind = SequenceKind::kFormatting;
  } else if (cmd == "ce" && arg.empty()) {
    s.kind = SequenceKind::kLines;
    s.count = 1;
  } else if ((cmd == "in" || cmd == "ti") && parse_argument(arg, true) >= 0) {
    s.kind = SequenceKind::kFormatting;
  } else if (cmd == "sp" || cmd == "sk") {
    int n = parse_argument(arg, false);
    if (n >= 0) {
      s.kind = cmd == "sp" ? SequenceKind::kLines : SequenceKind::kSpaces;
      s.count = std::min(n, kMaxPlainRepeat);
    }
  }
  return s;
}

// The truncation character is no separator: it splits nothing.
bool is_separator(char c, const Delimiters& d) {
  return c == d.field || c == d.component || c == d.repetition || c == d.subcomponent ||
         c == d.escape;
}

// What the text between two escape characters means. A well-formed sequence holds only
// printable ASCII and no separator, which also makes it safe to copy verbatim into a value.
// (The truncation character may appear: it separates nothing, and if it is '.' the
// formatting commands still have to work.)
Sequence classify(std::string_view seq, const Delimiters& d) {
  Sequence s;
  if (seq.empty()) return s;
  for (char c : seq) {
    if (c < ' ' || c > '~' || is_separator(c, d)) return s;
  }
  if (seq.size() == 1) {
    char c = seq[0];
    char delimiter = c == 'F'   ? d.field
                     : c == 'S' ? d.component
                     : c == 'T' ? d.subcomponent
                     : c == 'R' ? d.repetition
                     : c == 'E' ? d.escape
                     : c == 'P' ? d.truncation
                                : '\0';
    if (delimiter != '\0') {
      s.kind = SequenceKind::kDelimiter;
      s.delimiter = delimiter;
    } else if (c == 'H' || c == 'N') {
      s.kind = SequenceKind::kFormatting;
    }
    return s;
  }
  std::string_view rest = seq.substr(1);
  switch (seq[0]) {
    case 'X':
      if (!rest.empty() && rest.size() % 2 == 0 && all_hex(rest)) {
        s.kind = SequenceKind::kHex;
        for (std::size_t i = 0; i < rest.size(); i += 2) {
          s.bytes += static_cast<char>(hex_value(rest[i]) * 16 + hex_value(rest[i + 1]));
        }
      }
      return s;
    case 'Z':
      s.kind = SequenceKind::kFormatting;  // "Z" plus at least one character
      return s;
    case 'C':
      if (rest.size() == 4 && all_hex(rest)) s.kind = SequenceKind::kFormatting;
      return s;
    case 'M':
      if ((rest.size() == 4 || rest.size() == 6) && all_hex(rest)) {
        s.kind = SequenceKind::kFormatting;
      }
      return s;
    case '.':
      return formatting_command(seq);
    default:
      return s;
  }
}

void append_plain(std::string& out, const Sequence& s) {
  if (s.kind == SequenceKind::kLines) out.append(static_cast<std::size_t>(s.count), '\n');
  if (s.kind == SequenceKind::kSpaces) out.append(static_cast<std::size_t>(s.count), ' ');
}

void append_escape(std::string& out, char escape, std::string_view body) {
  out += escape;
  out += body;
  out += escape;
}

}  // namespace

std::string unescape(std::string_view raw, const Delimiters& d, Formatting formatting) {
  std::string out;
  out.reserve(raw.size());
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t start = raw.find(d.escape, pos);
    if (start == std::string_view::npos) break;
    out.append(raw.substr(pos, start - pos));
    std::size_t end = raw.find(d.escape, start + 1);
    if (end == std::string_view::npos) {
      pos = start;  // unterminated: the rest is kept verbatim
      break;
    }
    std::string_view whole = raw.substr(start, end - start + 1);
    Sequence s = classify(raw.substr(start + 1, end - start - 1), d);
    switch (s.kind) {
      case SequenceKind::kDelimiter:
        out += s.delimiter;
        break;
      case SequenceKind::kHex:
        out += s.bytes;
        break;
      case SequenceKind::kLineBreak:
        out += '\n';
        break;
      case SequenceKind::kFormatting:
      case SequenceKind::kLines:
      case SequenceKind::kSpaces:
        if (formatting == Formatting::kKeep) {
          out += whole;
        } else {
          append_plain(out, s);
        }
        break;
      case SequenceKind::kMalformed:
        out += whole;
        break;
    }
    pos = end + 1;
  }
  out.append(raw.substr(std::min(pos, raw.size())));
  return out;
}

std::string escape(std::string_view text, const Delimiters& d, EscapeOptions options) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  // Two double quotes alone are HL7's explicit null; as text they need escaping.
  if (text == "\"\"") return std::string{d.escape} + "X2222" + d.escape;
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == d.escape && options.keep_formatting) {
      std::size_t end = text.find(d.escape, i + 1);
      if (end != std::string_view::npos) {
        Sequence s = classify(text.substr(i + 1, end - i - 1), d);
        if (s.kind == SequenceKind::kFormatting || s.kind == SequenceKind::kLineBreak ||
            s.kind == SequenceKind::kLines || s.kind == SequenceKind::kSpaces) {
          out.append(text.substr(i, end - i + 1));
          i = end;
          continue;
        }
      }
    }
    if (c == d.field) {
      append_escape(out, d.escape, "F");
    } else if (c == d.component) {
      append_escape(out, d.escape, "S");
    } else if (c == d.subcomponent) {
      append_escape(out, d.escape, "T");
    } else if (c == d.repetition) {
      append_escape(out, d.escape, "R");
    } else if (c == d.escape) {
      append_escape(out, d.escape, "E");
    } else if (d.truncation != '\0' && c == d.truncation) {
      append_escape(out, d.escape, "P");
    } else if (c == '\n') {
      // With '.' as a separator "\.br\" cannot be written: use hex.
      append_escape(out, d.escape, is_separator('.', d) ? "X0A" : ".br");
    } else if (c == '\r') {
      append_escape(out, d.escape, "X0D");
    } else if (options.hex_non_ascii && static_cast<std::uint8_t>(c) >= 0x80) {
      out += d.escape;
      out += 'X';
      for (; i < text.size() && static_cast<std::uint8_t>(text[i]) >= 0x80; ++i) {
        auto b = static_cast<std::uint8_t>(text[i]);
        out += kHexDigits[b >> 4];
        out += kHexDigits[b & 0x0F];
      }
      --i;
      out += d.escape;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace cg::hl7v2
