#include "protocols/hl7v2/query_params.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/parser.hpp"

namespace fs = std::filesystem;
using namespace cg;
using namespace cg::hl7v2;

namespace {

using Params = std::vector<SearchParam>;

const std::string kMsh = "MSH|^~\\&|PDQ|CLINIC|GW|GW|20261121||QBP^Q22^QBP_Q21|Q1|P|2.5\r";

Message parsed(std::string_view bytes) {
  auto m = parse(bytes);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m).value();
}

// A PDQ query with this QPD-3 (and QPD-8 when given).
Message pdq(std::string_view qpd3, std::string_view qpd8 = "") {
  std::string bytes = kMsh + "QPD|IHE PDQ Query|T1|" + std::string(qpd3);
  if (!qpd8.empty()) bytes += "|||||" + std::string(qpd8);
  return parsed(bytes + "\rRCP|I\r");
}

IdentifierSystems systems() {
  IdentifierSystems out;
  out.by_namespace.emplace("CLINIC", "http://clinic.example/mrn");
  return out;
}

Params params_of(std::string_view qpd3) {
  auto params = pdq_search_params(pdq(qpd3), systems());
  REQUIRE_MESSAGE(params.ok(), (params.ok() ? "" : params.error().message));
  return std::move(params).value();
}

Error error_of(const Result<Params>& result) {
  REQUIRE_FALSE(result.ok());
  return result.error();
}

void check_error(const Error& e, ErrorCode code, std::optional<ErrorLocation> where) {
  CAPTURE(e.message);
  CHECK(error_code(e) == code);
  CHECK(error_location(e) == where);
}

const fs::path kIpf = fs::path(CG_SHARED_DATA) / "hl7v2" / "ipf";

// The first message of an IPF sample; nullopt when the corpus is absent.
std::optional<Message> ipf_sample(const char* name) {
  std::ifstream in(kIpf / name, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto parts = split_messages(bytes);
  REQUIRE_FALSE(parts.empty());
  return parsed(parts.front());
}

}  // namespace

TEST_CASE("IHE's field-name forms all name the same field") {
  for (const std::string name :
       {"@PID.5.1.1", "@PID.5.1", "@PID.5", "PID.5.1.1", "@pid.5.1.1", " @PID.5.1.1 "}) {
    CAPTURE(name);
    CHECK(params_of(name + "^MOORE") == Params{{"family", "MOORE"}});
  }
  for (const std::string name : {"@PID.7.1", "PID.7.1", "@PID.7"}) {
    CAPTURE(name);
    CHECK(params_of(name + "^19380224") == Params{{"birthdate", "eq1938-02-24"}});
  }
}

TEST_CASE("each supported field becomes its Patient search parameter, ANDed in order") {
  CHECK(params_of("@PID.5.1.1^Moore~@PID.5.2^Ann~@PID.5.3^Lee~@PID.8^F"
                  "~@PID.11.1^1 Main St~@PID.11.2^Apt 4~@PID.11.3^Springfield~@PID.11.4^IL"
                  "~@PID.11.5^62701~@PID.11.6^USA~@PID.11.9^Sangamon"
                  "~@PID.13.1^555-1234~@PID.13.4^a@example.org~@PID.13.12^+15551234"
                  "~@PID.14^555-9876~@PID.14.4^b@example.org~@PID.14.12^+15559876") ==
        Params{{"family", "Moore"},
               {"given", "Ann"},
               {"given", "Lee"},
               {"gender", "female"},
               {"address", "1 Main St"},
               {"address", "Apt 4"},
               {"address-city", "Springfield"},
               {"address-state", "IL"},
               {"address-postalcode", "62701"},
               {"address-country", "USA"},
               {"address", "Sangamon"},
               {"phone", "555-1234"},
               {"email", "a@example.org"},
               {"phone", "+15551234"},
               {"phone", "555-9876"},
               {"email", "b@example.org"},
               {"phone", "+15559876"}});
}

TEST_CASE("PID.3 parts group into one identifier per @PID.3.1, with its authority") {
  // The IHE example: a namespace, then an OID given as universal id and type.
  CHECK(params_of("@PID.3.1^X~@PID.3.4.1^NS~@PID.3.1^Y~@PID.3.4.2^1.2.3~@PID.3.4.3^ISO") ==
        Params{{"identifier", "urn:cg:authority:NS|X"}, {"identifier", "urn:oid:1.2.3|Y"}});
  // A configured namespace; "@PID.3.4" is the namespace too; demographics come first.
  CHECK(params_of("@PID.3.1^M1~@PID.3.4^CLINIC~@PID.5.1.1^Doe") ==
        Params{{"family", "Doe"}, {"identifier", "http://clinic.example/mrn|M1"}});
  // No authority: the value alone. An authority alone: any identifier in that domain.
  CHECK(params_of("@PID.3.1^M1") == Params{{"identifier", "M1"}});
  CHECK(params_of("@PID.3.4.1^CLINIC") == Params{{"identifier", "http://clinic.example/mrn|"}});
  // The authority before its value: still one identifier.
  CHECK(params_of("@PID.3.4.1^CLINIC~@PID.3.1^M1~@PID.3.1^M2") ==
        Params{{"identifier", "http://clinic.example/mrn|M1"}, {"identifier", "M2"}});
  // The value and system are escaped for FHIR search.
  CHECK(params_of("@PID.3.1^A,1~@PID.3.4.2^http://x.example/a$b~@PID.3.4.3^URI") ==
        Params{{"identifier", "http://x.example/a\\$b|A\\,1"}});
}

TEST_CASE("PDQ's trailing wildcard is dropped: string search matches by prefix") {
  CHECK(params_of("@PID.5.1.1^MO*") == Params{{"family", "MO"}});
  CHECK(params_of("@PID.5.1.1^MO**~@PID.5.2^A*") == Params{{"family", "MO"}, {"given", "A"}});
  // Only a trailing one.
  CHECK(params_of("@PID.5.1.1^*MO") == Params{{"family", "*MO"}});
  // A bare wildcard constrains nothing: it is left out, not sent as an empty value (which the
  // search refuses).
  CHECK(params_of("@PID.5.1.1^*~@PID.8^M") == Params{{"gender", "male"}});
  check_error(error_of(pdq_search_params(pdq("@PID.5.1.1^*"), systems())),
              ErrorCode::kRequiredFieldMissing, ErrorLocation{"QPD", 1, 3, 0, 0, 0});
}

TEST_CASE("values are escaped for FHIR search: , | $ and \\ get a backslash") {
  // In the message: \F\ is "|", \E\ is "\".
  CHECK(params_of("@PID.5.1.1^a,b\\F\\c$d\\E\\e") == Params{{"family", "a\\,b\\|c\\$d\\\\e"}});
  CHECK(search_escaped("") == "");
  CHECK(search_escaped("plain text") == "plain text");
  CHECK(search_escaped(",|$\\") == "\\,\\|\\$\\\\");
  // Values are read as FHIR strings: trimmed.
  CHECK(params_of("@PID.5.1.1^  Moore  ") == Params{{"family", "Moore"}});
}

TEST_CASE("sex follows table 0001, any case; other codes are 103 at the value") {
  const std::pair<std::string, std::string> table[] = {
      {"M", "male"},  {"F", "female"}, {"O", "other"},  {"U", "unknown"},
      {"A", "other"}, {"N", "other"},  {"f", "female"}, {"m", "male"}};
  for (const auto& [code, gender] : table) {
    CAPTURE(code);
    CHECK(params_of("@PID.8^" + code) == Params{{"gender", gender}});
  }
  check_error(error_of(pdq_search_params(pdq("@PID.5.1.1^Doe~@PID.8^X"), systems())),
              ErrorCode::kTableValueNotFound, ErrorLocation{"QPD", 1, 3, 2, 2, 0});
}

TEST_CASE("birth dates: an HL7 DT at its precision, searched for equality; else 102") {
  CHECK(params_of("@PID.7^19380224") == Params{{"birthdate", "eq1938-02-24"}});
  CHECK(params_of("@PID.7^193802") == Params{{"birthdate", "eq1938-02"}});
  CHECK(params_of("@PID.7^1938") == Params{{"birthdate", "eq1938"}});
  CHECK(params_of("@PID.7^19380224103000+0100") == Params{{"birthdate", "eq1938-02-24"}});
  for (const std::string bad : {"1938-02-24", "19380230", "24.02.1938", "1938022"}) {
    CAPTURE(bad);
    check_error(error_of(pdq_search_params(pdq("@PID.8^F~@PID.7^" + bad), systems())),
                ErrorCode::kDataTypeError, ErrorLocation{"QPD", 1, 3, 2, 2, 0});
  }
}

TEST_CASE("query errors: their 0357 codes and ERR locations") {
  SUBCASE("no QPD: 100 at message level") {
    auto result = pdq_search_params(parsed(kMsh + "RCP|I\r"), systems());
    check_error(error_of(result), ErrorCode::kSegmentSequenceError, std::nullopt);
  }
  SUBCASE("nothing to search on: 101 at QPD-3") {
    for (const std::string qpd3 : {"", "@PID.5.1.1^", "@PID.5.1.1", "^Moore", "~@PID.5.1.1^ "}) {
      CAPTURE(qpd3);
      check_error(error_of(pdq_search_params(pdq(qpd3), systems())),
                  ErrorCode::kRequiredFieldMissing, ErrorLocation{"QPD", 1, 3, 0, 0, 0});
    }
  }
  SUBCASE("a field the gateway cannot search on: 103 at its name, which the text names") {
    Error e = error_of(pdq_search_params(pdq("@PID.5.1.1^Doe~@PID.18.1^ACC~@PID.8^F"), systems()));
    check_error(e, ErrorCode::kTableValueNotFound, ErrorLocation{"QPD", 1, 3, 2, 1, 0});
    CHECK(e.message.find("@PID.18") != std::string::npos);
    CHECK(e.kind == ErrorKind::kInvalid);
    // PID.5.4 is not searchable, nor a field of another segment.
    check_error(error_of(pdq_search_params(pdq("@PID.5.4^Jr"), systems())),
                ErrorCode::kTableValueNotFound, ErrorLocation{"QPD", 1, 3, 1, 1, 0});
    check_error(error_of(pdq_search_params(pdq("@PV1.2^I"), systems())),
                ErrorCode::kTableValueNotFound, ErrorLocation{"QPD", 1, 3, 1, 1, 0});
  }
}

TEST_CASE("requested domains: the systems of QPD-n's assigning authorities, with repetitions") {
  Message query = pdq("@PID.5.1.1^Doe",
                      "^^^HIMSS2005&1.3.6.1.4.1.21367.2005.1.1&ISO~^^^CLINIC~^^^~^^^&1.2.3&ISO"
                      "~^^^Other Place");
  auto domains = requested_domains(query, 8, systems());
  REQUIRE(domains.size() == 4);
  CHECK(domains[0].system == "urn:oid:1.3.6.1.4.1.21367.2005.1.1");
  CHECK(domains[0].repetition == 1);
  CHECK(domains[1].system == "http://clinic.example/mrn");
  CHECK(domains[1].repetition == 2);
  // The third repetition has no authority: skipped, the repetitions keep counting.
  CHECK(domains[2].system == "urn:oid:1.2.3");
  CHECK(domains[2].repetition == 4);
  CHECK(domains[3].system == "urn:cg:authority:Other%20Place");
  CHECK(domains[3].repetition == 5);
  // Empty field: every domain. No QPD: none asked for either.
  CHECK(requested_domains(pdq("@PID.5.1.1^Doe"), 8, systems()).empty());
  CHECK(requested_domains(parsed(kMsh), 8, systems()).empty());
  // PIX: QPD-4.
  Message pix = parsed(kMsh + "QPD|IHE PIX Query|T2|42^^^CLINIC|^^^&1.2.3&ISO\r");
  auto pix_domains = requested_domains(pix, 4, systems());
  REQUIRE(pix_domains.size() == 1);
  CHECK(pix_domains[0].system == "urn:oid:1.2.3");
  CHECK(pix_domains[0].repetition == 1);
}

TEST_CASE("PIX: the identifier asked about, within its domain") {
  auto pix = [](std::string_view qpd3) {
    return pix_source_identifier(
        parsed(kMsh + "QPD|IHE PIX Query|T2|" + std::string(qpd3) + "|^^^&1.2.3&ISO\r"), systems());
  };
  CHECK(pix("42^^^CLINIC^MR").value() == IdentifierKey{"http://clinic.example/mrn", "42"});
  CHECK(pix("42^^^&1.2.840.99&ISO").value() == IdentifierKey{"urn:oid:1.2.840.99", "42"});
  CHECK(pix("4\\S\\2^^^NS").value() == IdentifierKey{"urn:cg:authority:NS", "4^2"});
  auto error = [](const Result<IdentifierKey>& r) {
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  check_error(error(pix_source_identifier(parsed(kMsh), systems())),
              ErrorCode::kSegmentSequenceError, std::nullopt);
  for (const std::string no_value : {"", "^^^CLINIC", " ^^^CLINIC", "~42^^^CLINIC"}) {
    CAPTURE(no_value);
    check_error(error(pix(no_value)), ErrorCode::kRequiredFieldMissing,
                ErrorLocation{"QPD", 1, 3, 1, 1, 0});
  }
  for (const std::string no_authority : {"42", "42^^^", "42^^^^MR"}) {
    CAPTURE(no_authority);
    check_error(error(pix(no_authority)), ErrorCode::kRequiredFieldMissing,
                ErrorLocation{"QPD", 1, 3, 1, 4, 0});
  }
}

TEST_CASE("RCP-2: the number of records asked for") {
  auto limit = [](std::string_view rcp) {
    return quantity_limit(parsed(kMsh + "QPD|IHE PDQ Query|T1|@PID.8^F\r" + std::string(rcp)));
  };
  CHECK(limit("RCP|I|10^RD\r") == 10);
  CHECK(limit("RCP|I|1\r") == 1);
  CHECK(limit("RCP|I|25^PG\r") == 25);  // other units count as records
  CHECK(limit("RCP|I| 7 ^RD\r") == 7);
  CHECK_FALSE(limit(""));
  CHECK_FALSE(limit("RCP|I\r"));
  for (const std::string bad : {"x", "0", "-3", "+3", "10x", "1.5", "99999999999", "\"\""}) {
    CAPTURE(bad);
    CHECK_FALSE(limit("RCP|I|" + bad + "^RD\r"));
  }
}

TEST_CASE("the IHE sample queries of the IPF corpus") {
  auto qbp = ipf_sample("commons_ihe_hl7v2__qbp.hl7");
  if (!qbp) {
    MESSAGE("skipped: " << kIpf.string() << " is absent");
    return;
  }
  SUBCASE("ITI-21 with a domain and a limit") {
    CHECK(pdq_search_params(*qbp, systems()).value() ==
          Params{{"family", "MOORE"}, {"birthdate", "eq1938-02-24"}});
    auto domains = requested_domains(*qbp, 8, systems());
    REQUIRE(domains.size() == 1);
    CHECK(domains[0].system == "urn:oid:1.3.6.1.4.1.21367.2005.1.1");
    CHECK(quantity_limit(*qbp) == 10);
  }
  SUBCASE("the maximal demographics query") {
    auto maximal = ipf_sample("commons_ihe_hl7v3__translation_pdq_v2_PDQ_Maximal_Query.hl7");
    REQUIRE(maximal);
    CHECK(pdq_search_params(*maximal, systems()).value() ==
          Params{{"family", "Heidi"},
                 {"given", "MARY"},
                 {"birthdate", "eq1940-01-01"},
                 {"gender", "female"},
                 {"address", "3443 North Arctic Avenue"},
                 {"address-city", "Some City"}});
    auto domains = requested_domains(*maximal, 8, systems());
    REQUIRE(domains.size() == 1);
    CHECK(domains[0].system == "urn:oid:1.3.6.1.4.1.21367.2005.1.2");
    CHECK_FALSE(quantity_limit(*maximal));
  }
  SUBCASE("the identifier query: PID.18 (account number) is not searchable") {
    auto by_id = ipf_sample("commons_ihe_hl7v3__translation_pdq_v2_PDQ_ID_Query.hl7");
    REQUIRE(by_id);
    check_error(error_of(pdq_search_params(*by_id, systems())), ErrorCode::kTableValueNotFound,
                ErrorLocation{"QPD", 1, 3, 8, 1, 0});
    // Without the PID.18 repetitions: two identifiers, each in its own domain (the first
    // names a namespace and an OID: the OID wins).
    Segment& qpd = *by_id->find("QPD");
    const std::string qpd3(qpd.raw(3));
    REQUIRE(qpd.set_raw(3, 0, 0, 0, qpd3.substr(0, qpd3.find("~@PID.18"))).ok());
    CHECK(pdq_search_params(*by_id, systems()).value() ==
          Params{{"identifier", "urn:oid:1.2.3.4|PDQ113XX03"},
                 {"identifier", "urn:oid:1.2.3.4.5|PDQ113XX04"}});
  }
  SUBCASE("Camel's ITI-21 sample (CR LF line ends)") {
    auto camel = ipf_sample("platform-camel_hl7__hl7_iti-21.hl7");
    REQUIRE(camel);
    CHECK(pdq_search_params(*camel, systems()).value() ==
          Params{{"family", "Mayer"}, {"given", "Hans"}});
    CHECK(quantity_limit(*camel) == 10);
    CHECK(requested_domains(*camel, 8, systems()).empty());
  }
}
