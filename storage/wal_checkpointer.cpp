#include "storage/wal_checkpointer.hpp"

namespace cg::storage {
namespace {

constexpr int kLogWarning = 4;

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(
    Connection& writer, const std::filesystem::path& file, int threshold_pages,
    std::function<void(int, std::string_view)> log) {
  auto own = Connection::open(file, Connection::Mode::kExisting);
  if (!own) return own.take_error();
  // FULL: the checkpoint syncs the database file before the WAL may be reused.
  if (auto s = own->exec("PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;"); !s) {
    return s.take_error();
  }
  auto checkpointer = std::unique_ptr<WalCheckpointer>(
      new WalCheckpointer(writer, std::move(*own), threshold_pages, std::move(log)));
  writer.set_commit_hook(&WalCheckpointer::on_commit, checkpointer.get());
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(Connection& writer, Connection own, int threshold_pages,
                                 std::function<void(int, std::string_view)> log)
    : writer_(writer),
      own_(std::move(own)),
      threshold_pages_(threshold_pages > 0 ? threshold_pages : 1),
      log_(std::move(log)),
      thread_([this] { run(); }) {}

WalCheckpointer::~WalCheckpointer() {
  stop();
}

void WalCheckpointer::on_commit(void* self, int wal_pages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (wal_pages < c->threshold_pages_) return;
  {
    std::lock_guard lock(c->mutex_);
    if (c->due_) return;
    c->due_ = true;
  }
  c->wake_.notify_one();
}

void WalCheckpointer::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  writer_.set_commit_hook(nullptr, nullptr);
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  own_.close();
}

std::uint64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return due_ || stopping_; });
    if (stopping_) return;
    lock.unlock();
    // PASSIVE: copy what no reader needs, never wait for or block anyone. What it leaves
    // (a reader on an old snapshot) is taken by the next one.
    auto result = own_.query_int64("PRAGMA wal_checkpoint(PASSIVE)");
    if (!result && log_) log_(kLogWarning, "WAL checkpoint failed: " + result.error().message);
    lock.lock();
    due_ = false;
    ++checkpoints_;
  }
}

}  // namespace cg::storage
