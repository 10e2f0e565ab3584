// Every HL7v2 sample message from IPF (../shared/data/hl7v2/ipf/) parses and serializes back
// to its own bytes, after the segment terminators of a non-canonical input are normalised.
// (../shared/data/hl7v2/v2-to-fhir/messages/ holds the IG's mapping tables as CSV, not
// sample messages, so there is nothing there to parse.)
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/header.hpp"
#include "protocols/hl7v2/parser.hpp"

namespace fs = std::filesystem;
using namespace cg::hl7v2;

namespace {

const fs::path kIpf = fs::path(CG_SHARED_DATA) / "hl7v2" / "ipf";

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kIpf, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What serialize() must produce: no BOM, every line ended by one "\r", no blank lines.
// Written independently of the parser on purpose.
std::string normalised(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::string out;
  std::string line;
  auto flush = [&] {
    if (line.find_first_not_of(" \t") != std::string::npos) out += line + '\r';
    line.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') {
      flush();
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      line += text[i];
    }
  }
  flush();
  return out;
}

}  // namespace

TEST_CASE("every IPF sample message parses and round-trips byte for byte") {
  auto files = corpus_files();
  if (files.empty()) {
    MESSAGE("skipped: " << kIpf.string() << " is absent");
    return;
  }
  int messages = 0;
  int canonical = 0;
  for (const fs::path& file : files) {
    CAPTURE(file.filename().string());
    std::string bytes = read_file(file);
    auto parts = split_messages(bytes);
    CHECK_FALSE(parts.empty());
    for (std::string_view part : parts) {
      auto message = parse(part);
      REQUIRE_MESSAGE(message.ok(), message.error().message << " at " << message.error().location);
      ++messages;
      std::string out = message->serialize();
      if (message->canonical_input()) {
        ++canonical;
        CHECK(out == part);
      } else {
        CHECK(out == normalised(part));
      }
      // Idempotent: the serialized form is canonical and serializes to itself.
      auto again = parse(out);
      REQUIRE(again.ok());
      CHECK(again->canonical_input());
      CHECK(again->serialize() == out);
      // Every value can be read, and the header has what an ACK needs (these are all
      // real messages, two of them older than v2.3).
      for (const Segment& segment : message->segments()) {
        for (int f = 1; f <= segment.field_count(); ++f) {
          for (int r = 1; r <= std::max(1, segment.repetition_count(f)); ++r) {
            (void)segment.get(f, r, 1, 1);
            (void)segment.get(f, r, 1, 1, Formatting::kPlainText);
          }
        }
      }
      CHECK_FALSE(read_header(*message).control_id.empty());
    }
  }
  MESSAGE(messages << " messages in " << files.size() << " files, " << canonical
                   << " of them canonical");
  CHECK(messages >= static_cast<int>(files.size()));
}

TEST_CASE("the IPF samples' charsets and escapes read as expected") {
  if (corpus_files().empty()) {
    MESSAGE("skipped: " << kIpf.string() << " is absent");
    return;
  }
  auto load = [](const char* name) {
    auto m = parse(read_file(kIpf / name));
    REQUIRE(m.ok());
    return std::move(m).value();
  };
  // MSH-18 is empty but the names are UTF-8: read as they are.
  Message utf8 = load("platform-camel_hl7__message_msg-01-utf8.hl7");
  CHECK(utf8.charset() == Charset::kAscii);
  CHECK(utf8.get("PID-5.1") ==
        "N\xC3\xA4"
        "chname");
  CHECK(utf8.get("PID-5.2") == "V\xC3\xB6rname");
  // Declared 8859/1.
  Message latin1 = load("commons_ihe_hl7v2ws__pcd01_valid-pcd01-MaximumRequest2.hl7");
  CHECK(latin1.charset() == Charset::kLatin1);
  CHECK(read_header(latin1).version.text == "2.6");
  CHECK(read_header(latin1).accept_ack == AckCondition::kNever);
  CHECK(read_header(latin1).application_ack == AckCondition::kAlways);
  // Escaped delimiters in an error text, and an ERR location.
  Message err = load("commons_ihe_hl7v3__translation_pixquery_v2_err-2_Response.hl7");
  CHECK(err.get("MSA-3") ==
        "Unable to resolve requested domains in QPD-4: ^^^NONEXISTING, ^^^&1.2.3.4&ISO");
  CHECK(err.get("ERR-2(2).4") == "3");
  CHECK(err.get("ERR-3.1") == "204");
  // Declared UNICODE UTF-8.
  Message unicode = load("modules_hl7__dsl_msg-03.hl7");
  CHECK(unicode.charset() == Charset::kUtf8);
  CHECK(unicode.get("PID-11.1.2") == "Irgendwo");
}
