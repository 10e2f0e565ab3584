#include "protocols/hl7v2/ack.hpp"

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/header.hpp"

namespace cg::hl7v2 {
namespace {

// ERR-2 / ERL and ERR-1 / ELD were both introduced for this; ERR-2 replaced ERR-1 in v2.5.
bool uses_err2(const Version& version) {
  return version.major == 0 || version.major > 2 || (version.major == 2 && version.minor >= 5);
}

std::string number(int n) {
  return n > 0 ? std::to_string(n) : std::string();
}

Status append_error(Message& answer, const Version& version, const Error& error) {
  auto index = answer.append_segment("ERR");
  if (!index) return index.take_error();
  Segment& err = answer.segment(*index);
  const ErrorCode code = error_code(error);
  const std::string code_text(error_code_text(code));
  const auto location = error_location(error).value_or(ErrorLocation{});
  if (uses_err2(version)) {
    if (!location.segment.empty()) {
      const std::string parts[] = {location.segment,           number(location.segment_sequence),
                                   number(location.field),     number(location.repetition),
                                   number(location.component), number(location.subcomponent)};
      int last = 6;  // no trailing empty components
      while (last > 1 && parts[last - 1].empty()) --last;
      for (int i = 0; i < last; ++i) {
        if (auto s = err.set(2, 1, i + 1, 1, parts[i]); !s) return s;
      }
    }
    if (auto s = err.set(3, 1, 1, 1, std::to_string(static_cast<int>(code))); !s) return s;
    if (auto s = err.set(3, 1, 2, 1, code_text); !s) return s;
    if (auto s = err.set(3, 1, 3, 1, "HL70357"); !s) return s;
    if (auto s = err.set(4, 1, 1, 1, "E"); !s) return s;
    return err.set(8, 1, 1, 1, error.message);
  }
  // v2.3 / v2.4: ERR-1 (ELD) = segment ^ sequence ^ field ^ code&text&HL70357.
  if (auto s = err.set(1, 1, 1, 1, location.segment); !s) return s;
  if (auto s = err.set(1, 1, 2, 1, number(location.segment_sequence)); !s) return s;
  if (auto s = err.set(1, 1, 3, 1, number(location.field)); !s) return s;
  if (auto s = err.set(1, 1, 4, 1, std::to_string(static_cast<int>(code))); !s) return s;
  if (auto s = err.set(1, 1, 4, 2, code_text); !s) return s;
  return err.set(1, 1, 4, 3, "HL70357");
}

// MSH-10 read naively from the first line of bytes the parser refused, so the sender can
// match the rejection to its message; "" when the bytes do not start like an MSH.
std::string guess_control_id(std::string_view bytes) {
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  if (bytes.size() < 4 || !bytes.starts_with("MSH")) return {};
  const char separator = bytes[3];
  bytes = bytes.substr(0, bytes.find_first_of("\r\n"));
  // Split index 9 is MSH-10: "MSH" is index 0 and MSH-1 is the separator itself.
  std::size_t start = 0;
  for (int index = 0; index < 9; ++index) {
    start = bytes.find(separator, start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  const auto end = bytes.find(separator, start);
  std::string_view id =
      bytes.substr(start, end == std::string_view::npos ? bytes.npos : end - start);
  constexpr std::size_t kMaxControlId = 199;  // ST of MSH-10 is at most 199 characters
  return std::string(id.substr(0, kMaxControlId));
}

}  // namespace

std::string ack_code_text(AckCode code, bool accept_ack) {
  const char first = accept_ack ? 'C' : 'A';
  switch (code) {
    case AckCode::kAccept:
      return std::string{first, 'A'};
    case AckCode::kError:
      return std::string{first, 'E'};
    case AckCode::kReject:
      return std::string{first, 'R'};
  }
  return std::string{first, 'R'};
}

Message answer_header(const Message& incoming, std::string_view code, std::string_view structure,
                      const AckOptions& options) {
  return answer_header(incoming, code, incoming.get("MSH-9.2"), structure, options);
}

Message answer_header(const Message& incoming, std::string_view code, std::string_view trigger,
                      std::string_view structure, const AckOptions& options) {
  Message answer = Message::create(incoming.delimiters(), incoming.charset());
  // Swapped as sent (raw): HD fields keep their components and escapes.
  auto copy = [&](std::string_view to, std::string_view from) {
    (void)answer.set_raw(to, incoming.raw(from));
  };
  if (incoming.presence("MSH-5") == Presence::kValued) {
    copy("MSH-3", "MSH-5");
  } else {
    (void)answer.set("MSH-3", options.sending_application);
  }
  copy("MSH-4", "MSH-6");
  copy("MSH-5", "MSH-3");
  copy("MSH-6", "MSH-4");
  (void)answer.set("MSH-7", options.timestamp);
  (void)answer.set("MSH-9.1", code);
  (void)answer.set("MSH-9.2", trigger);
  (void)answer.set("MSH-9.3", structure);
  (void)answer.set("MSH-10", options.control_id);
  copy("MSH-11", "MSH-11");
  copy("MSH-12", "MSH-12");
  return answer;
}

Status append_acknowledgment(Message& answer, const Message& incoming, AckCode code,
                             std::span<const Error> errors) {
  const MessageHeader header = read_header(incoming);
  auto msa = answer.append_segment("MSA");
  if (!msa) return msa.take_error();
  Segment& segment = answer.segment(*msa);
  if (auto s = segment.set(1, 1, 1, 1, ack_code_text(code, header.accept_ack_requested())); !s) {
    return s;
  }
  if (auto s = segment.set_raw(2, 0, 0, 0, incoming.raw("MSH-10")); !s) return s;
  for (const Error& e : errors) {
    if (auto s = append_error(answer, header.version, e); !s) return s;
  }
  return ok_status();
}

Message build_ack(const Message& incoming, AckCode code, std::span<const Error> errors,
                  const AckOptions& options) {
  Message ack = answer_header(incoming, "ACK", "ACK", options);
  (void)append_acknowledgment(ack, incoming, code, errors);
  return ack;
}

std::string reject_unparsed(std::string_view bytes, const Error& error, const AckOptions& options) {
  Message ack = Message::create();
  (void)ack.set("MSH-3", options.sending_application);
  (void)ack.set("MSH-7", options.timestamp);
  (void)ack.set("MSH-9.1", "ACK");
  (void)ack.set("MSH-10", options.control_id);
  (void)ack.set("MSH-11", "P");
  (void)ack.set("MSH-12", "2.5.1");
  auto msa = ack.append_segment("MSA");
  if (msa) {
    (void)ack.segment(*msa).set(1, 1, 1, 1, "AR");
    (void)ack.segment(*msa).set(2, 1, 1, 1, guess_control_id(bytes));
  }
  (void)append_error(ack, Version{2, 5, 1, "2.5.1"}, error);
  return ack.serialize();
}

}  // namespace cg::hl7v2
