#pragma once
// Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded, as JOSE writes it), the one
// implementation the gateway uses: Basic client credentials, JWTs and JWKs, search cursors,
// base64Binary values of audit records.
//
// Decoding is strict, so that a text has one spelling: only the alphabet's characters (no
// whitespace), base64 padded to a multiple of four with '=' only at the end, base64url
// without padding, and trailing bits that are zero (otherwise two texts would decode to the
// same bytes). nullopt for anything else. Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace cg {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace cg
