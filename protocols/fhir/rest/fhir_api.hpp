#pragma once
// FhirApi: the FHIR R4 REST interactions over the ResourceStore — read, vread, create,
// update, delete (plain and conditional), history at three levels, type, system and
// compartment search with $everything (docs/search.md), batch and transaction Bundles, and the
// CapabilityStatement. It turns plain HTTP requests into responses and never sees sockets.
//
// Thread-safety: handle() may be called from many worker threads at once; it blocks on the
// store (reads, or waiting for the group commit of its write). A 2xx for a write is only
// returned after the store reported the commit durable.

#include <cstddef>
#include <string>
#include <string_view>

#include "protocols/fhir/rest/bundle_writer.hpp"
#include "protocols/fhir/rest/write_audit.hpp"
#include "protocols/http/message.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

struct FhirApiConfig {
  std::size_t default_page_size = 50;
  std::size_t max_page_size = 1000;
  std::size_t max_bundle_entries = 10'000;
  std::string software_version = "0.0.0";
};

class FhirApi {
 public:
  FhirApi(storage::ResourceStore& store, FhirApiConfig config);

  // `path`: the request path below the FHIR base ("Patient/1/_history"); `query`: the raw
  // query string; `base_url`: the absolute FHIR base for links ("http://host:8080/fhir").
  // `auditor`, when given, records every write inside the write's store job
  // (write_audit.hpp); the entries of a batch use it too.
  http::Response handle(const http::Request& request, std::string_view path, std::string_view query,
                        std::string_view base_url, const WriteAuditor* auditor = nullptr);

 public:
  struct Call;  // one request as the handlers see it (api_call.hpp; internal)

 private:
  http::Response dispatch(Call& call);
  http::Response read(Call& call);
  http::Response vread(Call& call);
  http::Response create(Call& call);
  http::Response update(Call& call);
  http::Response conditional_update(Call& call);
  http::Response remove(Call& call);
  http::Response conditional_remove(Call& call);
  http::Response history(Call& call);
  http::Response search(Call& call);
  http::Response everything(Call& call);
  http::Response bundle(Call& call);
  http::Response transaction(Call& call, boost::json::object bundle);
  http::Response batch(Call& call, boost::json::object bundle);
  BundleWriter::Entry batch_entry(Call& call, const boost::json::value& entry);
  http::Response capabilities(Call& call);

  storage::ResourceStore& store_;
  FhirApiConfig config_;
};

}  // namespace cg::fhir
