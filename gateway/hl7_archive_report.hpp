#pragma once
// How the `hl7` commands show the message archive on the operator's terminal: the one-line listing
// (no patient data: only the header fields that name systems and messages, the answer code
// and counts) and the full view of one message with its answers. Everything taken from a
// message is made terminal-safe first: a sender's bytes must not be able to move the cursor
// or retitle the window of whoever reads them.
//
// Pure functions over archived values; thread-safe.

#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/message_archive.hpp"

namespace cg::gateway {

// What an answer's outcome JSON (written by the receiver) says, ready to print.
struct OutcomeSummary {
  std::vector<std::string> written;  // "Patient/abc"
  std::vector<std::string> errors;   // "205 the message's identifiers match …"
  bool readable = true;              // false: the JSON did not have the receiver's shape
};
OutcomeSummary summarize_outcome(std::string_view outcome_json);

// `text` with control characters (C0, DEL, C1) and bytes that are not valid UTF-8 (an
// 8859/1 message) shown as "\xNN"; printable ASCII and UTF-8 text stay as they are.
std::string terminal_safe(std::string_view text);

// "ADT^A28" from MSH-9 "ADT^A28^ADT_A05", with the message's own component separator.
std::string type_and_event(const storage::ArchivedMessage& message);

// A header line and one aligned line per message: id, received (UTC), sender (MSH-3/MSH-4),
// type^event, control id, the current answer's code, how many resources it wrote, and how
// often the message was reprocessed.
void print_list(std::span<const storage::ArchivedMessage> messages, std::ostream& out);

// The message's header facts, its segments one per line, then each answer (the first and
// every reprocessing, oldest first) with its code, what it wrote or its errors, and its bytes.
void print_message(const storage::ArchivedMessage& message, std::ostream& out);

// One answer of a message: "<label>: AE" and its outcome, indented.
void print_answer(std::string_view label, std::string_view ack_code, std::string_view outcome,
                  std::ostream& out);

}  // namespace cg::gateway
