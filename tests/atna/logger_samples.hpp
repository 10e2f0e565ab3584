#pragma once
// Real bytes written by util-linux `logger` 2.38.1 (Debian 12), captured once on loopback
// with a Python socket listener that saved everything it received, e.g.
//   logger --rfc5424 --octet-count --tcp --server 127.0.0.1 --port P -t cg "first frame"
// The exact command is above each constant. "vm" is the capturing machine's host name.

#include <string_view>

namespace cg::atna::logger_samples {

// logger --rfc5424 --octet-count --tcp -t atna-test -p auth.notice --id=4242
//   --msgid=IHE+RFC-3881 --sd-id 'origin@32473'
//   --sd-param 'software="clinic \"gw\" a\]b c\\d"' "ATNA sample from logger"
inline constexpr std::string_view kOctetCountedWithSd =
    "181 <37>1 2026-11-21T13:08:34.923181+00:00 vm atna-test 4242 IHE+RFC-3881 "
    "[timeQuality tzKnown=\"1\" isSynced=\"0\"][origin@32473 software=\"clinic \\\"gw\\\" "
    "a\\]b c\\\\d\"] ATNA sample from logger";

// logger --rfc5424 --octet-count --tcp -t cg "first frame"
inline constexpr std::string_view kOctetCounted =
    "99 <13>1 2026-11-21T13:08:35.441500+00:00 vm cg - - [timeQuality tzKnown=\"1\" "
    "isSynced=\"0\"] first frame";

// logger --rfc5424=notq,notime,nohost --octet-count --tcp -t cg "no time no host"
inline constexpr std::string_view kOctetCountedNil = "34 <13>1 - - cg - - - no time no host";

// logger --rfc3164 --tcp -t emr-audit -p local4.info --id=77 "RFC 3164 sample from logger"
inline constexpr std::string_view kRfc3164Newline =
    "<166>Nov 21 13:08:35 vm emr-audit[77]: RFC 3164 sample from logger\n";

// logger --rfc5424 --tcp -t cg-newline "newline framed 5424"
inline constexpr std::string_view kRfc5424Newline =
    "<13>1 2026-11-21T13:08:36.489893+00:00 vm cg-newline - - [timeQuality tzKnown=\"1\" "
    "isSynced=\"0\"] newline framed 5424\n";

// logger --rfc5424 --udp -t cg-udp "one datagram" (one datagram, no trailer)
inline constexpr std::string_view kRfc5424Datagram =
    "<13>1 2026-11-21T13:10:29.615227+00:00 vm cg-udp - - [timeQuality tzKnown=\"1\" "
    "isSynced=\"0\"] one datagram";

}  // namespace cg::atna::logger_samples
