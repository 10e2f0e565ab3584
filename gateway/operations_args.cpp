#include "gateway/operations_args.hpp"

namespace cg::gateway {

Result<OperationsArgs> parse_operations_args(std::span<const std::string_view> words,
                                             const OperationsShape& shape) {
  OperationsArgs args;
  const std::string command(shape.command);
  bool has_file = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = words[i];
    if (word == "--config") {
      if (i + 1 == words.size()) return Error::invalid("--config needs a file name");
      args.config_file = std::string(words[++i]);
    } else if (word == "--json" && shape.takes_json) {
      args.json = true;
    } else if (word.starts_with("--")) {
      return Error::invalid(command + ": unknown option " + std::string(word));
    } else if (shape.takes_file && !has_file) {
      args.file = std::filesystem::path(word);
      has_file = true;
    } else {
      return Error::invalid(command + ": unexpected '" + std::string(word) + "'");
    }
  }
  if (shape.takes_file && (!has_file || args.file.empty())) {
    return Error::invalid(command + ": FILE is required");
  }
  if (args.config_file.empty()) return Error::invalid(command + ": --config FILE is required");
  return args;
}

}  // namespace cg::gateway
