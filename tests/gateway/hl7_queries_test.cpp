#include "gateway/hl7_queries.hpp"

#include <doctest/doctest.h>

#include "tests/gateway/hl7_fixture.hpp"

using namespace cg;

namespace {

// The fixture with the queries' helpers.
struct Gateway : gateway::testing::Hl7Gateway {
  // An A28 for a patient with a clinic MRN and a national id (urn:oid:2.16.1).
  void admit(std::string_view mrn, std::string_view national_id, std::string_view family,
             std::string_view given, std::string_view birth, std::string_view sex) {
    std::string pid = "PID|1||" + std::string(mrn) + "^^^CLINIC^MR";
    if (!national_id.empty()) pid += "~" + std::string(national_id) + "^^^&2.16.1&ISO^NI";
    pid += "||" + std::string(family) + "^" + std::string(given) + "^^^^^L||" + std::string(birth) +
           "|" + std::string(sex) + "|||12 Lake Rd^^Kisumu^^40100^KE^H||0712345678^PRN^PH\r";
    CHECK(send(pid, "ADT^A28^ADT_A05").get("MSA-1") == "AA");
  }

  hl7v2::Message pdq(std::string_view fields, std::string_view tag = "Q1",
                     std::string_view extra = "", std::string_view sender = "EMR") {
    return send("QPD|IHE PDQ Query|" + std::string(tag) + "|" + std::string(fields) + "\r" +
                    std::string(extra),
                "QBP^Q22^QBP_Q21", sender);
  }

  hl7v2::Message pix(std::string_view identifier, std::string_view domains = "") {
    return send("QPD|IHE PIX Query|P1|" + std::string(identifier) + "|" + std::string(domains) +
                    "\rRCP|I\r",
                "QBP^Q23^QBP_Q21");
  }
};

std::vector<std::string> families(const hl7v2::Message& answer) {
  std::vector<std::string> out;
  for (int i = 1; i <= answer.count("PID"); ++i) out.push_back(answer.find("PID", i)->get(5));
  return out;
}

void seed(Gateway& g) {
  g.admit("M-1", "N-1", "Achieng", "Mary", "19800101", "F");
  g.admit("M-2", "", "Achieng", "Grace", "19900202", "F");
  g.admit("M-3", "N-3", "Otieno", "John", "19800101", "M");
}

}  // namespace

TEST_CASE("PDQ: demographics find the patients, answered as RSP^K22 with their PIDs") {
  Gateway g;
  seed(g);
  auto answer = g.pdq("@PID.5.1.1^ACHIENG");
  CHECK(answer.get("MSH-9.1") == "RSP");
  CHECK(answer.get("MSH-9.2") == "K22");
  CHECK(answer.get("MSH-9.3") == "RSP_K21");
  CHECK(answer.get("MSA-1") == "AA");
  CHECK(answer.get("MSA-2") == "C4");
  CHECK(answer.get("QAK-1") == "Q1");
  CHECK(answer.get("QAK-2") == "OK");
  CHECK(answer.get("QAK-4") == "2");
  CHECK(answer.get("QAK-5") == "2");
  CHECK(answer.get("QAK-6") == "0");
  CHECK(answer.raw("QPD-3") == "@PID.5.1.1^ACHIENG");
  CHECK(families(answer) == std::vector<std::string>{"Achieng", "Achieng"});
  CHECK(answer.count("DSC") == 0);
  // The PID carries what the feed stored, in v2 form.
  const hl7v2::Segment* pid = answer.find("PID");
  CHECK(pid->get(1) == "1");
  CHECK(pid->get(7) != "");
  CHECK(pid->get(8) == "F");
  CHECK(pid->get(11, 1, 3) == "Kisumu");
  CHECK(pid->get(13) == "0712345678");

  auto both = g.pdq("@PID.7^19800101~@PID.8^M");
  CHECK(families(both) == std::vector<std::string>{"Otieno"});

  auto none = g.pdq("@PID.5.1^Kamau");
  CHECK(none.get("MSA-1") == "AA");
  CHECK(none.get("QAK-2") == "NF");
  CHECK(none.count("PID") == 0);
}

TEST_CASE("PDQ: an identifier with its authority, and the domains returned (QPD-8)") {
  Gateway g;
  seed(g);
  auto by_id = g.pdq("@PID.3.1^M-3~@PID.3.4.1^CLINIC");
  REQUIRE(families(by_id) == std::vector<std::string>{"Otieno"});
  CHECK(by_id.find("PID")->repetition_count(3) == 2);

  // Only national ids: the patient without one is not an answer, the others list only it.
  auto national = g.pdq("@PID.5.1^Achieng", "Q2", "", "EMR");
  CHECK(families(national).size() == 2);
  auto limited =
      g.send("QPD|IHE PDQ Query|Q3|@PID.5.1^Achieng|||||^^^&2.16.1&ISO\r", "QBP^Q22^QBP_Q21");
  REQUIRE(families(limited) == std::vector<std::string>{"Achieng"});
  const hl7v2::Segment* pid = limited.find("PID");
  CHECK(pid->repetition_count(3) == 1);
  CHECK(pid->get(3) == "N-1");
  CHECK(pid->get(3, 1, 4, 2) == "2.16.1");
  CHECK(pid->get(3, 1, 4, 3) == "ISO");

  auto unknown =
      g.send("QPD|IHE PDQ Query|Q4|@PID.5.1^Achieng|||||^^^&9.9.9&ISO\r", "QBP^Q22^QBP_Q21");
  CHECK(unknown.get("MSA-1") == "AE");
  CHECK(unknown.get("QAK-2") == "AE");
  CHECK(unknown.get("ERR-3") == "204");
  CHECK(unknown.raw("ERR-2") == "QPD^1^8^1");
  CHECK(unknown.count("PID") == 0);
}

TEST_CASE("PDQ: RCP-2 limits each answer; DSC continues; QCN^J01 cancels") {
  Gateway g;
  for (int i = 0; i < 5; ++i) {
    g.admit("K-" + std::to_string(i), "", "Wanjiru", "Ann", "20000101", "F");
  }
  auto first = g.pdq("@PID.5.1^Wanjiru", "Q9", "RCP|I|2^RD\r");
  CHECK(first.count("PID") == 2);
  CHECK(first.get("QAK-4") == "5");
  CHECK(first.get("QAK-5") == "2");
  CHECK(first.get("QAK-6") == "3");
  const std::string pointer = first.get("DSC-1");
  REQUIRE(!pointer.empty());
  CHECK(first.get("DSC-2") == "I");

  auto second = g.pdq("@PID.5.1^Wanjiru", "Q9", "RCP|I|2^RD\rDSC|" + pointer + "|I\r");
  CHECK(second.get("MSA-1") == "AA");
  CHECK(second.count("PID") == 2);
  CHECK(second.find("PID", 1)->get(1) == "3");  // set ids go on across the answers
  CHECK(second.get("QAK-6") == "1");
  const std::string next = second.get("DSC-1");
  REQUIRE(!next.empty());
  CHECK(next != pointer);

  // A pointer is used once; another sender cannot use one.
  auto reused = g.pdq("@PID.5.1^Wanjiru", "Q9", "RCP|I|2^RD\rDSC|" + pointer + "|I\r");
  CHECK(reused.get("MSA-1") == "AE");
  CHECK(reused.raw("ERR-2") == "DSC^1^1");
  auto stranger = g.pdq("@PID.5.1^Wanjiru", "Q9", "RCP|I|2^RD\rDSC|" + next + "|I\r", "OTHER");
  CHECK(stranger.get("MSA-1") == "AE");

  auto last = g.pdq("@PID.5.1^Wanjiru", "Q9", "RCP|I|2^RD\rDSC|" + next + "|I\r");
  CHECK(last.count("PID") == 1);
  CHECK(last.get("QAK-6") == "0");
  CHECK(last.count("DSC") == 0);

  // Cancel: the open continuation is dropped.
  auto again = g.pdq("@PID.5.1^Wanjiru", "Q10", "RCP|I|2^RD\r");
  const std::string open = again.get("DSC-1");
  REQUIRE(!open.empty());
  auto ack = g.send("QID|Q10|IHE PDQ Query\r", "QCN^J01^QCN_J01");
  CHECK(ack.get("MSH-9") == "ACK");
  CHECK(ack.get("MSH-9.2") == "J01");
  CHECK(ack.get("MSA-1") == "AA");
  auto cancelled = g.pdq("@PID.5.1^Wanjiru", "Q10", "RCP|I|2^RD\rDSC|" + open + "|I\r");
  CHECK(cancelled.get("MSA-1") == "AE");
  CHECK(g.send("QID||x\r", "QCN^J01^QCN_J01").get("MSA-1") == "AE");
}

TEST_CASE("PDQ: a field the gateway cannot search on, or a bad date, is AE at its place") {
  Gateway g;
  seed(g);
  auto unsupported = g.pdq("@PID.5.1^Achieng~@PID.6.1^Smith");
  CHECK(unsupported.get("MSA-1") == "AE");
  CHECK(unsupported.get("ERR-3") == "103");
  CHECK(unsupported.raw("ERR-2") == "QPD^1^3^2^1");
  auto date = g.pdq("@PID.7^1980-01-01");
  CHECK(date.get("ERR-3") == "102");
  CHECK(date.raw("ERR-2") == "QPD^1^3^1^2");
  auto empty = g.pdq("");
  CHECK(empty.get("ERR-3") == "101");
}

TEST_CASE("PIX: the other identifiers of the patient, limited to QPD-4's domains") {
  Gateway g;
  seed(g);
  auto all = g.pix("M-1^^^CLINIC");
  CHECK(all.get("MSH-9") == "RSP");
  CHECK(all.get("MSH-9.2") == "K23");
  CHECK(all.get("MSA-1") == "AA");
  CHECK(all.get("QAK-2") == "OK");
  const hl7v2::Segment* pid = all.find("PID");
  REQUIRE(pid != nullptr);
  CHECK(pid->repetition_count(3) == 1);  // the identifier asked about is not repeated
  CHECK(pid->get(3) == "N-1");
  CHECK(pid->get(5, 2, 7) == "S");
  CHECK(pid->get(5) == "");

  auto clinic_only = g.pix("N-1^^^&2.16.1&ISO", "^^^CLINIC");
  REQUIRE(clinic_only.find("PID") != nullptr);
  CHECK(clinic_only.find("PID")->get(3) == "M-1");
  CHECK(clinic_only.find("PID")->get(3, 1, 4) == "CLINIC");

  auto none = g.pix("M-2^^^CLINIC", "^^^&2.16.1&ISO");
  CHECK(none.get("MSA-1") == "AA");
  CHECK(none.get("QAK-2") == "NF");
  CHECK(none.count("PID") == 0);
}

TEST_CASE("PIX: unknown identifiers and domains are AE 204 where ITI-9 puts them") {
  Gateway g;
  seed(g);
  auto id = g.pix("NOPE^^^CLINIC");
  CHECK(id.get("MSA-1") == "AE");
  CHECK(id.get("QAK-2") == "AE");
  CHECK(id.get("ERR-3") == "204");
  CHECK(id.raw("ERR-2") == "QPD^1^3^1^1");
  auto authority = g.pix("M-1^^^ELSEWHERE");
  CHECK(authority.raw("ERR-2") == "QPD^1^3^1^4");
  auto domain = g.pix("M-1^^^CLINIC", "^^^&2.16.1&ISO~^^^NOWHERE");
  CHECK(domain.get("MSA-1") == "AE");
  CHECK(domain.raw("ERR-2") == "QPD^1^4^2");
  auto bare = g.pix("M-1");
  CHECK(bare.get("ERR-3") == "101");
  CHECK(bare.raw("ERR-2") == "QPD^1^3^1^4");
}

TEST_CASE("PIX: a merged-away patient is not an answer; the survivor holds its identifier") {
  Gateway g;
  seed(g);
  auto merge =
      g.send("PID|1||M-3^^^CLINIC^MR||Otieno^John\rMRG|M-2^^^CLINIC^MR\r", "ADT^A40^ADT_A39");
  REQUIRE(merge.get("MSA-1") == "AA");
  auto answer = g.pix("M-2^^^CLINIC", "^^^CLINIC");
  REQUIRE(answer.find("PID") != nullptr);
  CHECK(answer.find("PID")->get(3) == "M-3");
}

TEST_CASE("a query sent again with the same control id gets the same answer") {
  Gateway g;
  seed(g);
  std::string query =
      "MSH|^~\\&|EMR|WARD|GW|GW|20261121||QBP^Q23^QBP_Q21|SAME|P|2.5\r"
      "QPD|IHE PIX Query|P1|M-1^^^CLINIC\rRCP|I\r";
  std::string first = g.receiver->receive(query, "test");
  CHECK(g.receiver->receive(query, "test") == first);
  CHECK(g.receiver->counts().duplicates == 1);
}
