#include "storage/audit_outbox.hpp"

#include <doctest/doctest.h>

#include "storage/resource_store.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::storage;

namespace {

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<ResourceStore> store;

  Fixture() { open(); }
  void open() {
    StoreConfig config;
    config.directory = dir.path();
    auto opened = ResourceStore::open(config);
    REQUIRE(opened.ok());
    store = std::move(*opened);
  }
  std::vector<StagedAudit> staged(std::size_t limit = 100) {
    std::vector<StagedAudit> out;
    REQUIRE(store
                ->write([&](WriteContext& ctx) -> Status {
                  auto rows = staged_audits(ctx.connection(), limit);
                  if (!rows) return rows.take_error();
                  out = std::move(*rows);
                  return ok_status();
                })
                .ok());
    return out;
  }
};

}  // namespace

TEST_CASE("a staged audit record commits with its job's write, and survives a reopen") {
  Fixture f;
  REQUIRE(f.store
              ->write([](WriteContext& ctx) -> Status {
                auto put =
                    ctx.put("Patient", "p1", boost::json::object{{"resourceType", "Patient"}}, {});
                if (!put) return put.take_error();
                return stage_audit(ctx.connection(), 1000, R"({"resourceType":"AuditEvent"})");
              })
              .ok());
  f.store->close();
  f.open();
  auto rows = f.staged();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].created_ms == 1000);
  CHECK(rows[0].event_json == R"({"resourceType":"AuditEvent"})");
}

TEST_CASE("a job that fails rolls back its staged audit record with its write") {
  Fixture f;
  auto s = f.store->write([](WriteContext& ctx) -> Status {
    if (auto st = stage_audit(ctx.connection(), 1, "{}"); !st) return st;
    return Error::invalid("the write failed");
  });
  CHECK_FALSE(s.ok());
  CHECK(f.staged().empty());
  CHECK_FALSE(f.store->head("Patient", "p1").value().has_value());
}

TEST_CASE("records are read oldest first in bounded batches and unstaged up to an id") {
  Fixture f;
  REQUIRE(f.store
              ->write([](WriteContext& ctx) -> Status {
                for (int i = 1; i <= 5; ++i) {
                  auto st = stage_audit(ctx.connection(), i, "{\"n\":" + std::to_string(i) + "}");
                  if (!st) return st;
                }
                return ok_status();
              })
              .ok());
  auto first = f.staged(2);
  REQUIRE(first.size() == 2);
  CHECK(first[0].created_ms == 1);
  CHECK(first[1].created_ms == 2);
  REQUIRE(f.store
              ->write([&](WriteContext& ctx) {
                return unstage_audits(ctx.connection(), first.back().id);
              })
              .ok());
  auto rest = f.staged();
  REQUIRE(rest.size() == 3);
  CHECK(rest[0].created_ms == 3);
}
