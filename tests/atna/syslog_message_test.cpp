#include "protocols/atna/syslog_message.hpp"

#include <doctest/doctest.h>

#include <string>

#include "tests/atna/logger_samples.hpp"

namespace cg::atna {
namespace {

using namespace std::string_view_literals;

SyslogMessage parsed(std::string_view bytes) {
  Result<SyslogMessage> result = parse_syslog_message(bytes);
  if (!result) FAIL_CHECK(result.error().message);
  REQUIRE(result.ok());
  return std::move(result).value();
}

std::string error_of(std::string_view bytes) {
  Result<SyslogMessage> result = parse_syslog_message(bytes);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kInvalid);
  return result.error().message;
}

}  // namespace

TEST_CASE("the RFC 5424 example with every header field") {
  // RFC 5424 §6.5, example 1 (without the BOM).
  const SyslogMessage m = parsed(
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
      "'su root' failed for lonvick on /dev/pts/8");
  CHECK(m.format == SyslogFormat::kRfc5424);
  CHECK(m.facility == 4);
  CHECK(m.severity == 2);
  CHECK(m.timestamp == "2003-10-11T22:14:15.003Z");
  CHECK(m.timestamp_ms == 1065910455003);
  CHECK(m.hostname == "mymachine.example.com");
  CHECK(m.app_name == "su");
  CHECK(m.procid.empty());
  CHECK(m.msgid == "ID47");
  CHECK(m.structured_data.empty());
  CHECK(m.msg == "'su root' failed for lonvick on /dev/pts/8");
  CHECK_FALSE(m.msg_bom);
}

TEST_CASE("NILVALUE fields read as empty and a message may end after STRUCTURED-DATA") {
  const SyslogMessage m = parsed("<13>1 - - - - - -");
  CHECK(m.format == SyslogFormat::kRfc5424);
  CHECK(m.timestamp.empty());
  CHECK_FALSE(m.timestamp_ms);
  CHECK(m.hostname.empty());
  CHECK(m.app_name.empty());
  CHECK(m.msg.empty());
  CHECK(parsed("<13>1 - - - - - - ").msg.empty());
}

TEST_CASE("a leading UTF-8 BOM is removed from MSG and remembered") {
  const SyslogMessage m = parsed("<165>1 - host app - - - \xEF\xBB\xBF<AuditMessage/>");
  CHECK(m.msg == "<AuditMessage/>");
  CHECK(m.msg_bom);
}

TEST_CASE("MSG bytes are kept as they are, invalid UTF-8 and newlines included") {
  const SyslogMessage m = parsed("<13>1 - - - - - - \xFF\xFE bad\nnext line\0 nul"sv);
  CHECK(m.msg == "\xFF\xFE bad\nnext line\0 nul"sv);
  CHECK_FALSE(m.msg_bom);
}

TEST_CASE("structured data: several elements, parameters and the three escapes") {
  const SyslogMessage m =
      parsed(R"(<165>1 2003-10-11T22:14:15.003Z host evntslog - ID47 [exampleSDID@32473 iut="3" )"
             R"(eventSource="Application" eventID="1011"][examplePriority@32473 class="high"])"
             R"([esc@1 v="q\"b\\c\]d\n"] msg)");
  REQUIRE(m.structured_data.size() == 3);
  CHECK(m.structured_data[0].id == "exampleSDID@32473");
  CHECK(m.structured_data[0].params ==
        std::vector<SdParam>{{"iut", "3"}, {"eventSource", "Application"}, {"eventID", "1011"}});
  CHECK(m.structured_data[1].params == std::vector<SdParam>{{"class", "high"}});
  // \n is no escape in RFC 5424: the backslash stays.
  CHECK(m.structured_data[2].params == std::vector<SdParam>{{"v", R"(q"b\c]d\n)"}});
  CHECK(m.msg == "msg");
}

TEST_CASE("an SD-ELEMENT without parameters and an unescaped ']' inside a value") {
  const SyslogMessage m = parsed(R"(<13>1 - - - - - [a][b x="1]2"])");
  REQUIRE(m.structured_data.size() == 2);
  CHECK(m.structured_data[0].params.empty());
  CHECK(m.structured_data[1].params == std::vector<SdParam>{{"x", "1]2"}});
  CHECK(m.msg.empty());
}

TEST_CASE("real logger output parses to the fields logger was given") {
  using namespace logger_samples;
  const SyslogMessage m = parsed(kOctetCountedWithSd.substr(4));
  CHECK(m.format == SyslogFormat::kRfc5424);
  CHECK(m.facility == 4);  // auth
  CHECK(m.severity == 5);  // notice
  CHECK(m.timestamp_ms == 1795266514923);
  CHECK(m.hostname == "vm");
  CHECK(m.app_name == "atna-test");
  CHECK(m.procid == "4242");
  CHECK(m.msgid == "IHE+RFC-3881");
  REQUIRE(m.structured_data.size() == 2);
  CHECK(m.structured_data[0].id == "timeQuality");
  CHECK(m.structured_data[1] ==
        SdElement{"origin@32473", {{"software", R"(clinic "gw" a]b c\d)"}}});
  CHECK(m.msg == "ATNA sample from logger");

  const SyslogMessage nil = parsed(kOctetCountedNil.substr(3));
  CHECK(nil.timestamp.empty());
  CHECK(nil.hostname.empty());
  CHECK(nil.app_name == "cg");
  CHECK(nil.msg == "no time no host");

  const SyslogMessage bsd = parsed(kRfc3164Newline.substr(0, kRfc3164Newline.size() - 1));
  CHECK(bsd.format == SyslogFormat::kRfc3164);
  CHECK(bsd.facility == 20);  // local4
  CHECK(bsd.severity == 6);   // info
  CHECK(bsd.timestamp == "Nov 21 13:08:35");
  CHECK_FALSE(bsd.timestamp_ms);
  CHECK(bsd.hostname == "vm");
  CHECK(bsd.app_name == "emr-audit");
  CHECK(bsd.procid == "77");
  CHECK(bsd.msg == "RFC 3164 sample from logger");
}

TEST_CASE("RFC 3164 forms: with or without host, pid, timestamp; ISO timestamp") {
  const SyslogMessage no_pid = parsed("<13>Oct  1 02:03:04 gw sshd: accepted");
  CHECK(no_pid.format == SyslogFormat::kRfc3164);
  CHECK(no_pid.timestamp == "Oct  1 02:03:04");
  CHECK(no_pid.hostname == "gw");
  CHECK(no_pid.app_name == "sshd");
  CHECK(no_pid.procid.empty());
  CHECK(no_pid.msg == "accepted");

  const SyslogMessage no_host = parsed("<13>Oct 11 22:14:15 su[12]: 'su root' failed");
  CHECK(no_host.hostname.empty());
  CHECK(no_host.app_name == "su");
  CHECK(no_host.procid == "12");
  CHECK(no_host.msg == "'su root' failed");

  const SyslogMessage no_time = parsed("<30>cron[7]: job done");
  CHECK(no_time.format == SyslogFormat::kRfc3164);
  CHECK(no_time.timestamp.empty());
  CHECK(no_time.app_name == "cron");
  CHECK(no_time.msg == "job done");

  const SyslogMessage iso = parsed("<13>2024-03-01T08:15:30.250+01:00 gw app: text");
  CHECK(iso.format == SyslogFormat::kRfc3164);
  CHECK(iso.timestamp_ms == 1709277330250);
  CHECK(iso.hostname == "gw");
  CHECK(iso.app_name == "app");

  const SyslogMessage no_tag = parsed("<13>Oct 11 22:14:15 gw just some text");
  CHECK(no_tag.format == SyslogFormat::kRfc3164);
  CHECK(no_tag.hostname == "gw");
  CHECK(no_tag.app_name.empty());
  CHECK(no_tag.msg == "just some text");
}

TEST_CASE("free text after a valid PRI is kept with format unknown") {
  const SyslogMessage m = parsed("<13>just text without a tag");
  CHECK(m.format == SyslogFormat::kUnknown);
  CHECK(m.msg == "just text without a tag");
  CHECK(parsed("<0>").format == SyslogFormat::kUnknown);
}

TEST_CASE("a 5424 TIMESTAMP that is no valid date-time is kept as text without epoch ms") {
  const SyslogMessage m = parsed("<13>1 2024-02-30T00:00:00Z host app - - - x");
  CHECK(m.timestamp == "2024-02-30T00:00:00Z");
  CHECK_FALSE(m.timestamp_ms);
}

TEST_CASE("bad PRI is an error naming PRI") {
  CHECK(error_of("") == "PRI missing: no '<'");
  CHECK(error_of("13>1 - - - - - -") == "PRI missing: no '<'");
  CHECK(error_of("<>1 - - - - - -") == "PRI is not '<' 1-3 digits '>'");
  CHECK(error_of("<1234>1 - - - - - -") == "PRI is not '<' 1-3 digits '>'");
  CHECK(error_of("<13") == "PRI is not '<' 1-3 digits '>'");
  CHECK(error_of("<192>1 - - - - - -") == "PRI above 191");
  CHECK(parsed("<191>1 - - - - - -").facility == 23);
}

TEST_CASE("a VERSION other than 1 is unsupported") {
  Result<SyslogMessage> result = parse_syslog_message("<13>2 - - - - - -");
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kUnsupported);
}

TEST_CASE("broken RFC 5424 headers are errors naming the field") {
  CHECK(error_of("<13>1 -") == "TIMESTAMP is the end of the message");
  CHECK(error_of("<13>1 - host") == "HOSTNAME is the end of the message");
  CHECK(error_of("<13>1 - host  - - -") == "APP-NAME empty");
  CHECK(error_of("<13>1 - - " + std::string(49, 'a') + " - - -") == "APP-NAME longer than 48");
  CHECK(error_of("<13>1 - - - - " + std::string(33, 'm') + " -") == "MSGID longer than 32");
  CHECK(error_of("<13>1 - h\x7F - - - -") == "HOSTNAME not printable ASCII");
  CHECK(error_of("<13>1 - - - - -") == "MSGID is the end of the message");
  CHECK(error_of("<13>1 - - - - - ") == "STRUCTURED-DATA is neither '-' nor '['");
  CHECK(error_of("<13>1 - - - - - x") == "STRUCTURED-DATA is neither '-' nor '['");
  CHECK(error_of("<13>1 - - - - - -x") == "STRUCTURED-DATA not followed by SP or the end");
}

TEST_CASE("broken structured data is an error naming the part") {
  CHECK(error_of("<13>1 - - - - - [a x=\"1\"") == "SD-ELEMENT has no closing ']'");
  CHECK(error_of("<13>1 - - - - - [a x=\"1]") == "PARAM-VALUE has no closing '\"'");
  CHECK(error_of("<13>1 - - - - - [a x=1]") == "PARAM-NAME not followed by '=\"'");
  CHECK(error_of("<13>1 - - - - - [ x=\"1\"]") == "SD-ID empty or has a bad character");
  CHECK(error_of("<13>1 - - - - - [a =\"1\"]") == "PARAM-NAME empty or has a bad character");
  CHECK(error_of("<13>1 - - - - - [" + std::string(33, 'i') + "]") == "SD-ID longer than 32");
  CHECK(error_of("<13>1 - - - - - [a][b x=\"\"]x") ==
        "STRUCTURED-DATA not followed by SP or the end");
}

TEST_CASE("check_header_field and check_sd_name state the RFC 5424 limits") {
  CHECK(check_header_field(kProcIdField, std::string(128, 'p')).ok());
  CHECK_FALSE(check_header_field(kProcIdField, std::string(129, 'p')).ok());
  CHECK_FALSE(check_header_field(kHostnameField, "two words").ok());
  CHECK(check_sd_name("SD-ID", "origin@32473").ok());
  CHECK_FALSE(check_sd_name("SD-ID", "a=b").ok());
  CHECK_FALSE(check_sd_name("SD-ID", "a\"b").ok());
}

}  // namespace cg::atna
