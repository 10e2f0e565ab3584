// libFuzzer target: the PIX/PDQ query readers (query_params.hpp) and the answer frame
// (query_response.hpp) on any message that parses. The readers never fail other than with
// their documented HL7 errors (a 0357 code, a location in QPD or none); what they return is
// well formed (named, valued parameters; domains with systems, in increasing repetitions; a
// positive limit); and the answer to any query parses again and echoes its QPD byte for byte.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/parser.hpp"
#include "protocols/hl7v2/query_params.hpp"
#include "protocols/hl7v2/query_response.hpp"

namespace {

using namespace cg::hl7v2;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

ParseOptions options() {
  ParseOptions o;
  o.max_message_bytes = 256 * 1024;
  o.max_segments = 1'000;
  o.max_fields_per_segment = 300;
  return o;
}

IdentifierSystems systems() {
  IdentifierSystems s;
  s.by_namespace.emplace("CLINIC", "http://clinic.example/mrn");
  s.by_namespace.emplace("NS", "urn:oid:1.2.3");
  return s;
}

// A reader's error: a 0357 code, and a location in QPD when it has one.
void check_error(const cg::Error& error) {
  const int code = static_cast<int>(error_code(error));
  check(code >= 100 && code <= 207);
  const auto location = error_location(error);
  check(!location || location->segment == "QPD");
}

void check_domains(const Message& query, int field, const IdentifierSystems& s) {
  int previous = 0;
  for (const QueryDomain& domain : requested_domains(query, field, s)) {
    check(!domain.system.empty());
    check(domain.repetition > previous);
    previous = domain.repetition;
  }
}

void check_readers(const Message& query) {
  const IdentifierSystems s = systems();
  if (auto params = pdq_search_params(query, s)) {
    check(!params->empty());
    for (const SearchParam& p : *params) check(!p.name.empty() && !p.value.empty());
  } else {
    check_error(params.error());
  }
  if (auto source = pix_source_identifier(query, s)) {
    check(!source->system.empty() && !source->value.empty());
  } else {
    check_error(source.error());
  }
  check_domains(query, 8, s);
  check_domains(query, 4, s);
  if (auto limit = quantity_limit(query)) check(*limit >= 1);
}

// The answer parses, and its QPD is the query's, field by field.
void check_answer(const Message& query) {
  const AckOptions answer_options{"GW-1", "20261121093000", "CLINIC-GATEWAY"};
  Message answer = query_response(query, "K22", "RSP_K21", AckCode::kAccept, QueryStatus::kOk, {},
                                  {3, 1, 2}, answer_options);
  check(append_continuation(answer, "c7f2^x").ok());
  ParseOptions again = options();
  again.max_message_bytes *= 2;  // the answer holds the query's QPD and more
  auto reparsed = parse(answer.serialize(), again);
  check(reparsed.ok());
  const Segment* sent = query.find("QPD");
  const Segment* echoed = reparsed->find("QPD");
  check((sent == nullptr) == (echoed == nullptr));
  if (sent == nullptr) return;
  for (int field = 1; field <= sent->field_count(); ++field) {
    check(sent->raw(field) == echoed->raw(field));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto query = parse(text, options());
  if (!query) return 0;
  check_readers(*query);
  check_answer(*query);
  return 0;
}
