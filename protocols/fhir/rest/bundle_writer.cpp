#include "protocols/fhir/rest/bundle_writer.hpp"

#include "protocols/fhir/model/json.hpp"

namespace cg::fhir {

namespace {
std::string quoted(std::string_view s) {
  return serialize_json(boost::json::string(s));
}
}  // namespace

BundleWriter::BundleWriter(std::string_view type, std::string_view id,
                           std::string_view last_updated) {
  out_.reserve(4096);
  out_ += R"({"resourceType":"Bundle","id":)";
  out_ += quoted(id);
  out_ += R"(,"meta":{"lastUpdated":)";
  out_ += quoted(last_updated);
  out_ += R"(},"type":)";
  out_ += quoted(type);
}

void BundleWriter::field(std::string_view key) {
  out_ += ',';
  out_ += quoted(key);
  out_ += ':';
}

void BundleWriter::total(std::int64_t total) {
  field("total");
  out_ += std::to_string(total);
}

void BundleWriter::link(std::string_view relation, std::string_view url) {
  if (!links_open_) {
    field("link");
    out_ += '[';
    links_open_ = true;
  }
  if (!first_link_) out_ += ',';
  first_link_ = false;
  out_ += serialize_json(boost::json::object{{"relation", relation}, {"url", url}});
}

void BundleWriter::entry(const Entry& e) {
  if (links_open_) {
    out_ += ']';
    links_open_ = false;
  }
  if (!entries_open_) {
    field("entry");
    out_ += '[';
    entries_open_ = true;
  }
  if (!first_entry_) out_ += ',';
  first_entry_ = false;
  out_ += '{';
  bool first = true;
  auto member = [&](std::string_view key) {
    if (!first) out_ += ',';
    first = false;
    out_ += quoted(key);
    out_ += ':';
  };
  if (!e.full_url.empty()) {
    member("fullUrl");
    out_ += quoted(e.full_url);
  }
  if (e.resource_json) {
    member("resource");
    out_ += *e.resource_json;
  }
  if (!e.search.empty()) {
    member("search");
    out_ += serialize_json(e.search);
  }
  if (!e.request.empty()) {
    member("request");
    out_ += serialize_json(e.request);
  }
  if (!e.response.empty()) {
    member("response");
    out_ += serialize_json(e.response);
  }
  out_ += '}';
}

std::string BundleWriter::finish() {
  if (links_open_) out_ += ']';
  if (entries_open_) out_ += ']';
  out_ += '}';
  return std::move(out_);
}

}  // namespace cg::fhir
