#pragma once
// The HL7v2 message archive's tables, shared by the two places they live: clinical.db (from
// clinical schema 6, where the archive records a message in the same transaction as what it
// changed) and the messages.db files of earlier builds, which the archive imports once.

#include <string_view>

namespace cg::storage {

// Schema version 1 of messages.db.
// messages   one row per archived message. The key (MSH-3, MSH-4, MSH-10) is unique: the
//            archive holds the first answer given to a message. raw and ack are the bytes
//            as received and as sent (BLOB: 8859/1 messages are not UTF-8).
inline constexpr std::string_view kArchiveV1 = R"sql(
CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  sending_application TEXT NOT NULL,
  sending_facility TEXT NOT NULL,
  control_id TEXT NOT NULL,
  message_type TEXT NOT NULL,
  peer TEXT NOT NULL,
  raw BLOB NOT NULL,
  ack BLOB NOT NULL,
  ack_code TEXT NOT NULL,
  outcome TEXT NOT NULL
);
CREATE UNIQUE INDEX messages_by_key ON messages (sending_application, sending_facility, control_id);
CREATE INDEX messages_by_received ON messages (received_at);
)sql";

// Schema version 2: reruns of archived messages (`clinic-gateway hl7 reprocess`).
// reprocessings  one row per rerun, linked to its message; the message row itself stays as
//                it was first answered. (message_id, id) serves a message's history in
//                order and its latest answer.
inline constexpr std::string_view kArchiveV2 = R"sql(
CREATE TABLE reprocessings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL REFERENCES messages (id),
  reprocessed_at INTEGER NOT NULL,
  ack BLOB NOT NULL,
  ack_code TEXT NOT NULL,
  outcome TEXT NOT NULL
);
CREATE INDEX reprocessings_by_message ON reprocessings (message_id, id);
)sql";

}  // namespace cg::storage
