#include "protocols/fhir/index/string_normalize.hpp"

#include <doctest/doctest.h>

using cg::fhir::normalize_for_search;

TEST_CASE("case and accents are folded for Latin scripts") {
  CHECK(normalize_for_search("José") == "jose");
  CHECK(normalize_for_search("MÜLLER") == "muller");
  CHECK(normalize_for_search("Straße") == "strasse");
  CHECK(normalize_for_search("Ærø Łódź Œuvre") == "aero lodz oeuvre");
  CHECK(normalize_for_search("Nguyễn") == "nguyen");  // Vietnamese: base + combining marks
}

TEST_CASE("decomposed input folds like precomposed input") {
  CHECK(normalize_for_search("Jose\xCC\x81") == normalize_for_search("José"));
}

TEST_CASE("Greek and Cyrillic capitals are lowercased") {
  CHECK(normalize_for_search("ΑΘΗΝΆ") == "αθηνα");
  CHECK(normalize_for_search("ИВАНОВ Ёлкин") == "иванов елкин");
}

TEST_CASE("other characters and invalid bytes pass through") {
  CHECK(normalize_for_search("王小明") == "王小明");
  CHECK(normalize_for_search("a\xFF"
                             "b") ==
        "a\xFF"
        "b");
  CHECK(normalize_for_search("") == "");
  CHECK(normalize_for_search("×÷") == "×÷");
}
