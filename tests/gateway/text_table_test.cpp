#include "gateway/text_table.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace cg::gateway;

TEST_CASE("tables align every column to its widest cell and leave the last unpadded") {
  std::ostringstream out;
  const std::vector<std::vector<std::string>> rows = {{"name", "roles"}, {"al", "admin, peer"}};
  print_table(rows, out);
  CHECK(out.str() == "name  roles\nal    admin, peer\n");
}

TEST_CASE("an empty list prints as its placeholder") {
  CHECK(joined({}) == "-");
  CHECK(joined({}, "none") == "none");
  CHECK(joined({"a", "b"}) == "a, b");
}
