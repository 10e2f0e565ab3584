#include "storage/reader_pool.hpp"

#include <utility>

namespace cg::storage {

ReaderPool::ReaderPool(std::vector<Connection> connections) : connections_(std::move(connections)) {
  for (auto& conn : connections_) idle_.push_back(&conn);
}

ReaderPool::~ReaderPool() {
  close();
}

ReaderPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), conn_(std::exchange(other.conn_, nullptr)) {}

ReaderPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->give_back(conn_);
}

Result<ReaderPool::Lease> ReaderPool::borrow() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return closed_ || !idle_.empty(); });
  if (closed_) return Error::unavailable("store is closed");
  Connection* conn = idle_.back();
  idle_.pop_back();
  return Lease(this, conn);
}

void ReaderPool::give_back(Connection* conn) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(conn);
  }
  // notify_all: close() may be waiting alongside borrowers.
  changed_.notify_all();
}

void ReaderPool::close() {
  std::unique_lock lock(mutex_);
  closed_ = true;
  changed_.notify_all();  // borrowers waiting now fail instead of waiting forever
  changed_.wait(lock, [this] { return idle_.size() == connections_.size(); });
  for (auto& conn : connections_) conn.close();
}

}  // namespace cg::storage
