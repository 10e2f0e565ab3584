#pragma once
// Test helpers of the ATNA tests: the IPF DICOM audit samples in ../shared/data/atna/ipf,
// read at test time (they are not copied into the repository; an empty list means the corpus
// is absent, and tests then say "skipped" and pass), and error text for failed results.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace cg::atna::testing {

inline const std::filesystem::path kIpfAudits =
    std::filesystem::path(CG_SHARED_DATA) / "atna" / "ipf";

inline std::vector<std::filesystem::path> ipf_audit_files() {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kIpfAudits, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".xml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The text of one sample, or empty when the corpus is absent.
inline std::string ipf_audit(const std::string& name) {
  return read_bytes(kIpfAudits / name);
}

// "message at location" of a failed result, "" for a good one: safe in doctest's *_MESSAGE,
// whose message is evaluated even when the check passes (with -s).
template <class R>
std::string failure_of(const R& result) {
  if (result.ok()) return {};
  return result.error().message + " at " + result.error().location;
}

}  // namespace cg::atna::testing
