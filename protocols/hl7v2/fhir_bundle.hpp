#pragma once
// TransactionBuilder: what one HL7v2 message means, as a FHIR transaction Bundle. Mappers add
// the resources a message describes (the Patient, its Encounter, Immunizations, Observations,
// …); the receiver runs the Bundle through the REST layer's transaction code in one store job,
// so a message is stored entirely or not at all, through the same write and index path as
// the REST API.
//
// Every resource is written by a conditional update on the identifiers that name it across
// messages (PUT Type?identifier=s|v,…): receiving the message again, or a correction with a
// new control id, updates what the first message created instead of duplicating it. A
// resource without such identifiers is created (POST). Resources refer to each other through
// their entries' fullUrls (urn:uuid), which the transaction rewrites to the final Type/id.
//
// Plain value; not thread-safe (build on one thread).

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

class TransactionBuilder {
 public:
  // Adds `resource` (of `type`, without id) to be updated by `identifiers` (any of them
  // matching), or created when none is given. Returns the entry's fullUrl, the reference
  // other resources of this Bundle use for it ("urn:uuid:…", unique within the Bundle).
  std::string upsert(std::string_view type, boost::json::object resource,
                     const std::vector<IdentifierKey>& identifiers);

  // Adds `resource` to be created only when no resource has any of `identifiers`
  // (POST with ifNoneExist); otherwise the stored one is used as it is, and references to the
  // returned fullUrl point at it. For the Patient of a lab result or an immunization: their
  // PID is a sparse copy, and must not overwrite what the identity feed (ADT) stored.
  std::string ensure(std::string_view type, boost::json::object resource,
                     const std::vector<IdentifierKey>& identifiers);

  // The transaction Bundle. The builder is empty afterwards.
  boost::json::object take_bundle();
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<boost::json::object> entries_;
};

// "Type?identifier=s1|v1,s2|v2" with FHIR search escapes (`\,` `\|` `\$` `\\`) and
// percent-encoding, as a conditional URL; "Type?identifier=v" (any system) when the system
// is empty.
std::string identifier_query(std::string_view type, const std::vector<IdentifierKey>& identifiers);

// The FHIR Identifier element for `key` (system left out when empty).
boost::json::object identifier_element(const IdentifierKey& key);

}  // namespace cg::hl7v2
