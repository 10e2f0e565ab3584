#include "gateway/http_metrics.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "protocols/fhir/model/definitions.hpp"

namespace cg::gateway {
namespace {

constexpr std::array<std::string_view, 8> kMethods{"GET",   "HEAD",   "POST",    "PUT",
                                                   "PATCH", "DELETE", "OPTIONS", "other"};

std::uint32_t method_index(std::string_view method) {
  for (std::uint32_t i = 0; i + 1 < kMethods.size(); ++i) {
    if (kMethods[i] == method) return i;
  }
  return kMethods.size() - 1;
}

// Key layout: bits 0-9 status (0-999), 10-12 method, 13-17 route, 18-25 type, 26 set (a
// claimed slot is never 0).
constexpr std::uint32_t kClaimed = 1u << 26;

std::uint32_t pack(std::uint32_t method, RouteKey key, int status) {
  const auto code = static_cast<std::uint32_t>(std::clamp(status, 0, 999));
  return kClaimed | code | method << 10 | static_cast<std::uint32_t>(key.route) << 13 |
         static_cast<std::uint32_t>(key.type & 0xFF) << 18;
}

struct Unpacked {
  std::uint32_t method;
  RouteKey route;
  int status;
};

Unpacked unpack(std::uint32_t key) {
  Unpacked u{};
  u.status = static_cast<int>(key & 0x3FF);
  u.method = (key >> 10) & 0x7;
  u.route.route = static_cast<HttpRoute>((key >> 13) & 0x1F);
  u.route.type = static_cast<std::uint16_t>((key >> 18) & 0xFF);
  return u;
}

// The histogram bounds in nanoseconds, for the comparison on the request path.
constexpr std::array<std::uint64_t, HttpMetrics::kLatencyBounds.size()> kBoundsNs = [] {
  std::array<std::uint64_t, HttpMetrics::kLatencyBounds.size()> ns{};
  for (std::size_t i = 0; i < ns.size(); ++i) {
    ns[i] = static_cast<std::uint64_t>(HttpMetrics::kLatencyBounds[i] * 1e9 + 0.5);
  }
  return ns;
}();

std::uint16_t type_index(std::string_view name) {
  auto types = fhir::resource_types();
  auto it = std::lower_bound(types.begin(), types.end(), name);
  if (it == types.end() || *it != name) return kOtherType;
  return static_cast<std::uint16_t>(it - types.begin() + 1);
}

// Up to five segments of `rest` ("Patient/1/_history/2"); more set `too_many`.
struct Segments {
  std::array<std::string_view, 5> part{};
  std::size_t count = 0;
  bool too_many = false;
};

Segments split_segments(std::string_view rest) {
  Segments s;
  while (true) {
    const auto slash = rest.find('/');
    if (s.count == s.part.size()) {
      s.too_many = true;
      return s;
    }
    s.part[s.count++] = rest.substr(0, slash);
    if (slash == std::string_view::npos) return s;
    rest.remove_prefix(slash + 1);
  }
}

bool is_operation(std::string_view segment) {
  return segment.starts_with('$');
}

// Below "/fhir/": `rest` is "Patient/1" and the like.
RouteKey classify_fhir(std::string_view rest) {
  const Segments s = split_segments(rest);
  if (s.too_many) return {};
  for (std::size_t i = 0; i < s.count; ++i) {
    if (s.part[i].empty()) return {};
  }
  const std::string_view first = s.part[0];
  if (s.count == 1) {
    if (first == "metadata") return {HttpRoute::kFhirMetadata, 0};
    if (first == "_history") return {HttpRoute::kFhirSystemHistory, 0};
    if (first == "_search") return {HttpRoute::kFhirSystem, 0};
    if (is_operation(first)) return {HttpRoute::kFhirSystemOperation, 0};
  }
  if (first.starts_with('_') || is_operation(first)) return {};
  const std::uint16_t type = type_index(first);
  auto with = [type](HttpRoute route) { return RouteKey{route, type}; };
  if (s.count == 1) return with(HttpRoute::kFhirType);
  const std::string_view second = s.part[1];
  if (s.count == 2) {
    if (second == "_search") return with(HttpRoute::kFhirTypeSearch);
    if (second == "_history") return with(HttpRoute::kFhirTypeHistory);
    if (is_operation(second)) return with(HttpRoute::kFhirTypeOperation);
    return with(HttpRoute::kFhirInstance);
  }
  if (second.starts_with('_') || is_operation(second)) return {};
  const std::string_view third = s.part[2];
  if (s.count == 3) {
    if (third == "_history") return with(HttpRoute::kFhirInstanceHistory);
    if (is_operation(third)) return with(HttpRoute::kFhirInstanceOperation);
    if (third.starts_with('_')) return {};
    return with(HttpRoute::kFhirCompartment);
  }
  if (s.count == 4 && third == "_history") return with(HttpRoute::kFhirVersion);
  return {};
}

}  // namespace

std::string_view route_template(HttpRoute route) {
  switch (route) {
    case HttpRoute::kOther:
      return "other";
    case HttpRoute::kHealth:
      return "/health";
    case HttpRoute::kMetrics:
      return "/metrics";
    case HttpRoute::kAuthToken:
      return "/auth/token";
    case HttpRoute::kAuthRevoke:
      return "/auth/revoke";
    case HttpRoute::kWellKnown:
      return "/.well-known/{document}";
    case HttpRoute::kFhirSystem:
      return "/fhir";
    case HttpRoute::kFhirMetadata:
      return "/fhir/metadata";
    case HttpRoute::kFhirSystemHistory:
      return "/fhir/_history";
    case HttpRoute::kFhirSystemOperation:
      return "/fhir/{operation}";
    case HttpRoute::kFhirType:
      return "/fhir/{type}";
    case HttpRoute::kFhirTypeSearch:
      return "/fhir/{type}/_search";
    case HttpRoute::kFhirTypeHistory:
      return "/fhir/{type}/_history";
    case HttpRoute::kFhirTypeOperation:
      return "/fhir/{type}/{operation}";
    case HttpRoute::kFhirInstance:
      return "/fhir/{type}/{id}";
    case HttpRoute::kFhirInstanceHistory:
      return "/fhir/{type}/{id}/_history";
    case HttpRoute::kFhirVersion:
      return "/fhir/{type}/{id}/_history/{vid}";
    case HttpRoute::kFhirInstanceOperation:
      return "/fhir/{type}/{id}/{operation}";
    case HttpRoute::kFhirCompartment:
      return "/fhir/{type}/{id}/{compartment}";
  }
  return "other";
}

RouteKey classify_route(std::string_view path) {
  if (path == "/health" || path == "/health/live" || path == "/health/ready") {
    return {HttpRoute::kHealth, 0};
  }
  if (path == "/metrics") return {HttpRoute::kMetrics, 0};
  if (path == "/auth/token") return {HttpRoute::kAuthToken, 0};
  if (path == "/auth/revoke") return {HttpRoute::kAuthRevoke, 0};
  if (path.starts_with("/.well-known/") || path.starts_with("/fhir/.well-known/")) {
    return {HttpRoute::kWellKnown, 0};
  }
  if (path == "/fhir" || path == "/fhir/") return {HttpRoute::kFhirSystem, 0};
  if (path.starts_with("/fhir/")) return classify_fhir(path.substr(6));
  return {};
}

std::string_view route_type_label(std::uint16_t type) {
  if (type == 0) return {};
  auto types = fhir::resource_types();
  if (type == kOtherType || type > types.size()) return "other";
  return types[type - 1];
}

void HttpMetrics::record(std::string_view method, std::string_view path, int status,
                         std::chrono::nanoseconds took) {
  const RouteKey route = classify_route(path);
  count_key(pack(method_index(method), route, status));
  const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, took.count()));
  Latency& l = latency_[static_cast<std::size_t>(route.route)];
  std::size_t bucket = 0;
  while (bucket < kBoundsNs.size() && ns > kBoundsNs[bucket]) ++bucket;
  l.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  l.sum_ns.fetch_add(ns, std::memory_order_relaxed);
}

void HttpMetrics::count_key(std::uint32_t key) {
  // Fibonacci hashing: the top bits of the product depend on every bit of the key (the low
  // bits would depend on the status and method only, and pile every route onto one chain).
  static_assert(kSlots == std::size_t{1} << 12);
  const std::size_t start = static_cast<std::uint32_t>(key * 2654435761u) >> (32 - 12);
  for (std::size_t i = 0; i < kSlots; ++i) {
    Slot& slot = slots_[(start + i) % kSlots];
    std::uint32_t seen = slot.key.load(std::memory_order_acquire);
    if (seen == 0 && slot.key.compare_exchange_strong(seen, key, std::memory_order_acq_rel)) {
      seen = key;
    }
    if (seen == key) {
      slot.count.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  unrecorded_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t HttpMetrics::count(std::string_view method, RouteKey key, int status) const {
  const std::uint32_t packed = pack(method_index(method), key, status);
  for (const Slot& slot : slots_) {
    if (slot.key.load(std::memory_order_acquire) == packed) {
      return slot.count.load(std::memory_order_relaxed);
    }
  }
  return 0;
}

void HttpMetrics::write(PrometheusText& out) const {
  // Sorted by route, type, method and code, so scrapes list the series in a stable order.
  std::map<std::tuple<int, std::uint16_t, std::uint32_t, int>, std::uint64_t> rows;
  for (const Slot& slot : slots_) {
    const std::uint32_t key = slot.key.load(std::memory_order_acquire);
    if (key == 0) continue;
    const std::uint64_t n = slot.count.load(std::memory_order_relaxed);
    if (n == 0) continue;  // claimed a moment ago, not counted yet
    const Unpacked u = unpack(key);
    rows[{static_cast<int>(u.route.route), u.route.type, u.method, u.status}] = n;
  }
  out.family("clinic_gateway_http_requests_total",
             "HTTP requests answered, by method, route template, FHIR resource type and status "
             "code.",
             MetricType::kCounter);
  for (const auto& [k, n] : rows) {
    const auto& [route, type, method, status] = k;
    const std::string code = std::to_string(status);
    const std::string_view type_label = route_type_label(type);
    const std::string_view route_label = route_template(static_cast<HttpRoute>(route));
    if (type_label.empty()) {
      out.sample("clinic_gateway_http_requests_total",
                 {{"method", kMethods[method]}, {"route", route_label}, {"code", code}},
                 static_cast<double>(n));
    } else {
      out.sample("clinic_gateway_http_requests_total",
                 {{"method", kMethods[method]},
                  {"route", route_label},
                  {"type", type_label},
                  {"code", code}},
                 static_cast<double>(n));
    }
  }
  out.family("clinic_gateway_http_request_duration_seconds",
             "Time from a parsed HTTP request to its response, by route template.",
             MetricType::kHistogram);
  for (std::size_t r = 0; r < kHttpRouteCount; ++r) {
    const Latency& l = latency_[r];
    std::array<std::uint64_t, kLatencyBounds.size()> cumulative{};
    std::uint64_t running = 0;
    for (std::size_t b = 0; b < kLatencyBounds.size(); ++b) {
      running += l.buckets[b].load(std::memory_order_relaxed);
      cumulative[b] = running;
    }
    const std::uint64_t count = running + l.buckets.back().load(std::memory_order_relaxed);
    if (count == 0) continue;
    const double sum = static_cast<double>(l.sum_ns.load(std::memory_order_relaxed)) / 1e9;
    const MetricLabel labels[] = {{"route", route_template(static_cast<HttpRoute>(r))}};
    out.histogram("clinic_gateway_http_request_duration_seconds", labels, kLatencyBounds,
                  cumulative, sum, count);
  }
  out.family("clinic_gateway_http_requests_unrecorded_total",
             "HTTP requests whose label combination found no room in the counter table (expected "
             "to stay 0).",
             MetricType::kCounter);
  out.sample("clinic_gateway_http_requests_unrecorded_total", static_cast<double>(unrecorded()));
}

}  // namespace cg::gateway
