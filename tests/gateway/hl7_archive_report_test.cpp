#include "gateway/hl7_archive_report.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace cg;
using gateway::print_list;
using gateway::print_message;
using gateway::summarize_outcome;
using gateway::terminal_safe;

namespace {

storage::ArchivedMessage archived(std::string control_id, std::string ack_code) {
  storage::ArchivedMessage m;
  m.id = 7;
  m.received_at_ms = 1'795'000'000'000;
  m.key = {"EMR", "KISUMU", std::move(control_id)};
  m.message_type = "ADT^A28^ADT_A05";
  m.peer = "127.0.0.1:40000";
  m.raw = "MSH|^~\\&|EMR|KISUMU|GW|GW|20261121||ADT^A28^ADT_A05|" + m.key.control_id +
          "|P|2.5.1\rPID|1||MRN-1^^^KISUMU^MR||Achieng^Grace\r";
  m.ack = "MSH|^~\\&|GW|GW|EMR|KISUMU|20261121||ACK^A28|CG1|P|2.5.1\rMSA|" + ack_code + "|" +
          m.key.control_id + "\r";
  m.ack_code = ack_code;
  m.outcome = ack_code == "AA"
                  ? R"({"ack":"AA","written":["Patient/p1"],"errors":[]})"
                  : R"({"ack":"AE","written":[],"errors":[{"code":205,"message":"two match"}]})";
  return m;
}

}  // namespace

TEST_CASE("terminal_safe escapes control bytes and invalid UTF-8, and keeps UTF-8 text") {
  CHECK(terminal_safe("Odhiambo^Grace") == "Odhiambo^Grace");
  CHECK(terminal_safe("M\xC3\xBCller") == "M\xC3\xBCller");            // UTF-8 ü
  CHECK(terminal_safe("M\xFCller") == "M\\xFCller");                   // 8859/1 ü
  CHECK(terminal_safe("a\x1B]0;pwned\x07") == "a\\x1B]0;pwned\\x07");  // an xterm title
  CHECK(terminal_safe("\xC2\x9B"
                      "2J") == "\\xC2\\x9B2J");  // C1 CSI in UTF-8
  CHECK(terminal_safe("tab\there\x7F") == "tab\\x09here\\x7F");
  CHECK(terminal_safe("\xE2\x82") == "\\xE2\\x82");  // truncated sequence
}

TEST_CASE("an outcome is summarised as what it wrote and its errors") {
  auto ok = summarize_outcome(R"({"ack":"AA","written":["Patient/a","Encounter/b"],"errors":[]})");
  CHECK(ok.readable);
  CHECK(ok.written == std::vector<std::string>{"Patient/a", "Encounter/b"});
  auto failed = summarize_outcome(
      R"({"ack":"AE","written":[],"errors":[{"code":101,"message":"PID-3 is required"}]})");
  CHECK(failed.errors == std::vector<std::string>{"101 PID-3 is required"});
  CHECK_FALSE(summarize_outcome(R"({"created":["Patient/1"]})").readable);
  CHECK_FALSE(summarize_outcome("not json").readable);
}

TEST_CASE("type and event come from MSH-9 with the message's own component separator") {
  auto m = archived("C1", "AA");
  CHECK(gateway::type_and_event(m) == "ADT^A28");
  m.raw = "MSH|$~\\&|EMR";
  m.message_type = "ADT$A01";
  CHECK(gateway::type_and_event(m) == "ADT$A01");
}

TEST_CASE("the list has one aligned line per message and no patient data") {
  std::vector<storage::ArchivedMessage> messages = {archived("ADT-2", "AE"),
                                                    archived("ADT-1", "AA")};
  messages[0].id = 12;
  messages[0].reprocessings.push_back(
      {1, 12, 1'795'000'100'000, "MSA|AA|ADT-2\r", "AA",
       R"({"ack":"AA","written":["Patient/p1","Encounter/e1"],"errors":[]})"});
  std::ostringstream out;
  print_list(messages, out);
  const std::string text = out.str();
  CHECK(text.find("Achieng") == std::string::npos);
  CHECK(text.find("MRN-1") == std::string::npos);
  std::istringstream lines(text);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  CHECK(header.starts_with("id  received"));
  // The current answer (the rerun's AA, which wrote two) and one reprocessing.
  CHECK(first == "12  2026-11-18T11:06:40.000Z  EMR/KISUMU  ADT^A28  ADT-2       AA   2      1");
  CHECK(second == "7   2026-11-18T11:06:40.000Z  EMR/KISUMU  ADT^A28  ADT-1       AA   1      0");
}

TEST_CASE("a shown message has its segments one per line and every answer with its outcome") {
  auto m = archived("ADT-9", "AE");
  m.reprocessings.push_back({1, 7, 1'795'000'100'000, "MSH|^~\\&|GW\rMSA|AA|ADT-9\r", "AA",
                             R"({"ack":"AA","written":["Patient/p1"],"errors":[]})"});
  std::ostringstream out;
  print_message(m, out);
  const std::string text = out.str();
  CHECK(text.find("\r") == std::string::npos);
  CHECK(text.find("\n    PID|1||MRN-1^^^KISUMU^MR||Achieng^Grace\n") != std::string::npos);
  CHECK(text.find("answer now: AA (reprocessed 1 time)") != std::string::npos);
  CHECK(text.find("first answer: AE\n  wrote: nothing\n  error 205 two match\n") !=
        std::string::npos);
  CHECK(text.find("reprocessed 2026-11-18T11:08:20.000Z: AA\n  wrote: Patient/p1\n") !=
        std::string::npos);
  CHECK(text.find("\n    MSA|AA|ADT-9\n") != std::string::npos);
}
