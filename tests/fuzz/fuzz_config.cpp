// Fuzzes the gateway configuration reader: arbitrary TOML text must give either a config
// or a list of problems naming keys, never a crash.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto load = cg::gateway::parse_config(text, "/fuzz");
  for (const auto& p : load.problems) (void)cg::gateway::describe(p);
  return 0;
}
