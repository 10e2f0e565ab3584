#include "protocols/hl7v2/path.hpp"

#include <cstddef>

namespace cg::hl7v2 {
namespace {

bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads 1..max at text[pos]; advances pos. 0 when there is no valid number there.
int read_number(std::string_view text, std::size_t& pos, int max) {
  long long n = 0;
  std::size_t start = pos;
  while (pos < text.size() && is_digit(text[pos])) {
    n = n * 10 + (text[pos] - '0');
    if (n > max) return 0;
    ++pos;
  }
  if (pos == start || n < 1) return 0;
  return static_cast<int>(n);
}

// Reads "<open>n<close>" when text[pos] == open; 0 (and pos unchanged) when it does not start
// there, -1 when it starts there but is malformed.
int read_bracketed(std::string_view text, std::size_t& pos, char open, char close, int max) {
  if (pos >= text.size() || text[pos] != open) return 0;
  std::size_t p = pos + 1;
  int n = read_number(text, p, max);
  if (n == 0 || p >= text.size() || text[p] != close) return -1;
  pos = p + 1;
  return n;
}

// Reads "<sep>n" with sep '.' or '-' (or only '-' when dash_only); same results as above.
int read_separated(std::string_view text, std::size_t& pos, bool dash_only) {
  if (pos >= text.size()) return 0;
  char c = text[pos];
  if (c != '-' && (dash_only || c != '.')) return 0;
  std::size_t p = pos + 1;
  int n = read_number(text, p, kMaxPathNumber);
  if (n == 0) return -1;
  pos = p;
  return n;
}

}  // namespace

bool is_segment_id(std::string_view id) {
  return id.size() == 3 && is_upper(id[0]) && (is_upper(id[1]) || is_digit(id[1])) &&
         (is_upper(id[2]) || is_digit(id[2]));
}

Result<Path> parse_path(std::string_view text) {
  auto invalid = [&] { return Error::invalid("malformed HL7v2 path", std::string(text)); };
  if (text.size() < 3 || !is_segment_id(text.substr(0, 3))) return invalid();
  Path path;
  path.segment = std::string(text.substr(0, 3));
  std::size_t pos = 3;
  int occurrence = read_bracketed(text, pos, '[', ']', kMaxPathOccurrence);
  if (occurrence == 0) occurrence = read_bracketed(text, pos, '(', ')', kMaxPathOccurrence);
  if (occurrence < 0) return invalid();
  path.occurrence = occurrence;
  if ((path.field = read_separated(text, pos, /*dash_only=*/true)) > 0) {
    if ((path.repetition = read_bracketed(text, pos, '(', ')', kMaxPathNumber)) < 0) {
      return invalid();
    }
    if ((path.component = read_separated(text, pos, false)) > 0) {
      path.subcomponent = read_separated(text, pos, false);
    }
  }
  if (path.field < 0 || path.component < 0 || path.subcomponent < 0 || pos != text.size()) {
    return invalid();
  }
  return path;
}

std::string to_string(const Path& path) {
  std::string out = path.segment;
  if (path.occurrence > 0) out += '[' + std::to_string(path.occurrence) + ']';
  if (path.field <= 0) return out;
  out += '-' + std::to_string(path.field);
  if (path.repetition > 0) out += '(' + std::to_string(path.repetition) + ')';
  if (path.component <= 0) return out;
  out += '.' + std::to_string(path.component);
  if (path.subcomponent > 0) out += '.' + std::to_string(path.subcomponent);
  return out;
}

}  // namespace cg::hl7v2
