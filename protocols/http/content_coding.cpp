#include "protocols/http/content_coding.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "protocols/http/gzip.hpp"

namespace cg::http {
namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the text before `sep` (the whole rest when absent) and advances `s`.
std::string_view next_item(std::string_view& s, char sep) {
  const auto pos = s.find(sep);
  std::string_view item = s.substr(0, pos);
  s = pos == std::string_view::npos ? std::string_view{} : s.substr(pos + 1);
  return trim(item);
}

bool is_gzip_token(std::string_view coding) {
  return iequals(coding, "gzip") || iequals(coding, "x-gzip");
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )   (RFC 9110 §12.4.2)
bool valid_qvalue(std::string_view q) {
  if (q.empty() || q.size() > 5 || (q[0] != '0' && q[0] != '1')) return false;
  if (q.size() == 1) return true;
  if (q[1] != '.') return false;
  const char max_digit = q[0] == '1' ? '0' : '9';
  return std::all_of(q.begin() + 2, q.end(), [&](char c) { return c >= '0' && c <= max_digit; });
}

// A malformed qvalue counts as zero: falling back to identity is always safe.
bool qvalue_is_zero(std::string_view q) {
  if (!valid_qvalue(q)) return true;
  return q[0] == '0' &&
         std::all_of(q.begin() + 1, q.end(), [](char c) { return c == '.' || c == '0'; });
}

struct CodingPreference {
  std::string_view coding;
  bool acceptable = true;
};

// Parses one element of Accept-Encoding: `coding *( OWS ";" OWS name "=" value )`.
CodingPreference parse_preference(std::string_view element) {
  CodingPreference pref{next_item(element, ';')};
  while (!element.empty()) {
    std::string_view param = next_item(element, ';');
    std::string_view name = next_item(param, '=');
    if (iequals(name, "q")) pref.acceptable = !qvalue_is_zero(param);
  }
  return pref;
}

// Content types whose bodies are compressed already; gzip would only cost CPU.
bool already_compressed(std::string_view content_type) {
  constexpr std::array<std::string_view, 6> kPrefixes = {
      "image/jpeg", "image/png", "image/webp", "application/zip", "application/gzip", "video/"};
  return std::any_of(kPrefixes.begin(), kPrefixes.end(), [&](std::string_view p) {
    return content_type.size() >= p.size() && iequals(content_type.substr(0, p.size()), p);
  });
}

bool lists_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::string_view item = next_item(list, ',');
    if (item == "*" || iequals(item, token)) return true;
  }
  return false;
}

void add_vary_accept_encoding(Response& response) {
  std::string vary(response.header("Vary"));
  if (vary.empty()) {
    response.set_header("Vary", "Accept-Encoding");
  } else if (!lists_token(vary, "Accept-Encoding")) {
    response.set_header("Vary", vary + ", Accept-Encoding");
  }
}

}  // namespace

ContentCoding parse_content_encoding(std::string_view header) {
  header = trim(header);
  if (header.empty() || iequals(header, "identity")) return ContentCoding::kIdentity;
  if (is_gzip_token(header)) return ContentCoding::kGzip;
  return ContentCoding::kUnsupported;
}

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<bool> explicit_gzip;
  std::optional<bool> wildcard;
  while (!accept_encoding.empty()) {
    const CodingPreference pref = parse_preference(next_item(accept_encoding, ','));
    if (is_gzip_token(pref.coding)) {
      explicit_gzip = explicit_gzip.value_or(false) || pref.acceptable;
    } else if (pref.coding == "*") {
      wildcard = pref.acceptable;
    }
  }
  if (explicit_gzip) return *explicit_gzip;
  return wildcard.value_or(false);
}

Status decode_request_body(Request& request, std::size_t limit) {
  switch (parse_content_encoding(request.header("Content-Encoding"))) {
    case ContentCoding::kIdentity:
      return ok_status();
    case ContentCoding::kUnsupported:
      return Error::unsupported("unsupported Content-Encoding; only gzip is accepted");
    case ContentCoding::kGzip:
      break;
  }
  Result<std::string> inflated = gzip_inflate(request.body, limit);
  if (!inflated) return inflated.take_error();
  request.body = std::move(inflated).value();
  std::erase_if(request.headers, [](const auto& h) {
    return iequals(h.first, "Content-Encoding") || iequals(h.first, "Content-Length");
  });
  return ok_status();
}

void compress_response(std::string_view accept_encoding, Response& response,
                       std::size_t min_bytes) {
  if (response.body.size() < min_bytes || response.body.empty()) return;
  if (!response.header("Content-Encoding").empty()) return;
  if (already_compressed(response.header("Content-Type"))) return;
  add_vary_accept_encoding(response);
  if (!accepts_gzip(accept_encoding)) return;
  Result<std::string> compressed = gzip_compress(response.body);
  if (!compressed) return;  // identity is always a correct answer
  response.body = std::move(compressed).value();
  response.set_header("Content-Encoding", "gzip");
}

}  // namespace cg::http
