#include "gateway/bulk_import.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "../fhir/rest/temp_store.hpp"
#include "gateway/bulk_export.hpp"
#include "protocols/fhir/model/json.hpp"

using namespace cg;
namespace fs = std::filesystem;

namespace {

class TempFolder {
 public:
  TempFolder() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("cg-import-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path write_lines(const fs::path& dir, const std::string& name,
                     const std::vector<std::string>& lines) {
  std::ofstream out(dir / name, std::ios::binary);
  for (const auto& line : lines) out << line << "\n";
  return dir / name;
}

std::string patient(const std::string& id, const std::string& mrn) {
  return R"({"resourceType":"Patient","id":")" + id +
         R"(","identifier":[{"system":"urn:mrn","value":")" + mrn + R"("}]})";
}

std::string observation(const std::string& id, const std::string& patient_id) {
  return R"({"resourceType":"Observation","id":")" + id +
         R"(","status":"final","code":{"text":"hb"},"subject":{"reference":"Patient/)" +
         patient_id + R"("},"valueQuantity":{"value":12.50,"unit":"g/dL"}})";
}

struct Run {
  Result<gateway::ImportCounts> counts = Error::internal("not run");
  std::vector<gateway::ImportProblem> problems;
  std::vector<std::int64_t> audited;  // resources written per audited batch
};

Run import(storage::ResourceStore& store, std::vector<fs::path> files, std::size_t batch = 500) {
  Run run;
  gateway::BulkImportOptions options;
  options.files = std::move(files);
  options.batch = batch;
  gateway::ImportEvents events;
  events.problem = [&](const gateway::ImportProblem& p) { run.problems.push_back(p); };
  run.counts = gateway::import_ndjson(
      store, options,
      [&](storage::WriteContext&, const gateway::ImportedBatch& b) -> Status {
        run.audited.push_back(static_cast<std::int64_t>(b.written.size()));
        return ok_status();
      },
      events);
  return run;
}

std::size_t matches(storage::ResourceStore& store, const std::string& type,
                    const std::string& code) {
  storage::SearchQuery q;
  q.type = type;
  q.tokens = {{"identifier", std::nullopt, code}};
  return store.search(q)->items.size();
}

// The resource as stored, without the version meta the store sets.
boost::json::object content(storage::ResourceStore& store, const std::string& type,
                            const std::string& id) {
  auto head = store.head(type, id);
  REQUIRE(head.ok());
  REQUIRE(head->has_value());
  auto value = fhir::parse_json((*head)->json);
  auto& o = value->as_object();
  o.erase("meta");
  return o;
}

}  // namespace

TEST_CASE("import keeps ids, indexes for search, and counts created resources") {
  testing::TempStore store;
  TempFolder dir;
  auto file = write_lines(dir.path(), "Patient.ndjson",
                          {patient("p1", "A"), patient("p2", "B"), "", observation("o1", "p1")});
  auto run = import(*store, {file}, /*batch=*/2);
  REQUIRE_MESSAGE(run.counts.ok(), (run.counts.ok() ? "" : run.counts.error().message));
  CHECK(run.counts->created == 3);
  CHECK(run.problems.empty());
  CHECK(run.audited == std::vector<std::int64_t>{2, 1});
  CHECK(matches(*store, "Patient", "A") == 1);
  auto obs = store->head("Observation", "o1");
  REQUIRE(obs->has_value());
  CHECK((*obs)->json.find("\"reference\":\"Patient/p1\"") != std::string::npos);
  CHECK((*obs)->json.find("12.50") != std::string::npos);
}

TEST_CASE("a bad line is reported with file and line; nothing of it is stored") {
  testing::TempStore store;
  TempFolder dir;
  auto file = write_lines(dir.path(), "mixed.ndjson",
                          {patient("p1", "A"), R"({"resourceType":"Patient","id":"p2",)",
                           R"({"resourceType":"Patient","gender":"female"})",
                           R"({"resourceType":"Patient","id":"p4","gender":17})",
                           R"({"resourceType":"Nonsense","id":"x"})", patient("p6", "F")});
  auto run = import(*store, {file});
  REQUIRE(run.counts.ok());
  CHECK(run.counts->created == 2);
  CHECK(run.counts->rejected == 4);
  REQUIRE(run.problems.size() == 4);
  CHECK(run.problems[0].file == file.string());
  CHECK(run.problems[0].line == 2);
  CHECK(run.problems[1].line == 3);
  CHECK(run.problems[1].message.find("id") != std::string::npos);
  CHECK(run.problems[2].line == 4);
  CHECK(run.problems[2].message.find("gender") != std::string::npos);
  CHECK(run.problems[3].line == 5);
  CHECK_FALSE(store->head("Patient", "p4")->has_value());
  CHECK(store->head("Patient", "p6")->has_value());
}

TEST_CASE("identical content makes no new version; changed content makes one") {
  testing::TempStore store;
  TempFolder dir;
  auto first = write_lines(dir.path(), "a.ndjson", {patient("p1", "A"), patient("p2", "B")});
  REQUIRE(import(*store, {first}).counts.ok());
  const auto seq = *store->latest_seq();

  // The same resources with another meta.versionId/lastUpdated (as an export writes them).
  TempFolder again;
  auto same = write_lines(
      again.path(), "b.ndjson",
      {R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"9","lastUpdated":"2020-01-01T00:00:00Z"},"identifier":[{"system":"urn:mrn","value":"A"}]})",
       patient("p2", "B2")});
  auto run = import(*store, {same});
  REQUIRE(run.counts.ok());
  CHECK(run.counts->unchanged == 1);
  CHECK(run.counts->updated == 1);
  CHECK(*store->latest_seq() == seq + 1);
  CHECK(store->head("Patient", "p1")->value().version == 1);
  CHECK(store->head("Patient", "p2")->value().version == 2);
  CHECK(matches(*store, "Patient", "B2") == 1);
  CHECK(matches(*store, "Patient", "B") == 0);
}

TEST_CASE("a rerun continues after the last committed line, with no duplicate versions") {
  TempFolder dir;
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) lines.push_back(patient("p" + std::to_string(i), std::to_string(i)));
  auto file = write_lines(dir.path(), "Patient.ndjson", lines);
  std::int64_t offset_after_4 = 0;
  for (int i = 0; i < 4; ++i) offset_after_4 += static_cast<std::int64_t>(lines[i].size() + 1);

  // As if an earlier run had committed lines 1–4 and was killed: progress says line 4, and
  // the store of that run has p0–p3.
  testing::TempStore store;
  auto head = write_lines(dir.path(), "head.tmp", {lines.begin(), lines.begin() + 4});
  REQUIRE(import(*store, {head}).counts.ok());
  fs::remove(head);
  const std::int64_t size = static_cast<std::int64_t>(fs::file_size(file));
  REQUIRE(gateway::write_private_file(
              dir.path() / gateway::kImportProgress,
              R"({"head.tmp":{"offset":1,"line":1,"size":1},"Patient.ndjson":{"offset":)" +
                  std::to_string(offset_after_4) + R"(,"line":4,"size":)" + std::to_string(size) +
                  "}}")
              .ok());
  const auto seq = *store->latest_seq();
  auto run = import(*store, {file}, /*batch=*/3);
  REQUIRE(run.counts.ok());
  CHECK(run.counts->resumed_lines == 4);
  CHECK(run.counts->created == 6);
  CHECK(run.counts->unchanged == 0);
  CHECK(*store->latest_seq() == seq + 6);

  // Done: a third run reads nothing; with --restart it rereads all and writes nothing.
  auto done = import(*store, {file});
  REQUIRE(done.counts.ok());
  CHECK(done.counts->resumed_lines == 10);
  CHECK(done.counts->lines() == 0);
  gateway::BulkImportOptions restart;
  restart.files = {file};
  restart.resume = false;
  auto replay = gateway::import_ndjson(*store, restart, {});
  REQUIRE(replay.ok());
  CHECK(replay->unchanged == 10);
  CHECK(*store->latest_seq() == seq + 6);
  for (int i = 0; i < 10; ++i)
    CHECK(store->head("Patient", "p" + std::to_string(i))->value().version == 1);
}

TEST_CASE("export then import into a fresh store gives the same resources") {
  testing::TempStore source;
  TempFolder in;
  auto file = write_lines(
      in.path(), "seed.ndjson",
      {patient("p1", "A"), patient("p2", "B"), observation("o1", "p1"), observation("o2", "p2")});
  REQUIRE(import(*source, {file}).counts.ok());
  TempFolder out;
  gateway::BulkExportOptions options;
  options.directory = out.path() / "export";
  REQUIRE(gateway::export_ndjson(*source, options).ok());

  auto files = gateway::ndjson_files(std::vector<fs::path>{options.directory});
  REQUIRE(files.ok());
  CHECK(files->size() == 2);  // Observation.ndjson, Patient.ndjson; export.json is not one
  testing::TempStore target;
  auto run = import(*target, *files);
  REQUIRE(run.counts.ok());
  CHECK(run.counts->created == 4);
  for (const auto& [type, id] : std::vector<std::pair<std::string, std::string>>{
           {"Patient", "p1"}, {"Patient", "p2"}, {"Observation", "o1"}, {"Observation", "o2"}}) {
    CHECK_MESSAGE(content(*source, type, id) == content(*target, type, id), (type + "/" + id));
  }
  storage::SearchQuery by_subject;
  by_subject.type = "Observation";
  CHECK(target->search(by_subject)->items.size() == 2);
}

TEST_CASE("an import batch's audit record names the import, the file, versions and patients") {
  storage::StoredVersion p;
  p.type = "Patient";
  p.id = "p1";
  p.version = 1;
  p.json = R"({"resourceType":"Patient","id":"p1"})";
  storage::StoredVersion o;
  o.type = "Observation";
  o.id = "o1";
  o.version = 2;
  o.json = R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p7"}})";
  std::vector<storage::StoredVersion> written{p, o};
  gateway::ImportedBatch batch{"/data/Patient.ndjson", 1, 500, written};
  auto spec = gateway::import_event({"clinic-1", ""}, "alice", batch);
  CHECK(spec.type.code == "110107");
  CHECK(spec.action == 'C');
  REQUIRE(spec.agents.size() == 3);
  CHECK(spec.agents[0].who_identifier == "alice");
  CHECK(spec.agents[2].who_identifier == "/data/Patient.ndjson");
  CHECK(spec.agents[2].who_display.find("lines 1-500") != std::string::npos);
  std::vector<std::string> refs;
  for (const auto& e : spec.entities) refs.push_back(e.reference);
  CHECK(refs == std::vector<std::string>{"Patient/p1", "Patient/p7", "Patient/p1/_history/1",
                                         "Observation/o1/_history/2"});
}

TEST_CASE("the import command's words and the files a directory holds") {
  std::vector<std::string_view> words{"/d", "--config", "g.toml", "--batch", "200", "--restart"};
  auto command = gateway::parse_bulk_import_command(words);
  REQUIRE(command.ok());
  CHECK(command->paths == std::vector<fs::path>{"/d"});
  CHECK(command->options.batch == 200);
  CHECK_FALSE(command->options.resume);
  std::vector<std::string_view> no_path{"--config", "g.toml"};
  CHECK_FALSE(gateway::parse_bulk_import_command(no_path).ok());
  std::vector<std::string_view> bad_batch{"/d", "--config", "g.toml", "--batch", "0"};
  CHECK_FALSE(gateway::parse_bulk_import_command(bad_batch).ok());

  TempFolder dir;
  write_lines(dir.path(), "b.ndjson", {});
  write_lines(dir.path(), "a.ndjson", {});
  write_lines(dir.path(), "export.json", {});
  auto files = gateway::ndjson_files(std::vector<fs::path>{dir.path()});
  REQUIRE(files.ok());
  CHECK(*files == std::vector<fs::path>{dir.path() / "a.ndjson", dir.path() / "b.ndjson"});
  TempFolder empty;
  CHECK_FALSE(gateway::ndjson_files(std::vector<fs::path>{empty.path()}).ok());
}
