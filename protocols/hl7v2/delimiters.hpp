#pragma once
// The delimiters of one HL7v2 message, as declared by its MSH-1 (field separator) and MSH-2
// (encoding characters: component, repetition, escape, subcomponent and, from v2.7, the
// optional truncation character). Pure values; thread-safe.

#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::hl7v2 {

struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
  char truncation = '\0';  // '\0' when MSH-2 has only four characters

  // The MSH-2 text: "^~\&", or "^~\&#" with a truncation character.
  std::string encoding_characters() const;

  // True for any of the six characters (the field separator included).
  bool is_delimiter(char c) const;

  // The delimiters declared by MSH-1 and MSH-2. Every character must be printable ASCII, not
  // a letter, digit or space, and different from the others; MSH-2 has four or five. Errors
  // are HL7 102 at MSH-1 or MSH-2 (see error.hpp).
  static Result<Delimiters> from_header(char field, std::string_view encoding_characters);

  bool operator==(const Delimiters&) const = default;
};

}  // namespace cg::hl7v2
