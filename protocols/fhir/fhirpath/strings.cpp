#include "protocols/fhir/fhirpath/strings.hpp"

#include <array>
#include <cctype>
#include <regex>
#include <vector>

namespace cg::fhirpath {
namespace {

constexpr std::size_t kMaxRegexInput = 4 * 1024;  // std::regex recurses per character
constexpr std::size_t kMaxPattern = 1024;

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// FHIRPath regexes are single-line: '.' matches newlines too. Rewrites unescaped dots
// outside character classes as [\s\S].
std::string single_line(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      out += c;
      out += pattern[++i];
      continue;
    }
    if (c == '[') in_class = true;
    if (c == ']') in_class = false;
    if (c == '.' && !in_class) {
      out += "[\\s\\S]";
    } else {
      out += c;
    }
  }
  return out;
}

// True for the shapes that make a backtracking engine take exponential time: a quantified
// group that contains a quantifier ("(a*)*", "(a+)+") and stacked quantifiers ("a*+",
// "a?+"); a lazy modifier ("a*?") and an optional group ("(a*)?") are fine.
bool has_nested_quantifier(std::string_view p) {
  enum class Prev { kOther, kQuantifier, kLazy, kQuantifiedGroup };
  std::vector<bool> group_quantified;  // per open group: contains a quantifier
  Prev prev = Prev::kOther;
  auto mark_group = [&] {
    if (!group_quantified.empty()) group_quantified.back() = true;
  };
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    Prev next = Prev::kOther;
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      // Skip the character class: its '(' and '*' are literals.
      for (++i; i < p.size() && p[i] != ']'; ++i) {
        if (p[i] == '\\') ++i;
      }
    } else if (c == '(') {
      group_quantified.push_back(false);
    } else if (c == ')') {
      const bool quantified = !group_quantified.empty() && group_quantified.back();
      if (!group_quantified.empty()) group_quantified.pop_back();
      if (quantified) {
        mark_group();
        next = Prev::kQuantifiedGroup;
      }
    } else if (c == '?') {
      if (prev == Prev::kLazy) return true;
      next = prev == Prev::kQuantifier ? Prev::kLazy : Prev::kQuantifier;
      mark_group();
    } else if (c == '*' || c == '+' || c == '{') {
      if (prev != Prev::kOther) return true;
      mark_group();
      next = Prev::kQuantifier;
      if (c == '{') {
        while (i < p.size() && p[i] != '}') ++i;
      }
    }
    prev = next;
  }
  return false;
}

Result<std::regex> make_regex(std::string_view pattern) {
  if (pattern.size() > kMaxPattern) return Error::invalid("regular expression too long");
  if (has_nested_quantifier(pattern)) {
    return Error::invalid("nested quantifiers are not supported in regular expressions");
  }
  try {
    return std::regex(single_line(pattern), std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return Error::invalid("invalid regular expression");
  }
}

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string upper_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
std::string_view trim_view(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::int64_t utf8_length(std::string_view s) {
  std::int64_t n = 0;
  for (char c : s) n += !is_continuation(c);
  return n;
}
std::int64_t utf8_index(std::string_view s, std::size_t byte) {
  return utf8_length(s.substr(0, byte));
}
std::vector<std::string> utf8_chars(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = i + 1;
    while (j < s.size() && is_continuation(s[j])) ++j;
    out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}
std::optional<std::string> utf8_substring(std::string_view s, std::int64_t start,
                                          std::optional<std::int64_t> length) {
  const std::int64_t n = utf8_length(s);
  if (start < 0 || start >= n) return std::nullopt;
  std::int64_t end = n;
  if (length) end = *length <= 0 ? start : std::min(n, start + *length);
  std::string out;
  std::int64_t k = -1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!is_continuation(s[i])) ++k;
    if (k >= start && k < end) out += s[i];
  }
  return out;
}

std::vector<std::string> split_string(std::string_view s, std::string_view separator) {
  std::vector<std::string> out;
  if (separator.empty()) {
    return utf8_chars(s);
  }
  std::size_t pos = 0;
  for (;;) {
    const std::size_t next = s.find(separator, pos);
    if (next == std::string_view::npos) {
      out.emplace_back(s.substr(pos));
      return out;
    }
    out.emplace_back(s.substr(pos, next - pos));
    pos = next + separator.size();
  }
}

std::string replace_all(std::string_view s, std::string_view pattern, std::string_view with) {
  std::string out;
  if (pattern.empty()) {
    out += with;
    for (const std::string& ch : utf8_chars(s)) {
      out += ch;
      out += with;
    }
    return out;
  }
  std::size_t pos = 0;
  for (;;) {
    const std::size_t next = s.find(pattern, pos);
    if (next == std::string_view::npos) break;
    out += s.substr(pos, next - pos);
    out += with;
    pos = next + pattern.size();
  }
  out += s.substr(pos);
  return out;
}

Result<bool> regex_matches(std::string_view s, std::string_view pattern, bool full) {
  if (s.size() > kMaxRegexInput) return Error::invalid("string too long for matches()");
  auto re = make_regex(pattern);
  if (!re) return re.take_error();
  try {
    const std::string text(s);
    return full ? std::regex_match(text, *re) : std::regex_search(text, *re);
  } catch (const std::regex_error&) {
    return Error::invalid("regular expression too complex");
  }
}

Result<std::string> regex_replace_all(std::string_view s, std::string_view pattern,
                                      std::string_view with) {
  if (pattern.empty()) return std::string(s);
  if (s.size() > kMaxRegexInput) return Error::invalid("string too long for replaceMatches()");
  auto re = make_regex(pattern);
  if (!re) return re.take_error();
  try {
    return std::regex_replace(std::string(s), *re, std::string(with));
  } catch (const std::regex_error&) {
    return Error::invalid("regular expression too complex");
  }
}

std::optional<std::string> encode_string(std::string_view s, std::string_view format) {
  if (format == "hex") {
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    return out;
  }
  if (format != "base64" && format != "urlbase64") return std::nullopt;
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(s[i]) << 16) |
                       (static_cast<unsigned char>(s[i + 1]) << 8) |
                       static_cast<unsigned char>(s[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i < s.size()) {
    unsigned v = static_cast<unsigned char>(s[i]) << 16;
    if (i + 1 < s.size()) v |= static_cast<unsigned char>(s[i + 1]) << 8;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < s.size() ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  if (format == "urlbase64") {
    for (char& c : out) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  }
  return out;
}

std::optional<std::string> decode_string(std::string_view s, std::string_view format) {
  if (format == "hex") {
    if (s.size() % 2) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < s.size(); i += 2) {
      int v = 0;
      for (std::size_t k = i; k < i + 2; ++k) {
        const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[k])));
        if (c >= '0' && c <= '9')
          v = v * 16 + (c - '0');
        else if (c >= 'a' && c <= 'f')
          v = v * 16 + (c - 'a' + 10);
        else
          return std::nullopt;
      }
      out += static_cast<char>(v);
    }
    return out;
  }
  if (format != "base64" && format != "urlbase64") return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    if (c == '-') c = '+';
    if (c == '_') c = '/';
    const std::size_t v = kBase64.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::optional<std::string> escape_string(std::string_view s, std::string_view format) {
  std::string out;
  if (format == "html") {
    for (char c : s) {
      switch (c) {
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '&':
          out += "&amp;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          out += c;
      }
    }
    return out;
  }
  if (format == "json") {
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  }
  return std::nullopt;
}

std::optional<std::string> unescape_string(std::string_view s, std::string_view format) {
  std::string out;
  if (format == "html") {
    static constexpr std::array<std::pair<std::string_view, char>, 5> kEntities = {
        {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&#39;", '\''}}};
    for (std::size_t i = 0; i < s.size();) {
      bool done = false;
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out += c;
          i += entity.size();
          done = true;
          break;
        }
      }
      if (!done) out += s[i++];
    }
    return out;
  }
  if (format == "json") {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out += s[i];
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace cg::fhirpath
