#pragma once
// libarchive, opened when `backup` or `restore` first needs it instead of linked into the
// binary. Linked, its dependencies (libxml2, ICU, nettle, …) are mapped and relocated in
// every process, the serving daemon included, for about 1.5 MB of resident memory that only
// these two commands use (docs/benchmarks.md, issue 7). The package depends on libarchive13.

#include <archive.h>
#include <archive_entry.h>

#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

// The libarchive functions the backup archive uses, resolved from libarchive.so.13.
#define CG_LIBARCHIVE_FUNCTIONS(X)           \
  X(archive_error_string)                    \
  X(archive_entry_new)                       \
  X(archive_entry_free)                      \
  X(archive_entry_set_pathname)              \
  X(archive_entry_set_size)                  \
  X(archive_entry_set_filetype)              \
  X(archive_entry_set_perm)                  \
  X(archive_entry_set_mtime)                 \
  X(archive_entry_pathname)                  \
  X(archive_entry_filetype)                  \
  X(archive_entry_size)                      \
  X(archive_write_new)                       \
  X(archive_write_set_format_pax_restricted) \
  X(archive_write_open_fd)                   \
  X(archive_write_header)                    \
  X(archive_write_data)                      \
  X(archive_write_close)                     \
  X(archive_write_free)                      \
  X(archive_read_new)                        \
  X(archive_read_support_filter_all)         \
  X(archive_read_support_format_tar)         \
  X(archive_read_open_filename)              \
  X(archive_read_next_header)                \
  X(archive_read_data)                       \
  X(archive_read_free)

struct LibArchive {
#define CG_LIBARCHIVE_MEMBER(name) decltype(&::name) name = nullptr;
  CG_LIBARCHIVE_FUNCTIONS(CG_LIBARCHIVE_MEMBER)
#undef CG_LIBARCHIVE_MEMBER
};

// Opens libarchive.so.13 on the first call (thread-safe) and returns its functions, for the
// life of the process. Errors: kUnavailable naming the library and the package when it is
// not installed or lacks a function.
Result<const LibArchive*> libarchive();

}  // namespace cg::gateway
