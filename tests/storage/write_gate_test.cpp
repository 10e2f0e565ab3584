#include "storage/write_gate.hpp"

#include <doctest/doctest.h>

#include <mutex>

#include "storage/audit_store.hpp"
#include "tests/storage/faulty_vfs.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;
using cg::Status;

namespace {

constexpr std::uint64_t kMiB = 1ull << 20;

// The log lines a gate wrote, with their priorities.
struct LogLines {
  std::mutex mutex;
  std::vector<std::pair<int, std::string>> lines;

  std::function<void(int, std::string_view)> sink() {
    return [this](int priority, std::string_view message) {
      std::lock_guard lock(mutex);
      lines.emplace_back(priority, std::string(message));
    };
  }
  int count(int priority) {
    std::lock_guard lock(mutex);
    int n = 0;
    for (const auto& line : lines) n += line.first == priority ? 1 : 0;
    return n;
  }
};

WriteJob put_job(std::string id) {
  return [id = std::move(id)](WriteContext& ctx) -> Status {
    auto v = ctx.put("Patient", id, patient(), {});
    return v ? cg::ok_status() : Status(v.error());
  };
}

bool exists(ResourceStore& store, const std::string& id) {
  auto head = store.head("Patient", id);
  REQUIRE_MESSAGE(head.ok(), (head.ok() ? "" : head.error().message));
  return head->has_value();
}

// A gate over `dir` whose probe passes only while the VFS is healthy (the real probe would
// write beside SQLite, not through it), and whose free space is plenty.
std::shared_ptr<WriteGate> gate_over(const TempDir& dir, FaultyVfs& vfs, LogLines& log) {
  WriteGateConfig config;
  config.directory = dir.path();
  config.log = log.sink();
  // Plenty of space; mounted read-only while the fault says so, as statvfs would report.
  config.space = [&vfs](const std::filesystem::path&) {
    DiskSpace space;
    space.available = kMiB * 1024;
    space.read_only = vfs.fault() == DiskFault::kReadOnly;
    return std::optional(space);
  };
  config.probe = [&vfs](const std::filesystem::path&) -> Status {
    if (vfs.fault() == DiskFault::kNone) return cg::ok_status();
    return cg::Error::unavailable("probe failed");
  };
  return std::make_shared<WriteGate>(std::move(config));
}

std::unique_ptr<ResourceStore> store_with(const TempDir& dir, std::shared_ptr<WriteGate> gate) {
  StoreConfig config;
  config.write_gate = std::move(gate);
  return open_store(dir.path(), std::move(config));
}

// The scenario of every disk fault: the write is refused with 503's kind and a reason
// naming the condition, nothing of it is stored, reads go on, later writes are refused
// without touching SQLite's files, and after the disk heals one check() lets writes through.
void fault_then_heal(DiskFault fault, std::string_view condition) {
  TempDir dir;
  FaultyVfs vfs;
  LogLines log;
  auto gate = gate_over(dir, vfs, log);
  auto store = store_with(dir, gate);
  put(*store, "Patient", "kept", patient());

  vfs.fail(fault);
  Status refused = store->write(put_job("lost"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kUnavailable);
  CAPTURE(refused.error().message);
  CHECK(refused.error().message.find(condition) != std::string::npos);
  CHECK(refused.error().message.find("nothing was stored") != std::string::npos);
  REQUIRE(gate->write_refusal_reason().has_value());
  CHECK(gate->write_refusal_reason()->find(condition) != std::string::npos);

  CHECK(exists(*store, "kept"));  // reads go on
  CHECK_FALSE(exists(*store, "lost"));

  const std::uint64_t writes_before = vfs.writes();
  Status again = store->write(put_job("lost"));
  CHECK(again.error().kind == ErrorKind::kUnavailable);
  CHECK(vfs.writes() == writes_before);  // refused at the gate

  CHECK_FALSE(gate->check());  // the disk still fails: the gate stays closed
  CHECK(store->write(put_job("lost")).error().kind == ErrorKind::kUnavailable);

  vfs.heal();
  CHECK(gate->check());
  CHECK_FALSE(gate->write_refusal_reason().has_value());
  Status resumed = store->write(put_job("after"));
  REQUIRE_MESSAGE(resumed.ok(), (resumed.ok() ? "" : resumed.error().message));
  CHECK(exists(*store, "after"));
  CHECK_FALSE(exists(*store, "lost"));
  CHECK(store->integrity_check().ok());
  CHECK(log.count(3) == 1);  // entering: one error line, however many writes were refused
  CHECK(log.count(5) == 1);  // leaving: one notice
  store->close();
}

}  // namespace

TEST_CASE("a full disk refuses writes at once, keeps reads, and a write succeeds once it heals") {
  fault_then_heal(DiskFault::kFull, "disk is full");
}

TEST_CASE("a read-only disk (EROFS) refuses writes the same way and recovers the same way") {
  fault_then_heal(DiskFault::kReadOnly, "read-only");
}

TEST_CASE("a failing device (EIO, space left, not read-only) closes the gate until a probe works") {
  fault_then_heal(DiskFault::kIoError, "I/O error");
}

TEST_CASE("a disk fault during a batch rolls back every job of it") {
  TempDir dir;
  FaultyVfs vfs;
  LogLines log;
  auto gate = gate_over(dir, vfs, log);
  auto store = store_with(dir, gate);
  WriterGate hold;
  DoneLog done;
  store->submit(hold.job(), done.callback());
  REQUIRE(hold.wait_entered());
  for (int i = 0; i < 5; ++i) store->submit(put_job("b" + std::to_string(i)), done.callback());
  vfs.fail(DiskFault::kFull);
  hold.open();
  REQUIRE(done.wait_for(6));
  const auto statuses = done.statuses();
  CHECK(statuses[0].ok());  // the holding job: a batch of its own, before the fault
  for (std::size_t i = 1; i < statuses.size(); ++i) CHECK_FALSE(statuses[i].ok());
  vfs.heal();
  REQUIRE(gate->check());
  for (int i = 0; i < 5; ++i) CHECK_FALSE(exists(*store, "b" + std::to_string(i)));
  CHECK(store->write(put_job("b0")).ok());
  store->close();
}

TEST_CASE("below the free-space floor clinical writes are refused, audit writes go on") {
  TempDir dir;
  LogLines log;
  std::uint64_t free = 100 * kMiB;
  WriteGateConfig config;
  config.directory = dir.path();
  config.min_free_bytes = 64 * kMiB;
  config.log = log.sink();
  config.space = [&free](const std::filesystem::path&) {
    DiskSpace space;
    space.available = free;
    return std::optional(space);
  };
  auto gate = std::make_shared<WriteGate>(std::move(config));
  CHECK(gate->check());
  auto store = store_with(dir, gate);
  AuditStoreConfig audit_config;
  audit_config.directory = dir.path();
  auto audits = AuditStore::open(audit_config, gate);
  REQUIRE(audits.ok());

  free = 10 * kMiB;
  CHECK_FALSE(gate->check());
  REQUIRE(gate->write_refusal_reason().has_value());
  CHECK(gate->write_refusal_reason()->find("64 MB") != std::string::npos);
  Status refused = store->write(put_job("p"));
  CHECK(refused.error().kind == ErrorKind::kUnavailable);
  CHECK(refused.error().message.find("min_free_mb") != std::string::npos);
  CHECK(gate->admit(WriteClass::kAudit).ok());
  AuditRecord record;
  record.received_ms = 1;
  record.transport = "self";
  record.format = "fhir";
  record.resource_json = R"({"resourceType":"AuditEvent"})";
  std::vector<AuditRecord> one{record};
  CHECK((*audits)->append_and_wait(std::move(one)).ok());
  CHECK(gate->check() == false);  // still low: logged once only
  CHECK(log.count(3) == 1);

  free = 200 * kMiB;
  CHECK(gate->check());
  CHECK(store->write(put_job("p")).ok());
  CHECK(log.count(5) == 1);
  (*audits)->close();
  store->close();
}

TEST_CASE("a disk problem refuses audit writes too, whatever the floor") {
  TempDir dir;
  WriteGateConfig config;
  config.directory = dir.path();
  config.min_free_bytes = 0;
  config.probe = [](const std::filesystem::path&) -> Status {
    return cg::Error::unavailable("still full");
  };
  WriteGate gate(std::move(config));
  CHECK(gate.admit(WriteClass::kAudit).ok());
  cg::Error e = gate.note_failure(DiskProblem::kFull, "database or disk is full");
  CHECK(e.kind == ErrorKind::kUnavailable);
  CHECK(gate.admit(WriteClass::kAudit).error().message.find("disk is full") != std::string::npos);
  CHECK(gate.admit(WriteClass::kClinical).error().kind == ErrorKind::kUnavailable);
  CHECK_FALSE(gate.check());
  // A second failure while closed keeps the first condition.
  (void)gate.note_failure(DiskProblem::kReadOnly, "readonly");
  CHECK(gate.write_refusal_reason()->find("full") != std::string::npos);
}

TEST_CASE("the real probe writes, syncs and removes its file; an unusable directory fails it") {
  TempDir dir;
  CHECK(probe_directory(dir.path()).ok());
  CHECK(std::filesystem::is_empty(dir.path()));
  Status missing = probe_directory(dir.path() / "gone");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kUnavailable);
  CHECK(missing.error().message.find("cannot create") != std::string::npos);
  auto space = disk_space(dir.path());
  REQUIRE(space.has_value());
  CHECK(space->available > 0);
  CHECK_FALSE(space->read_only);
  CHECK_FALSE(disk_space(dir.path() / "gone").has_value());
}

TEST_CASE("a read-only mount closes the gate at the next check, before any write fails") {
  TempDir dir;
  bool read_only = true;
  WriteGateConfig config;
  config.directory = dir.path();
  config.space = [&read_only](const std::filesystem::path&) {
    DiskSpace space;
    space.available = 1ull << 30;
    space.read_only = read_only;
    return std::optional(space);
  };
  WriteGate gate(std::move(config));
  CHECK_FALSE(gate.check());
  REQUIRE(gate.write_refusal_reason().has_value());
  CHECK(gate.write_refusal_reason()->find("read-only") != std::string::npos);
  CHECK_FALSE(gate.check());  // the real probe would pass here; the mount flag still wins
  read_only = false;
  CHECK(gate.check());
}

TEST_CASE("an I/O error on a file system with no space left counts as full") {
  TempDir dir;
  WriteGateConfig config;
  config.directory = dir.path();
  config.space = [](const std::filesystem::path&) { return std::optional(DiskSpace{}); };
  WriteGate gate(std::move(config));
  cg::Error e = gate.note_failure(DiskProblem::kIoError, "disk I/O error");
  CHECK(e.message.find("disk is full") != std::string::npos);
}
