#pragma once
// WriteAuditor: how the FHIR API lets its caller record each write in the write's own
// transaction. FhirApi calls it inside the store job of every create, update and delete
// (plain, conditional, each batch entry, a whole transaction) after the write succeeded and
// before the job ends; an error from it fails the job, so the write is rolled back and the
// client gets an error instead of a 2xx. The gateway stages an audit record this way
// (gateway/audit_emitter.hpp), so no acknowledged write lacks its audit record.

#include <span>
#include <string_view>

#include "protocols/fhir/model/result.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

struct WrittenResource {
  std::string_view method;  // POST, PUT or DELETE (a transaction entry's own method)
  std::string_view type;
  std::string_view id;  // "" when a conditional delete matched nothing
  // The version written, or the existing one a conditional create matched; null when
  // nothing was there to delete.
  const storage::StoredVersion* stored = nullptr;
  int status = 200;  // the entry's HTTP status
};

class WriteAuditor {
 public:
  virtual ~WriteAuditor() = default;
  // Runs on the store's writer thread, inside the job; `ctx` is that job's context.
  virtual Status record(storage::WriteContext& ctx,
                        std::span<const WrittenResource> written) const = 0;
};

}  // namespace cg::fhir
