#include "gateway/audit_emitter.hpp"

#include <doctest/doctest.h>

#include <future>

#include "storage/audit_outbox.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {

struct Fixture {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::AuditStore> audits;
  std::unique_ptr<storage::ResourceStore> clinical;

  Fixture() {
    auto a = storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
    REQUIRE(a.ok());
    audits = std::move(*a);
    storage::StoreConfig config;
    config.directory = dir.path();
    auto c = storage::ResourceStore::open(config);
    REQUIRE(c.ok());
    clinical = std::move(*c);
  }

  AuditEmitterConfig config() {
    AuditEmitterConfig c;
    c.source = {"gw-test", ""};
    c.clock_ms = [] { return std::int64_t{1'795'255'200'000}; };
    return c;
  }

  AuditEventSpec spec(std::string patient) {
    AuditEventSpec spec;
    spec.type = {std::string(codes::kDicom), "110110", "Patient Record"};
    spec.agents = {gateway_agent({"gw-test", ""})};
    spec.entities = {patient_entity(std::move(patient))};
    return spec;
  }

  boost::json::object event(std::string patient) {
    return build_audit_event({"gw-test", ""}, spec(std::move(patient)), 1'795'255'200'000);
  }

  std::size_t found(std::string_view patient) {
    storage::AuditQuery q;
    q.all_of.push_back({"patient", {{"", "", std::string(patient)}}});
    auto r = audits->search(q);
    REQUIRE(r.ok());
    return r->size();
  }

  // A write gate for the data directory whose probe fails until `healed` turns true.
  std::shared_ptr<storage::WriteGate> gate_until(const bool& healed) {
    storage::WriteGateConfig gate_config;
    gate_config.directory = dir.path();
    gate_config.min_free_bytes = 0;
    gate_config.probe = [&healed](const std::filesystem::path&) -> Status {
      return healed ? ok_status() : Status(Error::unavailable("still full"));
    };
    return std::make_shared<storage::WriteGate>(std::move(gate_config));
  }

  std::size_t staged() {
    std::size_t n = 0;
    REQUIRE(clinical
                ->write([&](storage::WriteContext& ctx) -> Status {
                  auto rows = storage::staged_audits(ctx.connection(), 1000);
                  if (!rows) return rows.take_error();
                  n = rows->size();
                  return ok_status();
                })
                .ok());
    return n;
  }
};

}  // namespace

TEST_CASE("emitted events reach audit.db in a batch, searchable by patient") {
  Fixture f;
  AuditEmitter emitter(*f.audits, f.clinical.get(), f.config());
  for (int i = 0; i < 50; ++i) emitter.emit(f.event("Patient/p" + std::to_string(i % 5)));
  REQUIRE(emitter.flush().ok());
  CHECK(f.found("Patient/p3") == 10);
  CHECK(emitter.counters().emitted == 50);
  auto stored = f.audits->since(0, 1);
  REQUIRE(stored.ok());
  CHECK(stored->front().record.transport == "self");
  CHECK(stored->front().record.received_ms == 1'795'255'200'000);
}

TEST_CASE("a staged event commits with its job and is then moved out of clinical.db") {
  Fixture f;
  AuditEmitter emitter(*f.audits, f.clinical.get(), f.config());
  REQUIRE(f.clinical
              ->write([&](storage::WriteContext& ctx) {
                return emitter.stage(ctx, f.spec("Patient/w1"));
              })
              .ok());
  // A failing job takes its staged event with it.
  CHECK_FALSE(f.clinical
                  ->write([&](storage::WriteContext& ctx) -> Status {
                    if (auto s = emitter.stage(ctx, f.spec("Patient/w2")); !s) return s;
                    return Error::invalid("the write failed");
                  })
                  .ok());
  REQUIRE(emitter.flush().ok());
  CHECK(f.found("Patient/w1") == 1);
  CHECK(f.found("Patient/w2") == 0);
  CHECK(f.staged() == 0);
  CHECK(emitter.counters().moved == 1);
}

TEST_CASE("events staged before a crash are moved when the gateway starts again") {
  Fixture f;
  REQUIRE(f.clinical
              ->write([&](storage::WriteContext& ctx) {
                return storage::stage_audit(ctx.connection(), 7,
                                            R"({"resourceType":"AuditEvent","entity":[
                      {"what":{"reference":"Patient/left-over"}}]})");
              })
              .ok());
  AuditEmitter emitter(*f.audits, f.clinical.get(), f.config());
  REQUIRE(emitter.flush().ok());
  CHECK(f.found("Patient/left-over") == 1);
  CHECK(f.staged() == 0);
}

TEST_CASE("stop() writes what is queued and staged; emit after stop still stores") {
  Fixture f;
  {
    AuditEmitter emitter(*f.audits, f.clinical.get(), f.config());
    emitter.emit(f.event("Patient/s1"));
    REQUIRE(f.clinical
                ->write([&](storage::WriteContext& ctx) {
                  return emitter.stage(ctx, f.spec("Patient/s2"));
                })
                .ok());
    emitter.stop();
    CHECK(f.found("Patient/s1") == 1);
    CHECK(f.found("Patient/s2") == 1);
    emitter.emit(f.event("Patient/s3"));
    CHECK(f.found("Patient/s3") == 1);
  }
}

TEST_CASE("when audit.db refuses, staged events stay in clinical.db (nothing lost)") {
  Fixture f;
  AuditEmitter emitter(*f.audits, f.clinical.get(), f.config());
  REQUIRE(f.clinical
              ->write([&](storage::WriteContext& ctx) {
                return emitter.stage(ctx, f.spec("Patient/kept"));
              })
              .ok());
  f.audits->close();  // appends now fail with kUnavailable
  REQUIRE(emitter.flush().ok());
  CHECK(f.staged() == 1);
  CHECK(emitter.counters().failed >= 1);
}

TEST_CASE("while the disk refuses writes, the records of reads wait in memory, none lost") {
  Fixture f;
  bool healed = false;
  auto gate = f.gate_until(healed);
  AuditEmitterConfig config = f.config();
  config.write_gate = gate;
  config.gate_interval = std::chrono::milliseconds(10);
  AuditEmitter emitter(*f.audits, f.clinical.get(), config);
  (void)gate->note_failure(storage::DiskProblem::kFull, "database or disk is full");

  emitter.emit(f.spec("Patient/read-while-full"));
  REQUIRE(emitter.flush().ok());  // rounds pass; the record is held, not failed
  CHECK(f.found("Patient/read-while-full") == 0);
  CHECK(emitter.counters().failed == 0);

  healed = true;
  REQUIRE(gate->check());
  REQUIRE(emitter.flush().ok());
  CHECK(f.found("Patient/read-while-full") == 1);
  CHECK(emitter.counters().emitted == 1);
}

TEST_CASE("the queue is bounded by bytes too: emit waits once large records fill it") {
  Fixture f;
  bool healed = false;
  auto gate = f.gate_until(healed);
  AuditEmitterConfig config = f.config();
  config.write_gate = gate;  // held: nothing leaves the queue until the gate opens
  config.gate_interval = std::chrono::milliseconds(10);
  // A search's record names every resource it returned: 50 here, about 10 KB a record.
  AuditEventSpec large = f.spec("Patient/first");
  for (int i = 0; i < 50; ++i)
    large.entities.push_back(patient_entity("Patient/p" + std::to_string(i)));
  REQUIRE(self_audit_record(config.source, large, 0).resource_json.size() > 5'000);
  // Room for one such record: a queue with anything in it is full, an empty one takes any.
  config.max_queued_bytes = 5'000;
  AuditEmitter emitter(*f.audits, f.clinical.get(), config);
  (void)gate->note_failure(storage::DiskProblem::kFull, "database or disk is full");

  auto emitting = std::async(std::launch::async, [&] {
    for (int i = 0; i < 6; ++i) emitter.emit(large);
  });
  // The second emit waits for room; the count bound (8,192) alone would let all six in.
  CHECK(emitting.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  CHECK(emitter.counters().queued == 1);

  healed = true;
  REQUIRE(gate->check());
  REQUIRE(emitting.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  REQUIRE(emitter.flush().ok());
  CHECK(f.found("Patient/first") == 6);
  CHECK(emitter.counters().emitted == 6);
}
