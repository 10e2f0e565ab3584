#pragma once
// The command line of the operations commands — `status`, `backup FILE`, `restore FILE`,
// `vacuum` — which share one shape: at most one file argument, --config FILE, and a few
// switches of their own, in any order.
// Thread-safety: pure functions.

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

struct OperationsArgs {
  std::string config_file;
  std::filesystem::path file;  // backup, restore: the backup file
  bool json = false;           // status --json
};

// What a command takes besides --config.
struct OperationsShape {
  std::string_view command;  // for messages: "backup"
  bool takes_file = false;
  bool takes_json = false;
};

// Parses the words after the command's name. Errors: kInvalid saying what is wrong
// ("backup: FILE is required", "--config FILE is required", "unknown option --x").
Result<OperationsArgs> parse_operations_args(std::span<const std::string_view> words,
                                             const OperationsShape& shape);

}  // namespace cg::gateway
