// The daemon's memory allocator: jemalloc (Debian's libjemalloc2), linked into the
// clinic-gateway binary only (not the sanitizer builds, which bring their own).
//
// Why: the audit repository allocates and frees many short-lived blocks of a few hundred
// bytes to a few KB per message (XML nodes, JSON trees, strings, compressed frames) on
// several threads at once. With glibc's malloc a fifth of the gateway's CPU time in the ATNA
// benchmark went to malloc/free and their consolidation; with jemalloc the same stream took
// 20-25 % less CPU per message (docs/benchmarks.md, issue 6).
//
// The settings keep its memory close to glibc's on a small board (docs/benchmarks.md, issue 7):
// - two arenas instead of jemalloc's default of four per CPU (sixteen on a Raspberry Pi 4:
//   more idle memory, no gain for a daemon whose hot threads are few);
// - freed pages returned to the kernel within a second instead of ten, by jemalloc's own
//   background thread: without it the decay only runs when something allocates, so a burst
//   of writes left 20-30 MB of freed pages resident for as long as the gateway then idled;
// - per-thread caches for blocks up to 4 KiB only (32 KiB by default): with 40-odd worker
//   threads the caches of larger blocks held about 10 MB, for no measurable speed.
//
// jemalloc reads `malloc_conf` at its first allocation; the definition here overrides the
// library's empty default (a weak symbol).
#include "gateway/allocator.hpp"

#include <jemalloc/jemalloc.h>

extern "C" {
__attribute__((used)) const char* malloc_conf =
    "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0,background_thread:true,tcache_max:4096";
}

namespace cg::gateway {

std::string allocator_description() {
  const char* version = nullptr;
  std::size_t size = sizeof version;
  if (mallctl("version", &version, &size, nullptr, 0) != 0 || version == nullptr) {
    return "jemalloc";
  }
  return std::string("jemalloc ") + version;
}

}  // namespace cg::gateway
