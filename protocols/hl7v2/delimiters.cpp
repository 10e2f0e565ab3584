#include "protocols/hl7v2/delimiters.hpp"

#include "protocols/hl7v2/error.hpp"

namespace cg::hl7v2 {
namespace {

bool is_allowed_delimiter(char c) {
  bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  return c > ' ' && c < 0x7f && !alnum;
}

}  // namespace

std::string Delimiters::encoding_characters() const {
  std::string out{component, repetition, escape, subcomponent};
  if (truncation != '\0') out += truncation;
  return out;
}

bool Delimiters::is_delimiter(char c) const {
  return c == field || c == component || c == repetition || c == escape || c == subcomponent ||
         (truncation != '\0' && c == truncation);
}

Result<Delimiters> Delimiters::from_header(char field, std::string_view encoding) {
  if (!is_allowed_delimiter(field)) {
    return make_error(ErrorCode::kDataTypeError, "MSH-1 is not a valid field separator",
                      {"MSH", 1, 1});
  }
  const ErrorLocation msh2{"MSH", 1, 2};
  if (encoding.size() < 4 || encoding.size() > 5) {
    return make_error(ErrorCode::kDataTypeError, "MSH-2 must hold 4 or 5 encoding characters",
                      msh2);
  }
  std::string all{field};
  for (char c : encoding) {
    if (!is_allowed_delimiter(c) || all.find(c) != std::string::npos) {
      return make_error(ErrorCode::kDataTypeError,
                        "MSH-2 encoding characters must be distinct punctuation", msh2);
    }
    all += c;
  }
  Delimiters d;
  d.field = field;
  d.component = encoding[0];
  d.repetition = encoding[1];
  d.escape = encoding[2];
  d.subcomponent = encoding[3];
  d.truncation = encoding.size() == 5 ? encoding[4] : '\0';
  return d;
}

}  // namespace cg::hl7v2
