// allocator_description() for builds without jemalloc (the sanitizer and fuzz builds, and
// -DCG_JEMALLOC=OFF): the C library's malloc.
#include "gateway/allocator.hpp"

namespace cg::gateway {

std::string allocator_description() {
  return "glibc malloc";
}

}  // namespace cg::gateway
