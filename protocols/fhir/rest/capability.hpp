#pragma once
// The server's CapabilityStatement: exactly the interactions, formats and search
// parameters this build implements, for every R4 resource type. Pure; thread-safe.

#include <boost/json/object.hpp>
#include <string_view>

namespace cg::fhir {

boost::json::object capability_statement(std::string_view base_url, std::string_view version);

}  // namespace cg::fhir
