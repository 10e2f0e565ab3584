#include "gateway/libarchive_runtime.hpp"

#include <dlfcn.h>

#include <string>

namespace cg::gateway {
namespace {

// The soname of Debian 12's libarchive13 (and of every libarchive 3.x).
constexpr const char* kLibrary = "libarchive.so.13";

Result<const LibArchive*> open_libarchive() {
  // Never closed: the table lives as long as the process.
  void* handle = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Error::unavailable(std::string("cannot load ") + kLibrary +
                              " (install the libarchive13 package): " + (why ? why : "?"));
  }
  static LibArchive table;
  std::string missing;
#define CG_LIBARCHIVE_RESOLVE(name)                                          \
  table.name = reinterpret_cast<decltype(table.name)>(dlsym(handle, #name)); \
  if (table.name == nullptr) missing += std::string(missing.empty() ? "" : ", ") + #name;
  CG_LIBARCHIVE_FUNCTIONS(CG_LIBARCHIVE_RESOLVE)
#undef CG_LIBARCHIVE_RESOLVE
  if (!missing.empty()) {
    return Error::unavailable(std::string(kLibrary) + " lacks " + missing);
  }
  return &table;
}

}  // namespace

Result<const LibArchive*> libarchive() {
  static const Result<const LibArchive*> loaded = open_libarchive();
  return loaded;
}

}  // namespace cg::gateway
