#pragma once
// The character sets the gateway accepts in MSH-18 and the conversions between a message's
// bytes and the UTF-8 its accessors return. Pure functions; thread-safe.
//
// A message keeps its text in its own character set, so serializing gives back the bytes
// received. Accessors convert values to UTF-8, setters convert back:
// - kAscii ("ASCII" or an empty MSH-18): real-world senders put UTF-8 or Latin-1 in such
//   messages, so a value that is valid UTF-8 is returned as it is and any other value is read
//   as ISO 8859-1. Setters keep the message 7-bit: non-ASCII bytes become \Xhh..\ escapes.
// - kLatin1 ("8859/1"): every byte maps to U+0000..U+00FF; values beyond U+00FF cannot be set.
// - kUtf8 ("UNICODE UTF-8"): invalid sequences read as U+FFFD (the raw bytes stay untouched).

#include <optional>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::hl7v2 {

enum class Charset { kAscii, kLatin1, kUtf8 };

// The HL7 table 0211 code: "ASCII", "8859/1", "UNICODE UTF-8".
std::string_view charset_name(Charset charset);

// The character set an MSH-18 value names (case-insensitive, surrounding spaces ignored):
// "ASCII", "ISO IR6" (ASCII); "8859/1"; "UNICODE UTF-8" and the common "UTF-8". nullopt for
// anything else, including an empty value (which means "the default" to the parser).
std::optional<Charset> charset_from_name(std::string_view name);

bool is_valid_utf8(std::string_view text);

// Bytes of a value in `charset` → UTF-8, as described above. Never fails.
std::string to_utf8(std::string_view bytes, Charset charset);

// UTF-8 → bytes in `charset`. kInvalid (HL7 102) when `utf8` is not valid UTF-8 or, for
// kLatin1, holds a character beyond U+00FF. kAscii returns the UTF-8 bytes unchanged (the
// escaper turns them into \X..\ escapes).
Result<std::string> from_utf8(std::string_view utf8, Charset charset);

}  // namespace cg::hl7v2
