#pragma once
// String helpers of the FHIRPath function library: UTF-8 aware length / index / substring
// (FHIRPath counts characters, not bytes), ASCII case mapping, split/replace, regular
// expressions with FHIRPath's single-line semantics (std::regex ECMAScript, '.' also
// matches newlines; inputs and patterns are size-limited and nested quantifiers such as
// (a*)* are refused, so backtracking stays bounded),
// and encode/decode/escape/unescape. Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::fhirpath {

std::string lower_ascii(std::string_view s);
std::string upper_ascii(std::string_view s);
std::string_view trim_view(std::string_view s);

std::int64_t utf8_length(std::string_view s);
// Character index of byte offset `byte`.
std::int64_t utf8_index(std::string_view s, std::size_t byte);
// Characters [start, start + length); nullopt when start is outside the string.
std::optional<std::string> utf8_substring(std::string_view s, std::int64_t start,
                                          std::optional<std::int64_t> length);
std::vector<std::string> utf8_chars(std::string_view s);

std::vector<std::string> split_string(std::string_view s, std::string_view separator);
// Replaces every occurrence; an empty pattern inserts the substitution between characters.
std::string replace_all(std::string_view s, std::string_view pattern, std::string_view with);

// matches() (search anywhere) or matchesFull() (whole string); Error for a bad pattern.
Result<bool> regex_matches(std::string_view s, std::string_view pattern, bool full);
Result<std::string> regex_replace_all(std::string_view s, std::string_view pattern,
                                      std::string_view with);

// "base64", "urlbase64", "hex"; nullopt for an unknown format or undecodable input.
std::optional<std::string> encode_string(std::string_view s, std::string_view format);
std::optional<std::string> decode_string(std::string_view s, std::string_view format);
// "html", "json".
std::optional<std::string> escape_string(std::string_view s, std::string_view format);
std::optional<std::string> unescape_string(std::string_view s, std::string_view format);

}  // namespace cg::fhirpath
