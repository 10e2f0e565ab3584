#include "protocols/hl7v2/escape.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace cg::hl7v2;

namespace {
const Delimiters kDefault{};
Delimiters with_truncation() {
  Delimiters d;
  d.truncation = '#';
  return d;
}
}  // namespace

TEST_CASE("delimiter escapes unescape to the delimiters") {
  CHECK(unescape(R"(a\F\b\S\c\T\d\R\e\E\f)", kDefault) == "a|b^c&d~e\\f");
  CHECK(unescape(R"(\F\)", kDefault) == "|");
  CHECK(unescape("no escapes", kDefault) == "no escapes");
  CHECK(unescape("", kDefault) == "");
}

TEST_CASE("escapes use the message's own escape character and delimiters") {
  auto d = *Delimiters::from_header('$', "%!?@");
  CHECK(unescape("a?F?b?S?c?T?d?R?e?E?f", d) == "a$b%c@d!e?f");
  CHECK(unescape(R"(a\F\b)", d) == R"(a\F\b)");
  CHECK(escape("a$b%c@d!e?f\\", d) == "a?F?b?S?c?T?d?R?e?E?f\\");
}

TEST_CASE("back-to-back and escaped escapes are read left to right") {
  // From IPF's PIX error response: "\S\\S\\S\NONEXISTING" is "^^^NONEXISTING".
  CHECK(unescape(R"(\S\\S\\S\NONEXISTING, \S\\S\\S\\T\1.2.3.4\T\ISO)", kDefault) ==
        "^^^NONEXISTING, ^^^&1.2.3.4&ISO");
  // \E\ makes the following text literal: "\E\S\E\" is the three characters "\S\".
  CHECK(unescape(R"(\E\S\E\)", kDefault) == R"(\S\)");
  CHECK(unescape(R"(\E\\E\)", kDefault) == R"(\\)");
}

TEST_CASE("truncation escape \\P\\ exists only when MSH-2 declares the character") {
  CHECK(unescape(R"(a\P\b)", with_truncation()) == "a#b");
  CHECK(unescape(R"(a\P\b)", kDefault) == R"(a\P\b)");
  CHECK(escape("a#b", with_truncation()) == R"(a\P\b)");
  CHECK(escape("a#b", kDefault) == "a#b");
}

TEST_CASE("formatting commands work when the truncation character is '.'") {
  auto d = *Delimiters::from_header('|', "^~\\&.");
  CHECK(unescape(R"(a\.br\b\P\)", d) == "a\nb.");
  CHECK(escape("a\nb.", d) == R"(a\.br\b\P\)");
  CHECK(unescape(R"(\.sp 2\)", d) == R"(\.sp 2\)");
}

TEST_CASE("a line break is written as hex when '.' is a separator") {
  auto d = *Delimiters::from_header('|', "^~.&");
  CHECK(escape("a\nb.", d) == "a.X0A.b.E.");
  CHECK(unescape("a.X0A.b.E.", d) == "a\nb.");
  auto r = *Delimiters::from_header('|', "^.\\&");
  CHECK(escape("a\nb.", r) == R"(a\X0A\b\R\)");
}

TEST_CASE("hex escapes become bytes") {
  CHECK(unescape(R"(\X41\)", kDefault) == "A");
  CHECK(unescape(R"(\XC3A4\)", kDefault) == "\xC3\xA4");
  CHECK(unescape(R"(\Xc3a4\)", kDefault) == "\xC3\xA4");
  CHECK(unescape(R"(x\X0D0A\y)", kDefault) == "x\r\ny");
  CHECK(unescape(R"(\X00\)", kDefault) == std::string(1, '\0'));
}

TEST_CASE("a line break escape becomes a newline in both modes") {
  CHECK(unescape(R"(line 1\.br\line 2)", kDefault) == "line 1\nline 2");
  CHECK(unescape(R"(line 1\.br\line 2)", kDefault, Formatting::kPlainText) == "line 1\nline 2");
}

TEST_CASE("formatting escapes are kept verbatim by default") {
  for (const char* text :
       {R"(\H\)", R"(\N\)", R"(\.sp\)", R"(\.sp 3\)", R"(\.sp3\)", R"(\.in +4\)", R"(\.in-2\)",
        R"(\.ti -2\)", R"(\.sk 5\)", R"(\.ce\)", R"(\.fi\)", R"(\.nf\)", R"(\Zcustom\)", R"(\Z1\)",
        R"(\C2842\)", R"(\M2442\)", R"(\M242842\)"}) {
    CAPTURE(text);
    CHECK(unescape(text, kDefault) == text);
    CHECK(unescape(std::string("a") + text + "b", kDefault) == std::string("a") + text + "b");
  }
  CHECK(unescape(R"(\H\important\N\ and \F\)", kDefault) == R"(\H\important\N\ and |)");
}

TEST_CASE("plain text drops highlighting and turns layout into line breaks and spaces") {
  auto plain = [](const char* raw) { return unescape(raw, kDefault, Formatting::kPlainText); };
  CHECK(plain(R"(\H\important\N\ result)") == "important result");
  CHECK(plain(R"(a\.sp\b)") == "a\nb");
  CHECK(plain(R"(a\.sp 2\b)") == "a\n\nb");
  CHECK(plain(R"(a\.sk 3\b)") == "a   b");
  CHECK(plain(R"(a\.ce\b)") == "a\nb");
  CHECK(plain(R"(\.in +4\a\.ti -2\b\.fi\c\.nf\)") == "abc");
  CHECK(plain(R"(a\Zvendor\b\C2842\c\M2442\)") == "abc");
  // A huge repeat count is bounded.
  CHECK(plain(R"(\.sp 999999\)") == std::string(20, '\n'));
  CHECK(plain(R"(\.sk 999999\)") == std::string(20, ' '));
}

TEST_CASE("malformed escapes never fail and are kept verbatim") {
  for (const char* text : {R"(\)",
                           R"(abc\)",
                           R"(\F)",
                           R"(\X)",
                           R"(\\)",
                           R"(\Q\)",
                           R"(\FF\)",
                           R"(\X4\)",
                           R"(\X4G\)",
                           R"(\X\)",
                           R"(\Z\)",
                           R"(\.br \)",
                           R"(\.brx\)",
                           R"(\.sp x\)",
                           R"(\.in +\)",
                           R"(\.sp 1234567\)",
                           R"(\C284\)",
                           R"(\M24\)",
                           R"(\.xy\)",
                           R"(\.\)",
                           R"(\h\)",
                           "\\X\xC3\xA4\\",
                           R"(C:\path\to\file)"}) {
    CAPTURE(text);
    CHECK(unescape(text, kDefault) == text);
    CHECK(unescape(text, kDefault, Formatting::kPlainText) == text);
  }
  // A malformed sequence does not swallow the escapes after it.
  CHECK(unescape(R"(\Q\\F\)", kDefault) == R"(\Q\|)");
  CHECK(unescape(R"(\F\\)", kDefault) == R"(|\)");
}

TEST_CASE("escape protects delimiters, escape characters and line ends") {
  CHECK(escape("a|b^c&d~e\\f", kDefault) == R"(a\F\b\S\c\T\d\R\e\E\f)");
  CHECK(escape("l1\nl2\r", kDefault) == R"(l1\.br\l2\X0D\)");
  CHECK(escape(R"(\H\)", kDefault) == R"(\E\H\E\)");
  CHECK(escape("", kDefault) == "");
}

TEST_CASE("the text of two double quotes is escaped so it is not read as a null") {
  CHECK(escape("\"\"", kDefault) == R"(\X2222\)");
  CHECK(unescape(R"(\X2222\)", kDefault) == "\"\"");
  CHECK(escape("\"\"\"", kDefault) == "\"\"\"");
  CHECK(escape("a\"\"", kDefault) == "a\"\"");
}

TEST_CASE("escape can keep well-formed formatting escapes") {
  EscapeOptions keep;
  keep.keep_formatting = true;
  CHECK(escape(R"(\H\bold\N\ a|b)", kDefault, keep) == R"(\H\bold\N\ a\F\b)");
  CHECK(escape(R"(\.sp 2\\Zx\)", kDefault, keep) == R"(\.sp 2\\Zx\)");
  // Delimiter escapes and malformed sequences are literal text, so they are escaped.
  CHECK(escape(R"(\F\)", kDefault, keep) == R"(\E\F\E\)");
  CHECK(escape(R"(\Q\)", kDefault, keep) == R"(\E\Q\E\)");
  CHECK(escape(R"(\H)", kDefault, keep) == R"(\E\H)");
}

TEST_CASE("escape can write non-ASCII bytes as hex") {
  EscapeOptions hex;
  hex.hex_non_ascii = true;
  CHECK(escape("M\xC3\xBCller", kDefault, hex) == R"(M\XC3BC\ller)");
  CHECK(escape("\xE2\x82\xAC|\xFF", kDefault, hex) == R"(\XE282AC\\F\\XFF\)");
  CHECK(escape("M\xC3\xBCller", kDefault) == "M\xC3\xBCller");
}

TEST_CASE("unescape undoes escape for every byte") {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  all += "\\H\\ \\.br\\ \\X41\\ \\F\\";
  for (const Delimiters& d :
       {kDefault, with_truncation(), *Delimiters::from_header('$', "%!?@"),
        *Delimiters::from_header('|', "^~\\&."), *Delimiters::from_header('|', "^~.\\"),
        *Delimiters::from_header('|', "^.\\&#")}) {
    for (bool hex : {false, true}) {
      EscapeOptions options;
      options.hex_non_ascii = hex;
      std::string escaped = escape(all, d, options);
      CHECK(escaped.find_first_of("\r\n") == std::string::npos);
      CHECK(escaped.find(d.field) == std::string::npos);
      CHECK(escaped.find(d.component) == std::string::npos);
      CHECK(escaped.find(d.repetition) == std::string::npos);
      CHECK(escaped.find(d.subcomponent) == std::string::npos);
      CHECK(unescape(escaped, d) == all);
      CHECK(unescape(escaped, d, Formatting::kPlainText) == all);
    }
  }
}
