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

TEST_CASE("sizes are written in bytes, then binary units with one decimal") {
  CHECK(byte_size(0) == "0 B");
  CHECK(byte_size(1023) == "1023 B");
  CHECK(byte_size(1536) == "1.5 KiB");
  CHECK(byte_size(12 * 1024 * 1024) == "12.0 MiB");
  CHECK(byte_size(3LL * 1024 * 1024 * 1024 / 2) == "1.5 GiB");
}
