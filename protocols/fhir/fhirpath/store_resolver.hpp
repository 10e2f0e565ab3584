#pragma once
// StoreResolver: answers FHIRPath's resolve() from the clinical store, so expressions such
// as `subject.resolve().gender` work on stored data (rules, subscription filters, CDS). A
// relative reference ("Patient/1", "Patient/1/_history/2") or an absolute one whose tail is
// Type/id is read from the store; anything else (other servers, urn:uuid) resolves to
// nothing. Resolved resources are kept alive by the resolver for as long as it exists,
// because evaluation results point into them; it is meant for one evaluation (or a few) and
// caps what it holds. Not thread-safe: one resolver per evaluating thread.

#include <boost/json/value.hpp>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "storage/resource_store.hpp"

namespace cg::fhirpath {

class StoreResolver {
 public:
  explicit StoreResolver(storage::ResourceStore& store, std::size_t max_resources = 256)
      : store_(store), max_resources_(max_resources) {}

  // The resource a reference names, or nullptr (unknown, deleted, not local, over the cap).
  const boost::json::value* resolve(std::string_view reference);

  // For EvalContext::resolve; the resolver must outlive the evaluation and its results.
  std::function<const boost::json::value*(std::string_view)> callback() {
    return [this](std::string_view ref) { return resolve(ref); };
  }

 private:
  storage::ResourceStore& store_;
  std::size_t max_resources_;
  std::deque<boost::json::value> held_;  // stable addresses
  std::map<std::string, const boost::json::value*, std::less<>> by_reference_;
};

}  // namespace cg::fhirpath
