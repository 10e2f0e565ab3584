#pragma once
// BundleWriter builds the JSON text of a response Bundle (searchset, history,
// batch-response, transaction-response) by splicing already-serialized resources, so
// stored resources are never parsed just to be sent back. Single-threaded use.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace cg::fhir {

class BundleWriter {
 public:
  // `type`: Bundle.type. `id`: a fresh id for the Bundle.
  BundleWriter(std::string_view type, std::string_view id, std::string_view last_updated);

  void total(std::int64_t total);
  void link(std::string_view relation, std::string_view url);

  struct Entry {
    std::string full_url;
    std::optional<std::string> resource_json;  // serialized resource, spliced as is
    boost::json::object search;                // omitted when empty
    boost::json::object request;
    boost::json::object response;
  };
  void entry(const Entry& entry);

  // The finished Bundle text; the writer must not be used afterwards.
  std::string finish();

 private:
  void field(std::string_view key);
  std::string out_;
  bool links_open_ = false;
  bool entries_open_ = false;
  bool first_link_ = true;
  bool first_entry_ = true;
};

}  // namespace cg::fhir
