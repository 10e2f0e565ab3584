#include "faulty_vfs.hpp"

#include <sqlite3.h>

#include <cerrno>

namespace cg::storage::testing {
namespace {

// The shim's state: one FaultyVfs at a time. The VFS struct itself stays registered-able
// for the life of the process, since connections opened through it may outlive the FaultyVfs
// (they then pass everything through).
std::atomic<FaultyVfs*> active{nullptr};
sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs shim_vfs{};

struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;  // lives right after this struct, in the same allocation
};

sqlite3_file* real_of(sqlite3_file* file) {
  return reinterpret_cast<ShimFile*>(file)->real;
}

// Counts the write; the SQLite code it must fail with, or SQLITE_OK to pass it on.
int injected(int io_error_code) {
  FaultyVfs* vfs = active.load();
  if (vfs == nullptr) return SQLITE_OK;
  vfs->count_write();
  switch (vfs->fault()) {
    case DiskFault::kNone:
      return SQLITE_OK;
    case DiskFault::kFull:
      return io_error_code == SQLITE_IOERR_WRITE ? SQLITE_FULL : io_error_code;
    case DiskFault::kReadOnly:
    case DiskFault::kIoError:
      return io_error_code;
  }
  return SQLITE_OK;
}

int shim_close(sqlite3_file* f) {
  return real_of(f)->pMethods->xClose(real_of(f));
}
int shim_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return real_of(f)->pMethods->xRead(real_of(f), buf, amount, offset);
}
int shim_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  if (int rc = injected(SQLITE_IOERR_WRITE); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xWrite(real_of(f), buf, amount, offset);
}
int shim_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = injected(SQLITE_IOERR_TRUNCATE); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int shim_sync(sqlite3_file* f, int flags) {
  if (int rc = injected(SQLITE_IOERR_FSYNC); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
int shim_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int shim_lock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xLock(real_of(f), level);
}
int shim_unlock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int shim_check_reserved(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int shim_file_control(sqlite3_file* f, int op, void* arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int shim_sector_size(sqlite3_file* f) {
  return real_of(f)->pMethods->xSectorSize(real_of(f));
}
int shim_device(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int shim_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), page, size, extend, out);
}
int shim_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void shim_shm_barrier(sqlite3_file* f) {
  real_of(f)->pMethods->xShmBarrier(real_of(f));
}
int shim_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}
int shim_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return real_of(f)->pMethods->xFetch(real_of(f), offset, amount, out);
}
int shim_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  return real_of(f)->pMethods->xUnfetch(real_of(f), offset, page);
}

// The unix VFS's files are version 3 (shared memory and memory-mapped reads); so are ours.
const sqlite3_io_methods shim_methods = {
    3,
    shim_close,
    shim_read,
    shim_write,
    shim_truncate,
    shim_sync,
    shim_file_size,
    shim_lock,
    shim_unlock,
    shim_check_reserved,
    shim_file_control,
    shim_sector_size,
    shim_device,
    shim_shm_map,
    shim_shm_lock,
    shim_shm_barrier,
    shim_shm_unmap,
    shim_fetch,
    shim_unfetch,
};

int shim_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* shim = reinterpret_cast<ShimFile*>(file);
  shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
  shim->base.pMethods = nullptr;  // SQLite does not close a file whose open failed
  const int rc = real_vfs->xOpen(real_vfs, name, shim->real, flags, out_flags);
  if (rc == SQLITE_OK) shim->base.pMethods = &shim_methods;
  return rc;
}

int shim_last_error(sqlite3_vfs*, int size, char* text) {
  FaultyVfs* vfs = active.load();
  if (vfs != nullptr && vfs->fault() != DiskFault::kNone) return vfs->fault_errno();
  return real_vfs->xGetLastError(real_vfs, size, text);
}

}  // namespace

FaultyVfs::FaultyVfs() {
  previous_default_ = sqlite3_vfs_find(nullptr);
  if (real_vfs == nullptr) {
    real_vfs = previous_default_;
    shim_vfs = *real_vfs;  // every other method works as the real one's
    shim_vfs.zName = "cg-faulty";
    shim_vfs.pNext = nullptr;
    shim_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + real_vfs->szOsFile;
    shim_vfs.xOpen = shim_open;
    shim_vfs.xGetLastError = shim_last_error;
  }
  active.store(this);
  sqlite3_vfs_register(&shim_vfs, 1);
}

FaultyVfs::~FaultyVfs() {
  sqlite3_vfs_register(previous_default_, 1);
  sqlite3_vfs_unregister(&shim_vfs);
  active.store(nullptr);
}

int FaultyVfs::fault_errno() const {
  switch (fault()) {
    case DiskFault::kFull:
      return ENOSPC;
    case DiskFault::kReadOnly:
      return EROFS;
    case DiskFault::kIoError:
      return EIO;
    case DiskFault::kNone:
      break;
  }
  return 0;
}

}  // namespace cg::storage::testing
