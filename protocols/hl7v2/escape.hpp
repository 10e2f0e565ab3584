#pragma once
// HL7v2 escape sequences (v2.5 §2.7), for one atomic value (a subcomponent, or a component or
// field without subcomponents). Works on bytes in the message's character set; the charset
// conversion (charset.hpp) happens around it. Pure functions; thread-safe.
//
// unescape() maps:
// - \F\ \S\ \T\ \R\ \E\ (and \P\ when MSH-2 declares a truncation character) to the delimiter;
// - \Xhh..\ (pairs of hex digits, either case) to those bytes;
// - \.br\ to a line break ("\n").
// Formatting escapes — \H\ \N\ \.sp n\ \.in ±n\ \.ti ±n\ \.sk n\ \.ce\ \.fi\ \.nf\, the
// custom \Zxx..\ and the charset switches \Cxxyy\ \Mxxyyzz\ — are returned verbatim, escape
// characters included ("\H\"), by Formatting::kKeep. Formatting::kPlainText drops them
// instead, except that \.sp n\ and \.ce\ become line breaks and \.sk n\ spaces (n ≤ 20).
// Anything else that starts with the escape character (an unknown or malformed sequence, odd
// hex digits, a missing closing escape character) is kept verbatim: never an error.
//
// Because kKeep returns formatting escapes verbatim, the text "\H\" can come from a highlight
// (\H\) or from literal characters (\E\H\E\). escape() writes each escape character as
// \E\ unless asked to keep formatting escapes, so set() stores literal text and
// set_formatted() stores formatting: set_formatted(path, get(path)) keeps a formatted value.

#include <string>
#include <string_view>

#include "protocols/hl7v2/delimiters.hpp"

namespace cg::hl7v2 {

enum class Formatting { kKeep, kPlainText };

std::string unescape(std::string_view raw, const Delimiters& delimiters,
                     Formatting formatting = Formatting::kKeep);

struct EscapeOptions {
  // Write well-formed formatting escapes found in the text as escapes (see above).
  bool keep_formatting = false;
  // Write bytes 0x80..0xFF as \Xhh..\ (keeps an ASCII message 7-bit).
  bool hex_non_ascii = false;
};

// Escapes delimiters (\F\ \S\ \T\ \R\ \E\ \P\), writes "\n" as \.br\ and "\r" as \X0D\, so the
// result can stand as one atomic value: unescape(escape(x)) == x for every x. The text `""`
// (HL7's explicit null when it is a whole value) is written \X2222\: set_null() writes nulls.
std::string escape(std::string_view text, const Delimiters& delimiters, EscapeOptions options = {});

}  // namespace cg::hl7v2
