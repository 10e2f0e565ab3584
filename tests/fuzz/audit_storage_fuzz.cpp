// libFuzzer target: what audit.db reads back as bytes — a block of the search index
// (storage/audit_postings) and a compressed payload (storage/audit_codec). Damaged bytes must
// give an error, never a crash or a huge allocation; a block that decodes must encode back to
// the same bytes, and its ids must grow; any bytes must survive compression.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "storage/audit_codec.hpp"
#include "storage/audit_postings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cg::storage;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto ids = decode_block(1, bytes)) {
    for (std::size_t i = 1; i < ids->size(); ++i) {
      if ((*ids)[i] <= (*ids)[i - 1]) __builtin_trap();
    }
    if (encode_block(*ids) != bytes) __builtin_trap();
  }
  (void)expand_audit_bytes(bytes, AuditCodec::kV1);
  auto back = expand_audit_bytes(compress_audit_bytes(bytes), AuditCodec::kV1);
  if (!back || *back != bytes) __builtin_trap();
  return 0;
}
