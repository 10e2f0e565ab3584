#include "protocols/hl7v2/merge_map.hpp"

#include <string_view>
#include <utility>

#include "protocols/hl7v2/error.hpp"

namespace cg::hl7v2 {

bool is_merge_event(std::string_view trigger) {
  return trigger == "A40" || trigger == "A39" || trigger == "A34" || trigger == "A30";
}

Result<MergePlan> map_merge(const Message& message, const IdentifierSystems& systems) {
  if (message.count("MRG") > 1) {
    return make_error(ErrorCode::kSegmentSequenceError,
                      "one merge per message: send each PID/MRG pair as its own message",
                      ErrorLocation{"MRG", 2, 0, 0, 0, 0});
  }
  auto survivor = map_patient(message, systems);
  if (!survivor) return survivor.take_error();
  auto merged = merged_identifiers(message, systems);
  if (!merged) return merged.take_error();
  return MergePlan{std::move(*survivor), std::move(*merged)};
}

}  // namespace cg::hl7v2
