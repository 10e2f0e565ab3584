#include "gateway/libarchive_runtime.hpp"

#include <doctest/doctest.h>

using cg::gateway::LibArchive;
using cg::gateway::libarchive;

TEST_CASE("libarchive is opened at run time with every function the backup uses") {
  auto loaded = libarchive();
  REQUIRE(loaded);
  const LibArchive& lib = **loaded;
#define CG_CHECK_RESOLVED(name) CHECK_MESSAGE((lib.name != nullptr), #name);
  CG_LIBARCHIVE_FUNCTIONS(CG_CHECK_RESOLVED)
#undef CG_CHECK_RESOLVED
  // Opened once: the second call hands back the same table.
  CHECK(*libarchive() == *loaded);
  // And they are libarchive's: a writer starts and takes the backup's format.
  struct archive* a = lib.archive_write_new();
  REQUIRE(a != nullptr);
  CHECK(lib.archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
  CHECK(lib.archive_write_free(a) == ARCHIVE_OK);
}
