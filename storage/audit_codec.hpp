#pragma once
// How audit.db keeps an audit record's bytes (the raw message and its AuditEvent JSON):
// zstd frames compressed against a fixed dictionary of the boilerplate audit messages share
// (FHIR AuditEvent code systems and displays, DICOM PS3.15 element and attribute names).
// An audit message is mostly that boilerplate, so a record shrinks 4-10 times, and every
// byte not written is a byte the single audit.db writer and the SD card of a Raspberry Pi do
// not have to carry: the repository's throughput is bound by what it writes.
//
// The dictionary is part of the file format: a record written with kAuditCodecV1 must be
// readable for as long as the retention period. Never change kAuditCodecV1's dictionary;
// a better one becomes a new codec number, and readers keep the old.
//
// Thread-safety: every function may be called from any thread (contexts are per thread).

#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::storage {

enum class AuditCodec : std::int64_t {
  kPlain = 0,  // bytes as they are (records from before the codec, schema 2)
  kV1 = 1,     // zstd frame with a checksum, dictionary v1
};

// A zstd frame of `bytes` (the empty string for empty bytes).
std::string compress_audit_bytes(std::string_view bytes);
// The bytes of a frame written by compress_audit_bytes with `codec`; kInternal when the frame
// is damaged (its checksum does not match) or the codec is unknown.
Result<std::string> expand_audit_bytes(std::string_view stored, AuditCodec codec);

}  // namespace cg::storage
