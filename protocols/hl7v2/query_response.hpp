#pragma once
// The frame of an answer to a query (HL7 v2.5 chapter 5, "query response"): MSH, MSA, ERR
// (one per error), QAK and the query's QPD echoed, to which the caller appends the records
// (PID …) and, when more follow, a DSC with the continuation pointer. Used for RSP^K22 (PDQ)
// and RSP^K23 (PIX). Pure functions; thread-safe.

#include <span>
#include <string_view>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/ack.hpp"
#include "protocols/hl7v2/message.hpp"

namespace cg::hl7v2 {

// QAK-2, table 0208.
enum class QueryStatus { kOk, kNoData, kError, kReject };

// QAK-4..6: hits in total, in this answer, still to come; a negative one is left out.
struct QueryHits {
  int total = -1;
  int payload = -1;
  int remaining = -1;
};

// RSP^`trigger`^`structure` answering `query`: the answer header, MSA (`code`, MSA-2 = the
// query's MSH-10), an ERR per error, QAK (QAK-1 = the query tag QPD-2, QAK-2 = `status`,
// QAK-3 = QPD-1, the hits) and QPD as the query sent it.
Message query_response(const Message& query, std::string_view trigger, std::string_view structure,
                       AckCode code, QueryStatus status, std::span<const Error> errors,
                       const QueryHits& hits, const AckOptions& options);

// Appends DSC: DSC-1 the continuation pointer, DSC-2 "I" (incremental: ask for the rest by
// sending the same query again with this DSC).
Status append_continuation(Message& response, std::string_view pointer);

}  // namespace cg::hl7v2
