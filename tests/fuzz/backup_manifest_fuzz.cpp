// libFuzzer target: the manifest.json `restore` reads from a backup archive before it trusts
// anything else in it (gateway/backup_archive.hpp). A backup may come from anywhere (a USB
// stick, another clinic), so the parser must refuse cleanly, never crash. Checks that a
// manifest that parses, written back with manifest_json(), parses to the same manifest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/backup_archive.hpp"

namespace {

bool same(const cg::gateway::Manifest& a, const cg::gateway::Manifest& b) {
  return a.format_version == b.format_version && a.gateway_version == b.gateway_version &&
         a.created == b.created && a.node_name == b.node_name && a.data_dir == b.data_dir &&
         a.files == b.files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto manifest = cg::gateway::parse_manifest(text);
  if (!manifest) return 0;
  auto again = cg::gateway::parse_manifest(cg::gateway::manifest_json(*manifest));
  if (!again || !same(*manifest, *again)) std::abort();
  return 0;
}
