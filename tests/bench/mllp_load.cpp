// mllp_load: a closed-loop HL7v2-over-MLLP load tool for the clinic-gateway benchmarks.
//
// N connections, one thread each. Every connection sends one MLLP-framed message, waits for
// the framed answer, checks it (MSA-1 must be AA or CA, MSA-2 the message's MSH-10), records
// the latency and sends the next one, for a duration (after an unrecorded warm-up) and/or a
// bounded number of messages. The message is an ADT event built in (`--event A28`: patient
// identity feed, ADT_A05 structure; `--event A01`: admission with a PV1 visit, ADT_A01) or a
// file; every `{{UNIQUE}}` in it is replaced per message by run id, connection and sequence
// number, so the control id (MSH-10) and the MRN (PID-3) are new each time and every message
// creates a new patient, as in a real identity feed. `--duplicate` sends one fixed message
// over and over instead (the receiver's duplicate path: answered from its archive).
//
// Answers other than AA/CA (AE, AR, CE, CR) are errors, never throughput: they are counted
// by code and the first one is printed with its ERR segment. Prints messages/s, p50/p90/p99/
// max latency and the counts, and a "RESULT key=value ..." line in the format fhir_load uses
// (tests/bench/run_bench.py parse_result). aa_total counts AA answers including the warm-up,
// i.e. what the receiver promised to have stored. Exit status 1 when anything was not AA.
//
// Plain POSIX sockets + std::thread; no Boost, so it compiles in a second.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "latency_histogram.hpp"

namespace {

using cg::bench::Histogram;
using Clock = std::chrono::steady_clock;

constexpr char kStartBlock = '\x0b';
constexpr std::string_view kEndBlock = "\x1c\x0d";
constexpr std::string_view kUnique = "{{UNIQUE}}";

// The built-in messages, one segment per line (sent with \r). The patient and, for A01, the
// visit look like an EMR's: identifiers with an assigning authority, name, birth date, sex,
// address, phone, marital status, language, GP (PD1), next of kin (NK1).
constexpr std::string_view kPatientSegments =
    "PID|1||MRN-{{UNIQUE}}^^^KISUMU^MR||Achieng^Grace^Wanjiru^^Ms||19850412|F|||"
    "12 Oginga Odinga St^^Kisumu^^40100^KE^H||^PRN^PH^^254^57^2023456~^PRS^CP^^254^722^123456|"
    "^WPN^PH^^254^57^2020000|sw^Swahili^ISO639|M^Married^HL70002\n"
    "PD1|||Kisumu Health Centre^^KHC-01|DOC-17^Odhiambo^James^^^Dr^^^KISUMU\n"
    "NK1|1|Achieng^Peter|SPO^Spouse^HL70063|12 Oginga Odinga St^^Kisumu^^40100^KE|"
    "^PRN^PH^^254^722^654321\n";

constexpr std::string_view kA28Header =
    "MSH|^~\\&|BENCH-EMR|KISUMU|CLINIC-GW|CLINIC|20261121080000+0300||ADT^A28^ADT_A05|{{UNIQUE}}|"
    "P|2.5.1\n"
    "EVN|A28|20261121080000+0300\n";
constexpr std::string_view kA28Visit = "PV1|1|N\n";

constexpr std::string_view kA01Header =
    "MSH|^~\\&|BENCH-EMR|KISUMU|CLINIC-GW|CLINIC|20261121080000+0300||ADT^A01^ADT_A01|{{UNIQUE}}|"
    "P|2.5.1\n"
    "EVN|A01|20261121080000+0300\n";
// PV1-2 class, -3 location, -4 admission type, -7 attending, -10 service, -19 visit number,
// -44 admit time.
constexpr std::string_view kA01Visit =
    "PV1|1|I|MED^12^1^KISUMU|E|||DOC-17^Odhiambo^James^^^Dr^^^KISUMU|||MED|||||||||"
    "VN-{{UNIQUE}}^^^KISUMU^VN|||||||||||||||||||||||||20261121080000+0300\n";

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string event = "A28";
  std::string message_file;
  bool duplicate = false;
  bool print_message = false;
  int connections = 1;
  double duration = 10.0;      // seconds; 0 = no time limit (then -n is required)
  std::uint64_t messages = 0;  // 0 = no count limit
  double warmup = 0.0;         // seconds of traffic not recorded
  double timeout = 30.0;       // per-answer timeout (seconds) -> counted as I/O error
  std::string label = "run";
};

[[noreturn]] void usage(const char* msg = nullptr) {
  if (msg) std::fprintf(stderr, "mllp_load: %s\n", msg);
  std::fprintf(
      stderr,
      "usage: mllp_load --port PORT [options]\n"
      "      --host ADDR            IPv4 address (default 127.0.0.1)\n"
      "  -e, --event A28|A01        built-in ADT message (default A28)\n"
      "  -f, --message-file FILE    message instead, one segment per line; every\n"
      "                             {{UNIQUE}} is replaced per message (put it in MSH-10)\n"
      "      --duplicate            send one fixed message over and over\n"
      "      --print-message        print the message (segments on lines) and exit\n"
      "  -c, --connections N        connections, one thread each (default 1)\n"
      "  -d, --duration SEC         measured duration (default 10; 0 = until -n)\n"
      "  -n, --messages N           stop after N measured messages (bound)\n"
      "      --warmup SEC           unrecorded warm-up traffic first (default 0)\n"
      "      --timeout SEC          per-answer timeout, counted as error (default 30)\n"
      "      --label NAME           name printed in the RESULT line\n");
  std::exit(2);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) usage(("cannot read " + path).c_str());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Options parse(int argc, char** argv) {
  Options o;
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) usage((std::string("missing value for ") + argv[i]).c_str());
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--host") {
      o.host = need(i);
    } else if (a == "--port") {
      o.port = std::atoi(need(i).c_str());
    } else if (a == "-e" || a == "--event") {
      o.event = need(i);
    } else if (a == "-f" || a == "--message-file") {
      o.message_file = need(i);
    } else if (a == "--duplicate") {
      o.duplicate = true;
    } else if (a == "--print-message") {
      o.print_message = true;
    } else if (a == "-c" || a == "--connections") {
      o.connections = std::atoi(need(i).c_str());
    } else if (a == "-d" || a == "--duration") {
      o.duration = std::atof(need(i).c_str());
    } else if (a == "-n" || a == "--messages") {
      o.messages = std::strtoull(need(i).c_str(), nullptr, 10);
    } else if (a == "--warmup") {
      o.warmup = std::atof(need(i).c_str());
    } else if (a == "--timeout") {
      o.timeout = std::atof(need(i).c_str());
    } else if (a == "--label") {
      o.label = need(i);
    } else if (a == "-h" || a == "--help") {
      usage();
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (o.port <= 0 && !o.print_message) usage("--port is required");
  if (o.message_file.empty() && o.event != "A28" && o.event != "A01")
    usage("--event must be A28 or A01 (or give --message-file)");
  if (o.duration <= 0 && o.messages == 0) usage("give --duration or --messages");
  o.connections = std::max(1, o.connections);
  return o;
}

// The message template with \r segment ends (files may use \n or \r\n).
std::string message_template(const Options& o) {
  std::string text;
  if (!o.message_file.empty()) {
    text = read_file(o.message_file);
  } else if (o.event == "A01") {
    text = std::string(kA01Header) + std::string(kPatientSegments) + std::string(kA01Visit);
  } else {
    text = std::string(kA28Header) + std::string(kPatientSegments) + std::string(kA28Visit);
  }
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      if (out.empty() || out.back() != '\r') out += '\r';
    } else {
      out += text[i];
    }
  }
  if (!out.empty() && out.back() != '\r') out += '\r';
  if (out.rfind("MSH", 0) != 0) usage("the message must start with MSH");
  return out;
}

// Field `n` of the segment starting at `segment` (split by `sep`; for MSH, n = MSH-(n+1)).
std::string_view field(std::string_view segment, char sep, std::size_t n) {
  segment = segment.substr(0, segment.find('\r'));
  for (std::size_t i = 0; i < n; ++i) {
    const auto p = segment.find(sep);
    if (p == std::string_view::npos) return {};
    segment.remove_prefix(p + 1);
  }
  return segment.substr(0, segment.find(sep));
}

// The segment `id` of an ER7 message, or empty.
std::string_view segment(std::string_view message, std::string_view id) {
  for (std::size_t pos = 0; pos < message.size();) {
    const auto end = message.find('\r', pos);
    const auto seg = message.substr(pos, end == std::string_view::npos ? message.npos : end - pos);
    if (seg.substr(0, 3) == id && (seg.size() == 3 || seg[3] == message[3])) return seg;
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

// ---------------------------------------------------------------------------------------
struct Shared {
  const Options* opt = nullptr;
  std::vector<std::string_view> parts;  // the template split at {{UNIQUE}}
  std::string run_id;
  Clock::time_point measure_from;
  Clock::time_point deadline;
  std::atomic<std::uint64_t> issued{0};  // measured messages handed out (for -n)
  std::atomic<bool> stop{false};
};

struct SenderResult {
  Histogram hist;                               // latencies of measured AA/CA answers
  std::uint64_t aa = 0;                         // measured AA/CA answers
  std::uint64_t aa_total = 0;                   // AA/CA answers including the warm-up
  std::uint64_t answered_total = 0;             // every answer including the warm-up
  std::uint64_t io_errors = 0;                  // connect/send/recv failures, timeouts, bad answers
  std::map<std::string, std::uint64_t> non_aa;  // non-AA answers by MSA-1 (warm-up too)
  std::uint64_t bytes_out = 0, bytes_in = 0;
  std::string first_error;
};

// One connection: connects, then send → wait for the answer → check, until told to stop.
class Sender {
 public:
  Sender(Shared& shared, int index, sockaddr_in addr)
      : sh_(shared), opt_(*shared.opt), index_(index), addr_(addr) {}

  void run() {
    std::uint64_t seq = 0;
    while (!sh_.stop) {
      if (fd_ < 0 && !connect_once()) continue;
      const auto now = Clock::now();
      if (now >= sh_.deadline) {
        sh_.stop = true;
        break;
      }
      const bool measured = now >= sh_.measure_from;
      if (measured && opt_.messages > 0 && sh_.issued.fetch_add(1) >= opt_.messages) {
        sh_.stop = true;
        break;
      }
      const std::string unique =
          opt_.duplicate ? sh_.run_id + "-dup"
                         : sh_.run_id + "-" + std::to_string(index_) + "-" + std::to_string(seq++);
      exchange(build(unique), unique, measured);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  SenderResult result;

 private:
  std::string build(const std::string& unique) const {
    std::string frame(1, kStartBlock);
    for (std::size_t k = 0; k < sh_.parts.size(); ++k) {
      if (k) frame += unique;
      frame += sh_.parts[k];
    }
    frame += kEndBlock;
    return frame;
  }

  // Sends one frame, reads one answer frame, checks and records it.
  void exchange(const std::string& frame, const std::string& unique, bool measured) {
    const auto sent_at = Clock::now();
    if (!send_all(frame)) return;
    std::string answer;
    if (!read_answer(answer)) return;
    const auto latency = Clock::now() - sent_at;
    result.bytes_out += frame.size();
    ++result.answered_total;
    const std::string_view msh = segment(answer, "MSH");
    const std::string_view msa = segment(answer, "MSA");
    if (msh.size() < 8 || msa.empty()) {
      fail("answer without MSH/MSA: " + printable(answer));
      return;
    }
    const char sep = msh[3];
    const std::string code(field(msa, sep, 1));
    const std::string_view expected_id = field(std::string_view(frame).substr(1), frame[4], 9);
    if (field(msa, sep, 2) != expected_id) {
      fail("MSA-2 '" + std::string(field(msa, sep, 2)) + "' is not the control id '" +
           std::string(expected_id) + "' (" + unique + ")");
      return;
    }
    if (code == "AA" || code == "CA") {
      ++result.aa_total;
      if (!measured) return;
      ++result.aa;
      result.hist.record(
          std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count()));
      return;
    }
    // Not stored: an error whether or not it fell in the warm-up.
    ++result.non_aa[code.empty() ? "?" : code];
    if (result.first_error.empty()) {
      const std::string_view err = segment(answer, "ERR");
      result.first_error = "MSA-1 " + code + (err.empty() ? "" : ", " + printable(err));
    }
  }

  bool send_all(const std::string& frame) {
    for (std::size_t off = 0; off < frame.size();) {
      const ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += std::size_t(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        fail(std::string("send: ") + std::strerror(errno));
        return false;
      }
    }
    return true;
  }

  // One answer frame into `answer` (unframed). Bytes after it would be a protocol error for
  // a closed-loop sender; the receiver answers each message once.
  bool read_answer(std::string& answer) {
    std::string in;
    char buf[16384];
    while (true) {
      const auto end = in.find(kEndBlock);
      if (end != std::string::npos) {
        const auto start = in.find(kStartBlock);
        if (start == std::string::npos || start > end) {
          fail("answer frame without a start block");
          return false;
        }
        if (end + kEndBlock.size() != in.size()) {
          fail("bytes after the answer frame");
          return false;
        }
        answer = in.substr(start + 1, end - start - 1);
        result.bytes_in += in.size();
        return true;
      }
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        in.append(buf, std::size_t(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n == 0) {
        fail("connection closed before the answer");
        return false;
      } else {
        fail(errno == EAGAIN || errno == EWOULDBLOCK
                 ? std::string("answer timed out")
                 : std::string("recv: ") + std::strerror(errno));
        return false;
      }
    }
  }

  // A server that is gone must not turn the run into a connect() spin: back off, and give up
  // the whole run after ~5 s of failing to connect.
  bool connect_once() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      timeval tv{};
      tv.tv_sec = static_cast<time_t>(opt_.timeout);
      tv.tv_usec = static_cast<suseconds_t>((opt_.timeout - double(tv.tv_sec)) * 1e6);
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      fd_ = fd;
      connect_failures_ = 0;
      return true;
    }
    fail(std::string("connect: ") + std::strerror(errno));
    if (fd >= 0) ::close(fd);
    if (++connect_failures_ >= 50) {
      result.first_error = "gave up: cannot connect (" + result.first_error + ")";
      sh_.stop = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Counts an I/O or protocol failure and drops the connection (the next message reconnects).
  void fail(const std::string& what) {
    ++result.io_errors;
    if (result.first_error.empty()) result.first_error = what;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  static std::string printable(std::string_view s) {
    std::string out(s.substr(0, 300));
    for (char& c : out)
      if (c == '\r' || c == '\n' || c == kStartBlock || c == '\x1c') c = ' ';
    return out;
  }

  Shared& sh_;
  const Options& opt_;
  int index_;
  sockaddr_in addr_;
  int fd_ = -1;
  int connect_failures_ = 0;
};

std::string fmt_us(std::uint64_t ns) {
  char buf[32];
  if (ns >= 10'000'000)
    std::snprintf(buf, sizeof buf, "%.1f ms", double(ns) / 1e6);
  else if (ns >= 1'000'000)
    std::snprintf(buf, sizeof buf, "%.2f ms", double(ns) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f us", double(ns) / 1e3);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::uint16_t(opt.port));
  if (::inet_pton(AF_INET, opt.host.c_str(), &addr.sin_addr) != 1) usage("--host: IPv4 address");

  const std::string message = message_template(opt);
  if (opt.print_message) {
    std::string text = message;
    std::replace(text.begin(), text.end(), '\r', '\n');
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  Shared sh;
  sh.opt = &opt;
  for (std::size_t pos = 0;;) {
    const auto m = message.find(kUnique, pos);
    sh.parts.emplace_back(std::string_view(message).substr(pos, m == message.npos ? m : m - pos));
    if (m == std::string::npos) break;
    pos = m + kUnique.size();
  }
  if (sh.parts.size() < 2) usage("the message has no {{UNIQUE}} (MSH-10 must vary)");
  {
    char id[16];
    std::snprintf(
        id, sizeof id, "%06x",
        unsigned(std::chrono::system_clock::now().time_since_epoch().count() / 1000) & 0xffffffu);
    sh.run_id = std::string("B") + id;
  }
  const auto start = Clock::now();
  sh.measure_from = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(opt.warmup));
  sh.deadline = opt.duration > 0
                    ? sh.measure_from + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(opt.duration))
                    : Clock::time_point::max() - std::chrono::hours(24 * 365);

  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < opt.connections; ++i)
    senders.push_back(std::make_unique<Sender>(sh, i, addr));
  std::vector<std::thread> threads;
  for (auto& s : senders) threads.emplace_back([&s] { s->run(); });
  for (auto& t : threads) t.join();
  const auto end = Clock::now();

  SenderResult total;
  for (auto& s : senders) {
    const SenderResult& r = s->result;
    total.hist.merge(r.hist);
    total.aa += r.aa;
    total.aa_total += r.aa_total;
    total.answered_total += r.answered_total;
    total.io_errors += r.io_errors;
    total.bytes_out += r.bytes_out;
    total.bytes_in += r.bytes_in;
    for (const auto& [code, n] : r.non_aa) total.non_aa[code] += n;
    if (total.first_error.empty()) total.first_error = r.first_error;
  }
  // Measured wall time: from the end of the warm-up to the last answer, or to the deadline in
  // a time-bound run (answers to messages sent before it still count).
  auto measured_end = end;
  if (opt.duration > 0 && measured_end > sh.deadline) measured_end = sh.deadline;
  const double secs =
      std::max(1e-9, std::chrono::duration<double>(measured_end - sh.measure_from).count());
  const double rate = double(total.aa) / secs;
  std::uint64_t non_aa = 0;
  std::string by_code, by_code_kv;
  for (const auto& [code, n] : total.non_aa) {
    non_aa += n;
    by_code += " " + code + " " + std::to_string(n);
    by_code_kv += " non_aa_" + code + "=" + std::to_string(n);
  }
  const bool flagged = non_aa > 0 || total.io_errors > 0;
  const std::string what = opt.message_file.empty() ? "ADT^" + opt.event : opt.message_file;

  std::printf("%s: MLLP %s%s, %d connections, %.2f s\n", opt.label.c_str(), what.c_str(),
              opt.duplicate ? " (one message, resent)" : "", opt.connections, secs);
  std::printf("  answers AA     %" PRIu64 "  (%.0f msgs/s; %" PRIu64 " AA incl. warm-up, %" PRIu64
              " answers in all)\n",
              total.aa, rate, total.aa_total, total.answered_total);
  std::printf("  latency        p50 %s  p90 %s  p99 %s  max %s  mean %s\n",
              fmt_us(total.hist.quantile(0.50)).c_str(), fmt_us(total.hist.quantile(0.90)).c_str(),
              fmt_us(total.hist.quantile(0.99)).c_str(), fmt_us(total.hist.max()).c_str(),
              fmt_us(std::uint64_t(total.hist.mean())).c_str());
  std::printf("  errors         non-AA %" PRIu64 "%s  io %" PRIu64 "%s\n", non_aa, by_code.c_str(),
              total.io_errors, flagged ? "   <-- RUN HAD ERRORS" : "");
  if (!total.first_error.empty()) std::printf("  first error    %s\n", total.first_error.c_str());
  std::printf(
      "RESULT label=%s method=MLLP event=%s duplicate=%d connections=%d seconds=%.3f ok=%" PRIu64
      " rps=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f"
      " non_aa=%" PRIu64 "%s io_errors=%" PRIu64 " aa_total=%" PRIu64 " answered_total=%" PRIu64
      " bytes_out=%" PRIu64 " bytes_in=%" PRIu64 "\n",
      opt.label.c_str(), opt.message_file.empty() ? opt.event.c_str() : "file",
      opt.duplicate ? 1 : 0, opt.connections, secs, total.aa, rate,
      double(total.hist.quantile(0.50)) / 1e3, double(total.hist.quantile(0.90)) / 1e3,
      double(total.hist.quantile(0.99)) / 1e3, double(total.hist.max()) / 1e3,
      total.hist.mean() / 1e3, non_aa, by_code_kv.c_str(), total.io_errors, total.aa_total,
      total.answered_total, total.bytes_out, total.bytes_in);
  return flagged ? 1 : 0;
}
