#pragma once
// SQL building blocks shared by the search executor (index_search.cpp) and the filter
// writer (index_filter.cpp): SQL text with its positional bindings, and the scope a filter is
// evaluated in. Internal to storage.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "storage/index_query.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

using Binding = std::variant<std::int64_t, double, std::string>;

// SQL text and its positional parameters, appended together so they cannot drift apart.
class Sql {
 public:
  Sql& operator<<(std::string_view text) {
    text_ += text;
    return *this;
  }
  Sql& bind(Binding value) {
    text_ += '?';
    bindings_.push_back(std::move(value));
    return *this;
  }
  Sql& append(const Sql& other) {
    text_ += other.text_;
    bindings_.insert(bindings_.end(), other.bindings_.begin(), other.bindings_.end());
    return *this;
  }
  const std::string& text() const { return text_; }
  void bind_to(Statement& stmt) const {
    int index = 1;
    for (const auto& b : bindings_) {
      std::visit([&](const auto& v) { stmt.bind(index, v); }, b);
      ++index;
    }
  }

 private:
  std::string text_;
  std::vector<Binding> bindings_;
};

// A JSON array of strings, for `IN (SELECT value FROM json_each(?))`.
std::string json_list(const std::vector<std::string>& values);

std::string_view table_name(IndexTable table);

// Where the conditions of a Filter are evaluated: resources `alias` of `types`.
struct Scope {
  std::string alias;  // "r0" at the top, "r1"… in chains
  const std::vector<std::string>* types = nullptr;
  int depth = 0;

  bool multi() const { return types->size() != 1; }
  // The key that membership is tested on, and what a key subquery selects (with `x`).
  std::string key() const {
    return multi() ? "(" + alias + ".type, " + alias + ".id)" : alias + ".id";
  }
  std::string index_alias() const { return "x" + std::to_string(depth); }
};

void type_match(Sql& sql, const std::string& column, const std::vector<std::string>& types);

}  // namespace cg::storage
