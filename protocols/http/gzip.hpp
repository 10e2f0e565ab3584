#pragma once
// gzip (RFC 1952) compression of response bodies and bounded inflation of request bodies.
//
// Pure functions over byte strings, no sockets; the server calls them, tests call them
// directly. Inflation stops as soon as the output would exceed `limit`, so a small
// "gzip bomb" never allocates more than the configured body limit.
// Thread-safety: stateless; safe from any thread.

#include <cstddef>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::http {

// Compresses `data` into one gzip member. Fails (kInternal) only when zlib cannot
// allocate its state.
Result<std::string> gzip_compress(std::string_view data, int level = 6);

// Inflates a gzip body (one or more concatenated members, RFC 1952 §2.2).
// kTooLarge when the inflated size would exceed `limit`; kInvalid for a corrupt,
// truncated or trailing-garbage stream. The error messages never contain body bytes.
Result<std::string> gzip_inflate(std::string_view data, std::size_t limit);

}  // namespace cg::http
