#include "protocols/hl7v2/charset.hpp"

#include <cstddef>
#include <cstdint>

#include "protocols/hl7v2/error.hpp"

namespace cg::hl7v2 {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// Length of the valid UTF-8 sequence at text[pos], 0 when there is none (overlong forms,
// surrogates and code points beyond U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  std::uint8_t b0 = byte(pos);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (pos + len > text.size()) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    std::uint8_t b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

void append_latin1_as_utf8(std::string& out, std::uint8_t b) {
  if (b < 0x80) {
    out += static_cast<char>(b);
  } else {
    out += static_cast<char>(0xC0 | (b >> 6));
    out += static_cast<char>(0x80 | (b & 0x3F));
  }
}

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (char c : bytes) append_latin1_as_utf8(out, static_cast<std::uint8_t>(c));
  return out;
}

std::string utf8_with_replacements(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    std::size_t len = utf8_sequence_length(bytes, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace

std::string_view charset_name(Charset charset) {
  switch (charset) {
    case Charset::kAscii:
      return "ASCII";
    case Charset::kLatin1:
      return "8859/1";
    case Charset::kUtf8:
      return "UNICODE UTF-8";
  }
  return "ASCII";
}

std::optional<Charset> charset_from_name(std::string_view name) {
  name = trim(name);
  if (iequals(name, "ASCII") || iequals(name, "ISO IR6")) return Charset::kAscii;
  if (iequals(name, "8859/1")) return Charset::kLatin1;
  if (iequals(name, "UNICODE UTF-8") || iequals(name, "UTF-8")) return Charset::kUtf8;
  return std::nullopt;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    std::size_t len = utf8_sequence_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string to_utf8(std::string_view bytes, Charset charset) {
  switch (charset) {
    case Charset::kLatin1:
      return latin1_to_utf8(bytes);
    case Charset::kUtf8:
      return utf8_with_replacements(bytes);
    case Charset::kAscii:
      return is_valid_utf8(bytes) ? std::string(bytes) : latin1_to_utf8(bytes);
  }
  return std::string(bytes);
}

Result<std::string> from_utf8(std::string_view utf8, Charset charset) {
  if (!is_valid_utf8(utf8)) {
    return make_error(ErrorCode::kDataTypeError, "value is not valid UTF-8");
  }
  if (charset != Charset::kLatin1) return std::string(utf8);
  std::string out;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    auto b = static_cast<std::uint8_t>(utf8[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
    } else if ((b == 0xC2 || b == 0xC3) && i + 1 < utf8.size()) {
      out += static_cast<char>(((b & 0x03) << 6) | (static_cast<std::uint8_t>(utf8[++i]) & 0x3F));
    } else {
      return make_error(ErrorCode::kDataTypeError,
                        "value has a character that ISO 8859-1 (MSH-18 8859/1) cannot hold");
    }
  }
  return out;
}

}  // namespace cg::hl7v2
