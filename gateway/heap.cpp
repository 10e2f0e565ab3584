#include "gateway/heap.hpp"

#include <malloc.h>

#include <cstddef>

// jemalloc's control interface, declared weak: it resolves when the binary links jemalloc
// (the daemon) and stays null otherwise, so this file needs neither jemalloc's header nor a
// build switch.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
                       std::size_t newlen) __attribute__((weak));

namespace cg::gateway {
namespace {

// jemalloc's MALLCTL_ARENAS_ALL: "arena.4096.purge" addresses every arena.
constexpr const char* kPurgeAllArenas = "arena.4096.purge";

bool on_jemalloc() {
  return mallctl != nullptr;
}

std::uint64_t jemalloc_stat(const char* name) {
  std::size_t value = 0;
  std::size_t size = sizeof value;
  return mallctl(name, &value, &size, nullptr, 0) == 0 ? value : 0;
}

HeapFigures jemalloc_figures() {
  // jemalloc's statistics are a snapshot taken when the epoch advances.
  std::uint64_t epoch = 1;
  std::size_t size = sizeof epoch;
  mallctl("epoch", &epoch, &size, &epoch, size);
  return {"jemalloc", jemalloc_stat("stats.allocated"), jemalloc_stat("stats.resident")};
}

HeapFigures glibc_figures() {
  const struct mallinfo2 info = mallinfo2();
  // arena: bytes obtained with sbrk and from the per-thread heaps; hblkhd: mmapped blocks.
  return {"glibc", info.uordblks + info.hblkhd, info.arena + info.hblkhd};
}

}  // namespace

HeapFigures heap_figures() {
  return on_jemalloc() ? jemalloc_figures() : glibc_figures();
}

void release_free_heap() {
  if (!on_jemalloc()) {
    malloc_trim(0);
    return;
  }
  mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
  mallctl(kPurgeAllArenas, nullptr, nullptr, nullptr, 0);
}

}  // namespace cg::gateway
