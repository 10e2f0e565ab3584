#pragma once
// Acknowledgements: the answer the gateway gives to every inbound HL7v2 message, built from
// the message it answers (HL7 v2.5.1 chapter 2, "acknowledgment messages").
//
// The ACK's MSH mirrors the incoming one: sending and receiving application and facility
// swapped, the same processing id, version, delimiters and character set; MSH-9 is
// "ACK^<trigger>^ACK". MSA-1 is AA/AE/AR in original mode and CA/CE/CR when the sender asks
// for an accept acknowledgement (MSH-15 AL, ER or SU; with MSH-15 NE and MSH-16 valued it
// asks for the application acknowledgement, AA/AE/AR), MSA-2 the incoming MSH-10. Every error
// becomes one ERR segment: from v2.5 on ERR-2 (location), ERR-3 (table 0357 code) and ERR-4
// (severity E) with the text in ERR-8; for v2.3 and v2.4 the older ERR-1 (ELD). Error texts name
// places, never values: they are built by the parser and the mappers, which never quote patient
// data. Pure functions; thread-safe.

#include <span>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"

namespace cg::hl7v2 {

// AA / CA: accepted (stored); AE / CE: an error in the message (nothing stored; resending it
// unchanged fails again); AR / CR: rejected (unsupported type, version or processing id, or
// the gateway could not process it now: the sender may retry).
enum class AckCode { kAccept, kError, kReject };

struct AckOptions {
  std::string control_id;                              // MSH-10 of the answer: unique per answer
  std::string timestamp;                               // MSH-7, e.g. "20261121073500.123+0000"
  std::string sending_application = "CLINIC-GATEWAY";  // used when the incoming MSH-5 is empty
};

// "AA", "AE", "AR", or "CA", "CE", "CR" for an accept acknowledgement.
std::string ack_code_text(AckCode code, bool accept_ack);

// The MSH of an answer to `incoming`: swapped applications and facilities, MSH-9 set to
// `code^trigger^structure` (trigger from the incoming message), the incoming version,
// processing id, delimiters and charset. The base for ACKs and query responses alike.
Message answer_header(const Message& incoming, std::string_view code, std::string_view structure,
                      const AckOptions& options);
// Same, with the trigger given: a query's answer has its own (QBP^Q22 → RSP^K22).
Message answer_header(const Message& incoming, std::string_view code, std::string_view trigger,
                      std::string_view structure, const AckOptions& options);

// The acknowledgement of `incoming` with `code` and one ERR per error.
Message build_ack(const Message& incoming, AckCode code, std::span<const Error> errors,
                  const AckOptions& options);

// Appends the MSA and ERR segments of an answer (query responses need them too).
Status append_acknowledgment(Message& answer, const Message& incoming, AckCode code,
                             std::span<const Error> errors);

// The answer to bytes that did not parse into a message with a usable MSH: an ACK with AR
// (MSA-2 the control id when one could be read) and the error, in the default delimiters.
std::string reject_unparsed(std::string_view bytes, const Error& error, const AckOptions& options);

}  // namespace cg::hl7v2
