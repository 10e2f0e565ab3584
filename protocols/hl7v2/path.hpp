#pragma once
// Terse paths to a place in an HL7v2 message: "PID-3(2).4.1" is the 4th component's first
// subcomponent of the 2nd repetition of PID-3 in the first PID; "OBX[3]-5" is OBX-5 of the
// third OBX. Numbers are 1-based as in HL7. Also accepted: "(n)" for the segment occurrence and
// "-" between component and subcomponent (HAPI's "PID-3(2)-4-1"). Pure values; thread-safe.

#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::hl7v2 {

// Largest number a path may hold (keeps setters from building absurdly large fields).
inline constexpr int kMaxPathNumber = 99'999;
// Largest segment occurrence a path may hold.
inline constexpr int kMaxPathOccurrence = 1'000'000;

// 0 means "not given" for every number. What a missing number means depends on the accessor
// (see Message): value accessors read the first one, raw accessors the whole level.
struct Path {
  std::string segment;   // three characters: "PID", "ZBE"
  int occurrence = 0;    // [n]: which occurrence of the segment id
  int field = 0;         // -n; 0 only for a path naming a whole segment
  int repetition = 0;    // (n)
  int component = 0;     // .n
  int subcomponent = 0;  // .n.n

  bool operator==(const Path&) const = default;
};

// kInvalid for anything else than SEG[n]-f(r).c.s with the parts in that order (each optional
// after the segment id) and numbers in 1..kMaxPathNumber (occurrence: ..kMaxPathOccurrence).
Result<Path> parse_path(std::string_view text);

// The canonical text: "PID-3(2).4.1", "OBX[3]-5"; parse_path(to_string(p)) == p.
std::string to_string(const Path& path);

// True for "MSH", "PID", "ZBE": an upper-case letter, then two upper-case letters or digits.
bool is_segment_id(std::string_view id);

}  // namespace cg::hl7v2
