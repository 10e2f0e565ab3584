#pragma once
// Typed access to the MSH fields every HL7v2 receiver acts on: message type (MSH-9),
// control id (MSH-10), processing id (MSH-11), version (MSH-12) and the acknowledgement
// modes (MSH-15/16). Pure functions over a parsed Message; thread-safe.

#include <string>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"

namespace cg::hl7v2 {

// MSH-9: "ADT^A01^ADT_A01". The structure is often absent before v2.3.1.
struct MessageType {
  std::string code;       // MSH-9.1: ADT, ORU, VXU, QBP, ACK
  std::string trigger;    // MSH-9.2: A01, R01, V04, Q22
  std::string structure;  // MSH-9.3: ADT_A01
};

// MSH-11.1, HL7 table 0103.
enum class ProcessingId { kNotGiven, kProduction, kTraining, kDebugging, kOther };

// MSH-12.1, "2.5.1" → {2, 5, 1}. major == 0 when the text is not of the form n.n[.n].
struct Version {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string text;

  // 2.3 up to 2.8.x: what the gateway supports (any version parses).
  bool supported() const;
};

// MSH-15 / MSH-16, HL7 table 0155. kNotGiven in both means original acknowledgement mode.
enum class AckCondition { kNotGiven, kAlways, kNever, kErrorOnly, kSuccessOnly, kOther };

struct MessageHeader {
  MessageType type;
  std::string control_id;  // MSH-10
  ProcessingId processing_id = ProcessingId::kNotGiven;
  std::string processing_mode;  // MSH-11.2 (A archive, R restore, I initial load, T current)
  Version version;
  AckCondition accept_ack = AckCondition::kNotGiven;       // MSH-15
  AckCondition application_ack = AckCondition::kNotGiven;  // MSH-16

  // Enhanced acknowledgement mode: MSH-15 or MSH-16 is valued.
  bool enhanced_ack_mode() const {
    return accept_ack != AckCondition::kNotGiven || application_ack != AckCondition::kNotGiven;
  }
  // Whether the answer is an accept (commit) acknowledgement, CA/CE/CR: MSH-15 asks for one
  // (AL, ER, SU or a code of its own). With MSH-15 NE or empty the sender asked for the
  // application acknowledgement only (MSH-16, e.g. IHE PCD-01's NE/AL), which is AA/AE/AR —
  // and the gateway's answer, sent after the message is processed and stored, is one.
  bool accept_ack_requested() const {
    return accept_ack != AckCondition::kNotGiven && accept_ack != AckCondition::kNever;
  }
};

// Never fails: what is missing or unknown reads as empty / kNotGiven / kOther.
MessageHeader read_header(const Message& message);

// The fields a receiver needs to answer at all: MSH-9.1, MSH-9.2 (except for ACK), MSH-10,
// MSH-11.1 and MSH-12.1. The first one missing is HL7 101 at its location; an MSH-12 that is
// not a version number is 102.
Status check_header(const Message& message);

}  // namespace cg::hl7v2
