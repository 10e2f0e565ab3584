#include "storage/reader_pool.hpp"

#include <doctest/doctest.h>

#include <future>
#include <thread>

#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;

namespace {

std::vector<Connection> connections(const std::filesystem::path& file, int n) {
  std::vector<Connection> conns;
  for (int i = 0; i < n; ++i) {
    auto conn = Connection::open(file, Connection::Mode::kCreate);
    REQUIRE(conn.ok());
    conns.push_back(std::move(*conn));
  }
  return conns;
}

}  // namespace

TEST_CASE("each borrower gets its own connection until it gives it back") {
  TempDir dir;
  ReaderPool pool(connections(dir.path() / "t.db", 2));
  auto a = pool.borrow();
  auto b = pool.borrow();
  REQUIRE((a.ok() && b.ok()));
  CHECK(&**a != &**b);
  Connection* first = &**a;
  { auto drop = std::move(*a); }
  auto c = pool.borrow();
  REQUIRE(c.ok());
  CHECK(&**c == first);
}

TEST_CASE("a borrower beyond the pool size waits for a connection to come back") {
  TempDir dir;
  ReaderPool pool(connections(dir.path() / "t.db", 1));
  auto held = pool.borrow();
  REQUIRE(held.ok());
  auto waiter = std::async(std::launch::async, [&] {
    auto lease = pool.borrow();
    return lease.ok() ? (*lease)->query_int64("SELECT 7").value() : -1;
  });
  { auto giving_back = std::move(*held); }
  REQUIRE(waiter.wait_for(kWaitLimit) == std::future_status::ready);
  CHECK(waiter.get() == 7);
}

TEST_CASE("after close borrowing fails with kUnavailable and connections are closed") {
  TempDir dir;
  ReaderPool pool(connections(dir.path() / "t.db", 2));
  {
    auto lease = pool.borrow();
    REQUIRE(lease.ok());
  }
  pool.close();
  auto late = pool.borrow();
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().kind == ErrorKind::kUnavailable);
  pool.close();  // idempotent
}
