#include "protocols/hl7v2/query_response.hpp"

#include <string>

namespace cg::hl7v2 {
namespace {

std::string_view status_text(QueryStatus status) {
  switch (status) {
    case QueryStatus::kOk:
      return "OK";
    case QueryStatus::kNoData:
      return "NF";
    case QueryStatus::kError:
      return "AE";
    case QueryStatus::kReject:
      return "AR";
  }
  return "AE";
}

Status append_qak(Message& response, const Message& query, QueryStatus status,
                  const QueryHits& hits) {
  auto index = response.append_segment("QAK");
  if (!index) return index.take_error();
  Segment& qak = response.segment(*index);
  if (auto s = qak.set_raw(1, 0, 0, 0, query.raw("QPD-2")); !s) return s;
  if (auto s = qak.set(2, 1, 1, 1, status_text(status)); !s) return s;
  if (auto s = qak.set_raw(3, 0, 0, 0, query.raw("QPD-1")); !s) return s;
  const int counts[] = {hits.total, hits.payload, hits.remaining};
  for (int i = 0; i < 3; ++i) {
    if (counts[i] < 0) continue;
    if (auto s = qak.set(4 + i, 1, 1, 1, std::to_string(counts[i])); !s) return s;
  }
  return ok_status();
}

// The query's QPD, field by field as sent (the answer uses the query's delimiters).
Status echo_qpd(Message& response, const Message& query) {
  const Segment* qpd = query.find("QPD");
  if (qpd == nullptr) return ok_status();
  auto index = response.append_segment("QPD");
  if (!index) return index.take_error();
  Segment& echo = response.segment(*index);
  for (int field = 1; field <= qpd->field_count(); ++field) {
    if (qpd->raw(field).empty()) continue;
    if (auto s = echo.set_raw(field, 0, 0, 0, qpd->raw(field)); !s) return s;
  }
  return ok_status();
}

}  // namespace

Message query_response(const Message& query, std::string_view trigger, std::string_view structure,
                       AckCode code, QueryStatus status, std::span<const Error> errors,
                       const QueryHits& hits, const AckOptions& options) {
  Message response = answer_header(query, "RSP", trigger, structure, options);
  (void)append_acknowledgment(response, query, code, errors);
  (void)append_qak(response, query, status, hits);
  (void)echo_qpd(response, query);
  return response;
}

Status append_continuation(Message& response, std::string_view pointer) {
  auto index = response.append_segment("DSC");
  if (!index) return index.take_error();
  Segment& dsc = response.segment(*index);
  if (auto s = dsc.set(1, 1, 1, 1, pointer); !s) return s;
  return dsc.set(2, 1, 1, 1, "I");
}

}  // namespace cg::hl7v2
