#pragma once
// Which memory allocator the daemon runs on (gateway/allocator.cpp says why), for
// `clinic-gateway version`. Thread-safe.

#include <string>

namespace cg::gateway {

// "jemalloc 5.3.0-0-g54eaed1…", or "glibc malloc" in builds without jemalloc.
std::string allocator_description();

}  // namespace cg::gateway
