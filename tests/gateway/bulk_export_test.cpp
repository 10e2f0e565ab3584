#include "gateway/bulk_export.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "../fhir/rest/temp_store.hpp"
#include "protocols/fhir/model/json.hpp"

using namespace cg;
namespace fs = std::filesystem;

namespace {

// An export directory under the temp dir, removed afterwards.
class ExportDir {
 public:
  ExportDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("cg-export-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
  }
  ~ExportDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

boost::json::object manifest_of(const fs::path& dir) {
  std::ifstream in(dir / gateway::kExportManifest);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = fhir::parse_json(text.str());
  REQUIRE(parsed.ok());
  return parsed->as_object();
}

void deleted(storage::ResourceStore& store, const std::string& type, const std::string& id) {
  REQUIRE(store
              .write([&](storage::WriteContext& ctx) -> Status {
                auto v = ctx.remove(type, id);
                return v ? ok_status() : Status(v.error());
              })
              .ok());
}

void three_resources(storage::ResourceStore& store) {
  testing::put_json(store, "Patient", "p1", R"({"resourceType":"Patient","gender":"female"})");
  testing::put_json(store, "Patient", "p2", R"({"resourceType":"Patient","gender":"male"})");
  testing::put_json(store, "Patient", "gone", R"({"resourceType":"Patient"})");
  deleted(store, "Patient", "gone");
  testing::put_json(
      store, "Observation", "o1",
      R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50}})");
}

gateway::BulkExportOptions options_for(const fs::path& dir) {
  gateway::BulkExportOptions options;
  options.directory = dir;
  options.node_name = "clinic-test";
  options.clock_ms = [] { return std::int64_t{1'790'000'000'000}; };
  return options;
}

}  // namespace

TEST_CASE("export writes one NDJSON file per type with current resources and a manifest") {
  testing::TempStore store;
  three_resources(*store);
  ExportDir dir;
  std::vector<std::string> progress;
  auto outcome = gateway::export_ndjson(
      *store, options_for(dir.path()), [&](std::string_view type, std::int64_t n) {
        progress.push_back(std::string(type) + " " + std::to_string(n));
      });
  REQUIRE_MESSAGE(outcome.ok(), (outcome.ok() ? "" : outcome.error().message));
  CHECK(outcome->resources == 3);
  CHECK(progress == std::vector<std::string>{"Observation 1", "Patient 2"});

  auto patients = lines_of(dir.path() / "Patient.ndjson");
  REQUIRE(patients.size() == 2);
  CHECK(patients[0] == store->head("Patient", "p1")->value().json);
  CHECK(patients[1].find("\"id\":\"p2\"") != std::string::npos);
  auto observations = lines_of(dir.path() / "Observation.ndjson");
  REQUIRE(observations.size() == 1);
  CHECK(observations[0].find("1.50") != std::string::npos);  // decimals keep their precision

  auto manifest = manifest_of(dir.path());
  CHECK(manifest.at("complete").as_bool());
  CHECK(manifest.at("transactionTime").as_string() == storage::format_instant(1'790'000'000'000));
  CHECK(manifest.at("gateway").at("node").as_string() == "clinic-test");
  CHECK(manifest.at("snapshotSeq").as_int64() == *store->latest_seq());
  const auto& output = manifest.at("output").as_array();
  REQUIRE(output.size() == 2);
  CHECK(output[1].at("type").as_string() == "Patient");
  CHECK(output[1].at("url").as_string() == "Patient.ndjson");
  CHECK(output[1].at("count").as_int64() == 2);

  for (const char* name : {"Patient.ndjson", "Observation.ndjson", "export.json"}) {
    struct stat st {};
    REQUIRE(::stat((dir.path() / name).c_str(), &st) == 0);
    CHECK_MESSAGE((st.st_mode & 0777) == 0600, name);
  }
  CHECK_FALSE(fs::exists(dir.path() / "Patient.ndjson.part"));
  struct stat st {};
  REQUIRE(::stat(dir.path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("export --types and --since select what is exported") {
  testing::TempStore store;
  three_resources(*store);
  ExportDir dir;
  auto options = options_for(dir.path());
  options.types = {"Patient"};
  auto outcome = gateway::export_ndjson(*store, options);
  REQUIRE(outcome.ok());
  CHECK(outcome->resources == 2);
  CHECK_FALSE(fs::exists(dir.path() / "Observation.ndjson"));

  ExportDir later;
  auto since = options_for(later.path());
  since.since_ms = store->head("Observation", "o1")->value().last_updated_ms;
  REQUIRE(gateway::export_ndjson(*store, since).ok());
  CHECK(lines_of(later.path() / "Observation.ndjson").size() == 1);
  CHECK_FALSE(fs::exists(later.path() / "Patient.ndjson"));
}

TEST_CASE("a rerun resumes: types the manifest names are kept, the others are written") {
  testing::TempStore store;
  three_resources(*store);
  ExportDir dir;
  REQUIRE(gateway::export_ndjson(*store, options_for(dir.path())).ok());
  // As if the run had stopped after Observation: Patient not yet named, its file a .part.
  auto manifest = manifest_of(dir.path());
  manifest["complete"] = false;
  manifest["output"].as_array().pop_back();
  REQUIRE(gateway::write_private_file(dir.path() / gateway::kExportManifest,
                                      fhir::serialize_json(manifest))
              .ok());
  fs::rename(dir.path() / "Patient.ndjson", dir.path() / "Patient.ndjson.part");
  std::ofstream(dir.path() / "Device.ndjson.part") << "{}\n";  // a type since emptied
  testing::put_json(*store, "Observation", "o2", R"({"resourceType":"Observation"})");

  auto outcome = gateway::export_ndjson(*store, options_for(dir.path()));
  REQUIRE(outcome.ok());
  CHECK(outcome->resumed_types == 1);
  CHECK(outcome->resources == 2);
  CHECK(lines_of(dir.path() / "Observation.ndjson").size() == 1);  // the earlier run's
  CHECK(lines_of(dir.path() / "Patient.ndjson").size() == 2);
  CHECK(manifest_of(dir.path()).at("output").as_array().size() == 2);
  CHECK_FALSE(fs::exists(dir.path() / "Device.ndjson.part"));

  auto again = gateway::export_ndjson(*store, options_for(dir.path()));
  REQUIRE(again.ok());
  CHECK(again->resources == 0);  // complete: nothing to do
}

TEST_CASE("export refuses a directory with other files or an export with other options") {
  testing::TempStore store;
  three_resources(*store);
  ExportDir dir;
  fs::create_directories(dir.path());
  std::ofstream(dir.path() / "notes.txt") << "x";
  auto refused = gateway::export_ndjson(*store, options_for(dir.path()));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::kInvalid);

  ExportDir other;
  REQUIRE(gateway::export_ndjson(*store, options_for(other.path())).ok());
  auto narrower = options_for(other.path());
  narrower.types = {"Patient"};
  auto mismatch = gateway::export_ndjson(*store, narrower);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().message.find("other --types") != std::string::npos);

  auto unknown = options_for(other.path());
  unknown.types = {"Patients"};
  CHECK_FALSE(gateway::export_ndjson(*store, unknown).ok());
}

TEST_CASE("the export command's words") {
  std::vector<std::string_view> words{"--ndjson", "/tmp/x",    "--config",
                                      "g.toml",   "--types",   "Patient,Observation,Patient",
                                      "--since",  "2026-01-01"};
  auto command = gateway::parse_bulk_export_command(words);
  REQUIRE(command.ok());
  CHECK(command->options.directory == fs::path("/tmp/x"));
  CHECK(command->options.types == std::vector<std::string>{"Patient", "Observation"});
  CHECK(command->options.since_ms.has_value());

  std::vector<std::string_view> no_dir{"--config", "g.toml"};
  CHECK_FALSE(gateway::parse_bulk_export_command(no_dir).ok());
  std::vector<std::string_view> bad_type{"--ndjson", "d", "--config", "g", "--types", "Foo"};
  CHECK_FALSE(gateway::parse_bulk_export_command(bad_type).ok());
}
