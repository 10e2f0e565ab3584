#pragma once
// Plain-text output shared by the operator commands (`hl7 list`, `user list`, `client
// list`): aligned columns and comma-joined lists. The cells are printed as given, so callers
// pass text already made terminal-safe where it comes from outside (terminal_safe()).
// Thread-safety: pure functions.

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cg::gateway {

// Prints rows as columns separated by two spaces, each as wide as its widest cell; the last
// cell of a row is not padded.
void print_table(std::span<const std::vector<std::string>> rows, std::ostream& out);

// "a, b", or `empty` for none.
std::string joined(const std::vector<std::string>& items, std::string_view empty = "-");

// A size for people: "812 B", "3.4 KiB", "12.0 MiB", "1.2 GiB".
std::string byte_size(std::int64_t bytes);

}  // namespace cg::gateway
