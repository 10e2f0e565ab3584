#pragma once
// HttpMetrics: the HTTP API's request counters and latency histogram for GET /metrics.
//
// Every request is counted under a bounded key: its method, its route template (the path
// with ids and other free text replaced: "/fhir/{type}/{id}"), the resource type for the
// FHIR routes (only the R4 types the server serves; any other text is "other", so a client
// cannot grow the label set with made-up types), and the status code. Ids, query strings and
// operation names never become labels.
//
// Recording is on every request's path, so it takes no lock and allocates nothing: relaxed
// atomic increments in a fixed open-addressing table (keys claimed by compare-and-swap) and
// in fixed histogram buckets. The table has room for far more keys than the routes, types,
// methods and codes produce in practice; a key that finds no room is counted as unrecorded.
// Thread-safety: record() and write() may run concurrently from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "gateway/prometheus_text.hpp"

namespace cg::gateway {

// The route templates requests are counted under.
enum class HttpRoute : std::uint8_t {
  kOther,
  kHealth,                 // /health, /health/live, /health/ready
  kMetrics,                // /metrics
  kAuthToken,              // /auth/token
  kAuthRevoke,             // /auth/revoke
  kWellKnown,              // /.well-known/*, /fhir/.well-known/*
  kFhirSystem,             // /fhir: batch/transaction, system search
  kFhirMetadata,           // /fhir/metadata
  kFhirSystemHistory,      // /fhir/_history
  kFhirSystemOperation,    // /fhir/$operation
  kFhirType,               // /fhir/{type}: create, search, conditional update/delete
  kFhirTypeSearch,         // /fhir/{type}/_search
  kFhirTypeHistory,        // /fhir/{type}/_history
  kFhirTypeOperation,      // /fhir/{type}/$operation
  kFhirInstance,           // /fhir/{type}/{id}: read, update, patch, delete
  kFhirInstanceHistory,    // /fhir/{type}/{id}/_history
  kFhirVersion,            // /fhir/{type}/{id}/_history/{vid}
  kFhirInstanceOperation,  // /fhir/{type}/{id}/$operation
  kFhirCompartment,        // /fhir/{type}/{id}/{type}: compartment search
};
inline constexpr std::size_t kHttpRouteCount = 19;
static_assert(static_cast<std::size_t>(HttpRoute::kFhirCompartment) + 1 == kHttpRouteCount);

std::string_view route_template(HttpRoute route);

// Where a request path goes: its template and, for the FHIR routes with a type, the type's
// index in fhir::resource_types() plus one (0: no type; kOtherType: not an R4 type).
struct RouteKey {
  HttpRoute route = HttpRoute::kOther;
  std::uint16_t type = 0;
};
inline constexpr std::uint16_t kOtherType = 255;

// `path` without the query string, as received (percent-encoded).
RouteKey classify_route(std::string_view path);
// The label value of a RouteKey's type: the R4 type name, "other", or "" (none).
std::string_view route_type_label(std::uint16_t type);

class HttpMetrics {
 public:
  // Upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 14> kLatencyBounds{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  // One answered request. No lock, no allocation.
  void record(std::string_view method, std::string_view path, int status,
              std::chrono::nanoseconds took);

  // The families clinic_gateway_http_requests_total and
  // clinic_gateway_http_request_duration_seconds (and the unrecorded count).
  void write(PrometheusText& out) const;

  // The count under one key (tests).
  std::uint64_t count(std::string_view method, RouteKey key, int status) const;
  std::uint64_t unrecorded() const { return unrecorded_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kSlots = 4096;  // a power of two

  struct Slot {
    std::atomic<std::uint32_t> key{0};  // 0: free
    std::atomic<std::uint64_t> count{0};
  };
  struct Latency {
    std::array<std::atomic<std::uint64_t>, kLatencyBounds.size() + 1> buckets{};  // last: +Inf
    std::atomic<std::uint64_t> sum_ns{0};
  };

  void count_key(std::uint32_t key);

  std::array<Slot, kSlots> slots_{};
  std::array<Latency, kHttpRouteCount> latency_{};
  std::atomic<std::uint64_t> unrecorded_{0};
};

}  // namespace cg::gateway
