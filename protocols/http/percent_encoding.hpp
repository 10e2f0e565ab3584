#pragma once
// Percent-decoding (RFC 3986 §2.1) shared by the FHIR query parser and the OAuth2 token
// request parser, so both read an application/x-www-form-urlencoded string the same way;
// and the matching encoder for the form bodies the gateway sends (form_client.hpp).
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace cg::http {

// Decodes %XX escapes (either hex case); with `plus_is_space` (form-urlencoded bodies and
// query strings) also '+' as a space. nullopt for a truncated or non-hex escape: callers
// refuse the input rather than guess. Bytes are not checked for UTF-8 validity.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// Escapes every byte but the RFC 3986 unreserved ones (A–Z a–z 0–9 - . _ ~) as %XX
// (uppercase hex): safe in a path segment, a query name or value, and a form body.
std::string percent_encode(std::string_view s);

// application/x-www-form-urlencoded (WHATWG URL §5.2): A-Z a-z 0-9 * - . _ stay, a space
// becomes '+', every other byte %XX (upper case). percent_decode(…, true) reverses it.
std::string form_encode(std::string_view s);

}  // namespace cg::http
