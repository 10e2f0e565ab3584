#include "protocols/fhir/index/string_normalize.hpp"

#include <array>
#include <cstdint>

namespace cg::fhir {
namespace {

// Base letters (lowercase, without accents) for U+00C0..U+017F; "" where the code point is
// not a letter to fold (×, ÷ and the like keep their encoding).
constexpr std::array<const char*, 0x180 - 0xC0> kLatinFold = {
    // U+00C0..U+00FF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",  //
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",  //
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",  //
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",   //
    // U+0100..U+017F
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",    //
    "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",    //
    "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",    //
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",  //
    "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",    //
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",  //
    "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",    //
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",    //
};

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i, or returns
// UINT32_MAX (and advances by one byte) for an invalid sequence.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return UINT32_MAX;
  }
  std::uint32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return UINT32_MAX;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  i += len;
  return cp;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Lowercase Greek and Cyrillic capitals; accents on Greek vowels are dropped.
std::uint32_t fold_greek_cyrillic(std::uint32_t cp) {
  if (cp >= 0x0391 && cp <= 0x03A9) return cp + 0x20;  // Α..Ω
  switch (cp) {
    case 0x0386:
    case 0x03AC:
      return 0x03B1;  // Ά ά → α
    case 0x0388:
    case 0x03AD:
      return 0x03B5;  // Έ έ → ε
    case 0x0389:
    case 0x03AE:
      return 0x03B7;  // Ή ή → η
    case 0x038A:
    case 0x03AF:
      return 0x03B9;  // Ί ί → ι
    case 0x038C:
    case 0x03CC:
      return 0x03BF;  // Ό ό → ο
    case 0x038E:
    case 0x03CD:
      return 0x03C5;  // Ύ ύ → υ
    case 0x038F:
    case 0x03CE:
      return 0x03C9;  // Ώ ώ → ω
    case 0x03C2:
      return 0x03C3;  // final sigma
    default:
      break;
  }
  if (cp >= 0x0410 && cp <= 0x042F) return cp + 0x20;  // А..Я
  if (cp >= 0x0400 && cp <= 0x040F) cp += 0x50;        // Ѐ..Џ
  if (cp == 0x0451) return 0x0435;                     // ё → е
  return cp;
}

// Vietnamese letters (Latin Extended Additional U+1EA0..U+1EF9 and the horned o/u of
// Latin Extended-B) fold to their base vowel; nullptr for anything else.
const char* fold_vietnamese(std::uint32_t cp) {
  if (cp >= 0x1EA0 && cp <= 0x1EB7) return "a";
  if (cp >= 0x1EB8 && cp <= 0x1EC7) return "e";
  if (cp >= 0x1EC8 && cp <= 0x1ECB) return "i";
  if (cp >= 0x1ECC && cp <= 0x1EE3) return "o";
  if (cp >= 0x1EE4 && cp <= 0x1EF1) return "u";
  if (cp >= 0x1EF2 && cp <= 0x1EF9) return "y";
  if (cp == 0x01A0 || cp == 0x01A1) return "o";
  if (cp == 0x01AF || cp == 0x01B0) return "u";
  return nullptr;
}

}  // namespace

std::string normalize_for_search(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    std::uint32_t cp = next_code_point(text, i);
    if (cp == UINT32_MAX) {
      out += text[start];  // not UTF-8: keep the byte rather than lose data
    } else if (cp < 0x80) {
      out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp >= 0x0300 && cp <= 0x036F) {
      continue;  // combining diacritical mark (decomposed input): drop it
    } else if (cp >= 0xC0 && cp < 0x180 && *kLatinFold[cp - 0xC0] != '\0') {
      out += kLatinFold[cp - 0xC0];
    } else if (const char* base = fold_vietnamese(cp)) {
      out += base;
    } else {
      append_utf8(out, fold_greek_cyrillic(cp));
    }
  }
  return out;
}

}  // namespace cg::fhir
