#pragma once
// Content codings (RFC 9110 §8.4, §12.5.3) applied by the server around every handler:
// request bodies sent with `Content-Encoding: gzip` are inflated before the handler sees
// them, and response bodies are gzip-compressed when the client accepts it.
//
// Pure functions over cg::http values, no sockets, so every rule is unit-tested.
// Thread-safety: stateless; safe from any thread.

#include <cstddef>
#include <string_view>

#include "protocols/fhir/model/result.hpp"
#include "protocols/http/message.hpp"

namespace cg::http {

enum class ContentCoding { kIdentity, kGzip, kUnsupported };

// Classifies a Content-Encoding header value: "" and "identity" are kIdentity, "gzip" and
// its alias "x-gzip" are kGzip; anything else, including stacked codings, is kUnsupported.
ContentCoding parse_content_encoding(std::string_view header);

// Whether an Accept-Encoding header value allows gzip: listed as gzip/x-gzip with q > 0,
// or covered by "*" with q > 0 when not listed explicitly. An absent header ("") means
// the client did not ask for codings, so the answer is no (identity is always safe).
bool accepts_gzip(std::string_view accept_encoding);

// Inflates a gzip request body in place (at most `limit` bytes) and drops the
// Content-Encoding and Content-Length headers that described the wire form.
// kTooLarge over the limit, kInvalid for a corrupt stream, kUnsupported for codings other
// than gzip. Identity bodies are left untouched.
Status decode_request_body(Request& request, std::size_t limit);

// Compresses `response.body` with gzip when the body is at least `min_bytes`, the handler
// did not choose a Content-Encoding itself, the content type is not already compressed,
// and `accept_encoding` (the request's header) allows gzip. Whenever the choice depended
// on Accept-Encoding, `Vary: Accept-Encoding` is added so caches keep both forms apart.
void compress_response(std::string_view accept_encoding, Response& response, std::size_t min_bytes);

}  // namespace cg::http
