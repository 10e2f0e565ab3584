#pragma once
// ReaderPool: a fixed set of read connections to one database, lent out one caller at a
// time. WAL gives each read its own snapshot, so readers never block the writer; a caller
// beyond the pool size waits for a connection to come back.
//
// Thread-safety: borrow() and close() may be called from any thread. A Lease is used by the
// thread that holds it and must be dropped before the pool is destroyed. close() waits for
// outstanding leases, then closes every connection; borrow() after close() fails.

#include <condition_variable>
#include <mutex>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/sqlite.hpp"

namespace cg::storage {

class ReaderPool {
 public:
  // Takes ownership of already configured connections.
  explicit ReaderPool(std::vector<Connection> connections);
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;
  ~ReaderPool();  // close()

  // A borrowed connection, returned to the pool when dropped.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_; }

   private:
    friend class ReaderPool;
    Lease(ReaderPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    ReaderPool* pool_;
    Connection* conn_;
  };

  // Waits for a free connection. kUnavailable once the pool is closed.
  Result<Lease> borrow();
  void close();

 private:
  void give_back(Connection* conn);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Connection> connections_;  // fixed after construction
  std::vector<Connection*> idle_;        // guarded by mutex_
  bool closed_ = false;                  // guarded by mutex_
};

}  // namespace cg::storage
