#pragma once
// The STATUS= line the gateway gives systemd (`systemctl status clinic-gateway` shows it):
// what it listens on, and what it did over the last minute, so an operator sees at a glance
// that it is up and working.
//
//   FHIR on http://0.0.0.0:8080/fhir, HL7v2 MLLP on 0.0.0.0:2575, ATNA syslog on udp 5514 …;
//   last 60 s: 1,204 HTTP requests, 56 HL7v2 messages, 1,318 audit records; 9 connections
//
// Pure; thread-safe.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace cg::gateway {

// Counters at one moment (every field only grows, except open_connections).
struct LoadSample {
  std::uint64_t http_requests = 0;
  std::uint64_t hl7_messages = 0;
  std::uint64_t audit_records = 0;  // received by syslog and the gateway's own
  std::size_t open_connections = 0;
};

// `listeners`: "FHIR on …", "HL7v2 MLLP on …" (those that run). Without a previous sample
// (at start), only the listeners.
std::string service_status(const std::vector<std::string>& listeners, const LoadSample* before,
                           const LoadSample& now, std::chrono::seconds span);

// 1234567 → "1,234,567".
std::string thousands(std::uint64_t n);

}  // namespace cg::gateway
