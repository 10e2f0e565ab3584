#pragma once
// cg_hl7v2: the HL7v2 message library — parsing ER7 ("pipe and hat") messages of versions
// 2.3 to 2.8 into lossless Message values, typed MSH access, escapes, character sets, and the
// HL7 error codes and locations that ACKs report. Pure logic: no sockets, no storage, no
// FHIR. Any thread may call it; a Message is a plain value (see message.hpp).
//
//   auto message = cg::hl7v2::parse(bytes);          // Result<Message>
//   if (!message) → error_code(message.error()), error_location(message.error())
//   message->get("PID-3(2).4.1");                     // unescaped UTF-8
//   message->set("PID-5.1", "Müller");                // escaped, in the message's charset
//   message->serialize();                             // the bytes parsed, "\r" line ends
//
// The MLLP server and the v2 → FHIR mappers build on this library (docs/hl7v2.md).

#include "protocols/hl7v2/charset.hpp"     // IWYU pragma: export
#include "protocols/hl7v2/delimiters.hpp"  // IWYU pragma: export
#include "protocols/hl7v2/error.hpp"       // IWYU pragma: export
#include "protocols/hl7v2/escape.hpp"      // IWYU pragma: export
#include "protocols/hl7v2/header.hpp"      // IWYU pragma: export
#include "protocols/hl7v2/message.hpp"     // IWYU pragma: export
#include "protocols/hl7v2/parser.hpp"      // IWYU pragma: export
#include "protocols/hl7v2/path.hpp"        // IWYU pragma: export
