#include "gateway/hl7_archive_report.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cstdio>

#include "gateway/text_table.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

std::string hex_escape(unsigned char byte) {
  char text[8];
  std::snprintf(text, sizeof text, "\\x%02X", byte);
  return text;
}

// The length of the UTF-8 sequence at `i` that is safe to show as is (valid, and not a C1
// control, which some terminals obey as they do ESC); 0 when there is none.
std::size_t printable_utf8_length(std::string_view text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t n = 0;
  if (lead >= 0xC2 && lead <= 0xDF) n = 2;
  if (lead >= 0xE0 && lead <= 0xEF) n = 3;
  if (lead >= 0xF0 && lead <= 0xF4) n = 4;
  if (n == 0 || i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (lead == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) return 0;  // C1
  return n;
}

std::vector<std::string_view> segments(std::string_view bytes) {
  std::vector<std::string_view> out;
  while (!bytes.empty()) {
    const std::size_t end = std::min(bytes.find('\r'), bytes.find('\n'));
    if (end != 0) out.push_back(bytes.substr(0, end));
    if (end == std::string_view::npos) break;
    bytes.remove_prefix(end + 1);
  }
  return out;
}

void print_segments(std::string_view bytes, std::ostream& out) {
  for (std::string_view segment : segments(bytes)) out << "    " << terminal_safe(segment) << "\n";
}

void print_ack(std::string_view bytes, std::ostream& out) {
  out << "  ack:\n";
  print_segments(bytes, out);
}

std::string sender(const storage::ArchivedMessage& m) {
  return terminal_safe(m.key.sending_application + "/" + m.key.sending_facility);
}

std::string written_count(std::string_view outcome) {
  const OutcomeSummary summary = summarize_outcome(outcome);
  return summary.readable ? std::to_string(summary.written.size()) : "?";
}

std::vector<std::string> list_row(const storage::ArchivedMessage& m) {
  const storage::CurrentAnswer now = storage::current_answer(m);
  return {std::to_string(m.id),
          storage::format_instant(m.received_at_ms),
          sender(m),
          type_and_event(m),
          terminal_safe(m.key.control_id),
          terminal_safe(now.ack_code),
          written_count(now.outcome),
          std::to_string(m.reprocessings.size())};
}

}  // namespace

OutcomeSummary summarize_outcome(std::string_view outcome_json) {
  OutcomeSummary summary;
  boost::system::error_code ec;
  const json::value value = json::parse(outcome_json, ec);
  const json::object* o = ec ? nullptr : value.if_object();
  const json::array* written = o && o->contains("written") ? o->at("written").if_array() : nullptr;
  const json::array* errors = o && o->contains("errors") ? o->at("errors").if_array() : nullptr;
  if (!written || !errors) return {{}, {}, false};
  for (const auto& ref : *written) {
    if (ref.is_string()) summary.written.push_back(terminal_safe(ref.as_string()));
  }
  for (const auto& error : *errors) {
    const json::object* e = error.if_object();
    if (!e) continue;
    const auto* code = e->if_contains("code");
    const auto* message = e->if_contains("message");
    std::string line = code && code->is_int64() ? std::to_string(code->as_int64()) : "?";
    if (message && message->is_string()) line += " " + terminal_safe(message->as_string());
    summary.errors.push_back(std::move(line));
  }
  return summary;
}

std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7F) {
      out += text[i++];
    } else if (const std::size_t n = byte >= 0x80 ? printable_utf8_length(text, i) : 0; n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += hex_escape(byte);
      ++i;
    }
  }
  return out;
}

std::string type_and_event(const storage::ArchivedMessage& message) {
  // MSH-2 starts right after "MSH" and the field separator: its first character is the
  // component separator.
  const char component = message.raw.size() > 4 ? message.raw[4] : '^';
  std::string_view type = message.message_type;
  const std::size_t first = type.find(component);
  const std::size_t second =
      first == std::string_view::npos ? first : type.find(component, first + 1);
  return terminal_safe(type.substr(0, second));
}

void print_list(std::span<const storage::ArchivedMessage> messages, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {
      {"id", "received", "sender", "type", "control id", "ack", "wrote", "reprocessed"}};
  for (const auto& m : messages) rows.push_back(list_row(m));
  print_table(rows, out);
}

void print_answer(std::string_view label, std::string_view ack_code, std::string_view outcome,
                  std::ostream& out) {
  out << label << ": " << terminal_safe(ack_code) << "\n";
  const OutcomeSummary summary = summarize_outcome(outcome);
  if (!summary.readable) {
    out << "  outcome: " << terminal_safe(outcome) << "\n";
    return;
  }
  out << "  wrote: " << joined(summary.written, "nothing") << "\n";
  for (const auto& e : summary.errors) out << "  error " << e << "\n";
}

void print_message(const storage::ArchivedMessage& message, std::ostream& out) {
  out << "message " << message.id << "\n"
      << "  received:   " << storage::format_instant(message.received_at_ms) << " from "
      << terminal_safe(message.peer) << "\n"
      << "  sender:     " << sender(message) << " (MSH-3/MSH-4)\n"
      << "  type:       " << terminal_safe(message.message_type) << "\n"
      << "  control id: " << terminal_safe(message.key.control_id) << "\n"
      << "  answer now: " << terminal_safe(storage::current_answer(message).ack_code)
      << " (reprocessed " << message.reprocessings.size()
      << (message.reprocessings.size() == 1 ? " time)\n" : " times)\n") << "  segments:\n";
  print_segments(message.raw, out);
  print_answer("first answer", message.ack_code, message.outcome, out);
  print_ack(message.ack, out);
  for (const auto& run : message.reprocessings) {
    print_answer("reprocessed " + storage::format_instant(run.at_ms), run.ack_code, run.outcome,
                 out);
    print_ack(run.ack, out);
  }
}

}  // namespace cg::gateway
