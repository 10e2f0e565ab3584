#pragma once
// The IPF DICOM audit samples in ../shared/data/atna/ipf, read at test time (they are not
// copied into the repository). An empty list means the corpus is absent: tests then say
// "skipped" and pass.

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

}  // namespace cg::atna::testing
