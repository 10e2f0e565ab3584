#include "gateway/hl7_handlers.hpp"

namespace cg::gateway {

void register_hl7_handlers(hl7v2::MessageReceiver& receiver, storage::ResourceStore& store,
                           const Hl7Settings& settings) {
  // The v2-to-FHIR mappers register here as they land (issue 4): until then every message
  // type is answered AR 200, never silently dropped.
  (void)receiver;
  (void)store;
  (void)settings;
}

}  // namespace cg::gateway
