#include "protocols/hl7v2/query_response.hpp"

#include <doctest/doctest.h>

#include <string>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/parser.hpp"

using namespace cg;
using namespace cg::hl7v2;

namespace {

Message parsed(std::string_view text) {
  auto m = parse(text);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m).value();
}

// The serialized segment `id` (its first occurrence), without the terminator.
std::string segment_text(const Message& message, std::string_view id) {
  const std::string bytes = message.serialize();
  const std::size_t start = bytes.find("\r" + std::string(id) + "|");
  REQUIRE(start != std::string::npos);
  return bytes.substr(start + 1, bytes.find('\r', start + 1) - start - 1);
}

const AckOptions kOptions{"GW-7", "20261121093000", "CLINIC-GATEWAY"};

// A PDQ query whose QPD holds escapes (\T\ is "&", \F\ "|"), a repetition, components and an
// empty field before QPD-8.
constexpr std::string_view kQpd =
    "QPD|Q22^Find Candidates^HL7|QT-42|@PID.5.1.1^O\\T\\Brien*~@PID.8^F~@PID.11.3^A\\F\\B"
    "|||||^^^CLINIC~^^^&1.2.3&ISO";
const std::string kQuery =
    "MSH|^~\\&|PDQ_CONSUMER|CLINIC_A|GW|GW_FAC|20261121092900||QBP^Q22^QBP_Q21|Q0001|P|2.5\r" +
    std::string(kQpd) + "\rRCP|I|10^RD\r";

}  // namespace

TEST_CASE("an RSP^K22: swapped header, MSA, QAK with the hits, the QPD echoed as sent") {
  Message response = query_response(parsed(kQuery), "K22", "RSP_K21", AckCode::kAccept,
                                    QueryStatus::kOk, {}, {5, 2, 3}, kOptions);
  CHECK(response.serialize() ==
        "MSH|^~\\&|GW|GW_FAC|PDQ_CONSUMER|CLINIC_A|20261121093000||RSP^K22^RSP_K21|GW-7|P|2.5\r"
        "MSA|AA|Q0001\r"
        "QAK|QT-42|OK|Q22^Find Candidates^HL7|5|2|3\r" +
            std::string(kQpd) + "\r");
  // It parses, and reads as what it is.
  Message again = parsed(response.serialize());
  CHECK(again.get("MSH-9.1") == "RSP");
  CHECK(again.get("MSH-9.2") == "K22");
  CHECK(again.get("QPD-3(1).2") == "O&Brien*");
  CHECK(again.get("QPD-3(3).2") == "A|B");
}

TEST_CASE("QAK leaves out negative hit counts; zero is a count") {
  const Message query = parsed(kQuery);
  auto qak = [&](QueryHits hits, QueryStatus status) {
    return segment_text(
        query_response(query, "K22", "RSP_K21", AckCode::kAccept, status, {}, hits, kOptions),
        "QAK");
  };
  CHECK(qak({}, QueryStatus::kNoData) == "QAK|QT-42|NF|Q22^Find Candidates^HL7");
  CHECK(qak({0, 0, 0}, QueryStatus::kNoData) == "QAK|QT-42|NF|Q22^Find Candidates^HL7|0|0|0");
  CHECK(qak({12, -1, 0}, QueryStatus::kOk) == "QAK|QT-42|OK|Q22^Find Candidates^HL7|12||0");
  CHECK(qak({-1, 4, -1}, QueryStatus::kOk) == "QAK|QT-42|OK|Q22^Find Candidates^HL7||4");
}

TEST_CASE("an error answer: MSA AE, one ERR per error before QAK, QAK status AE or AR") {
  const Error errors[] = {
      make_error(ErrorCode::kUnknownKeyIdentifier, "QPD-8 repetition 2 names an unknown domain",
                 {"QPD", 1, 8, 2, 0, 0}),
      make_error(ErrorCode::kTableValueNotFound, "cannot search on @PID.18",
                 {"QPD", 1, 3, 1, 1, 0})};
  Message response = query_response(parsed(kQuery), "K22", "RSP_K21", AckCode::kError,
                                    QueryStatus::kError, errors, {}, kOptions);
  const auto& segments = response.segments();
  REQUIRE(segments.size() == 6);
  CHECK(segments[1].id() == "MSA");
  CHECK(segments[2].id() == "ERR");
  CHECK(segments[3].id() == "ERR");
  CHECK(segments[4].id() == "QAK");
  CHECK(segments[5].id() == "QPD");
  CHECK(response.get("MSA-1") == "AE");
  CHECK(segments[2].raw(2) == "QPD^1^8^2");
  CHECK(segments[2].raw(3) == "204^Unknown key identifier^HL70357");
  CHECK(segments[3].raw(2) == "QPD^1^3^1^1");
  CHECK(segments[3].get(3) == "103");
  CHECK(segments[4].get(2) == "AE");
  CHECK(query_response(parsed(kQuery), "K22", "RSP_K21", AckCode::kReject, QueryStatus::kReject, {},
                       {}, kOptions)
            .get("QAK-2") == "AR");
}

TEST_CASE("an RSP^K23 for a PIX query, in enhanced mode, with the sender's delimiters") {
  Message query = parsed(
      "MSH#:*!@#PIX#CLINIC#GW#GW#20261121##QBP:Q23:QBP_Q21#P1#P#2.5###AL#NE\r"
      "QPD#IHE PIX Query#PX-1#42:::CLINIC@1.2.3@ISO#:::@9.9@ISO\r"
      "RCP#I\r");
  Message response =
      query_response(query, "K23", "RSP_K23", AckCode::kAccept, QueryStatus::kOk, {}, {}, kOptions);
  CHECK(response.serialize() ==
        "MSH#:*!@#GW#GW#PIX#CLINIC#20261121093000##RSP:K23:RSP_K23#GW-7#P#2.5\r"
        "MSA#CA#P1\r"
        "QAK#PX-1#OK#IHE PIX Query\r"
        "QPD#IHE PIX Query#PX-1#42:::CLINIC@1.2.3@ISO#:::@9.9@ISO\r");
}

TEST_CASE("a query without QPD still gets MSA and QAK, and nothing is echoed") {
  Message response = query_response(
      parsed("MSH|^~\\&|PDQ|CLINIC|GW|GW|20261121||QBP^Q22^QBP_Q21|Q2|P|2.5\rRCP|I\r"), "K22",
      "RSP_K21", AckCode::kError, QueryStatus::kError, {}, {}, kOptions);
  REQUIRE(response.segments().size() == 3);
  CHECK(response.get("MSA-1") == "AE");
  CHECK(response.get("MSA-2") == "Q2");
  CHECK(response.presence("QAK-1") == Presence::kAbsent);
  CHECK(response.get("QAK-2") == "AE");
  CHECK(response.presence("QAK-3") == Presence::kAbsent);
  CHECK(response.find("QPD") == nullptr);
}

TEST_CASE("a continuation: DSC-1 the pointer (escaped), DSC-2 I, after the records") {
  Message response = query_response(parsed(kQuery), "K22", "RSP_K21", AckCode::kAccept,
                                    QueryStatus::kOk, {}, {3, 1, 2}, kOptions);
  REQUIRE(response.append_segment("PID").ok());
  REQUIRE(append_continuation(response, "c7f^2|x").ok());
  const auto& segments = response.segments();
  REQUIRE(segments.size() == 6);
  CHECK(segments[4].id() == "PID");
  CHECK(segments[5].id() == "DSC");
  CHECK(segments[5].raw(1) == "c7f\\S\\2\\F\\x");
  CHECK(segments[5].raw(2) == "I");
  CHECK(parsed(response.serialize()).get("DSC-1") == "c7f^2|x");
}
