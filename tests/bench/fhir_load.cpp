// fhir_load: a small closed-loop HTTP/1.1 load generator for the clinic-gateway benchmarks.
//
// N keep-alive connections spread over T epoll threads; each connection sends one request,
// waits for the whole response, records the latency and sends the next one. Runs for a fixed
// duration and/or a bounded number of requests. Two modes:
//   GET  a list of paths, round-robin (each connection starts at a different offset);
//   POST a body to one path, with every "{{UNIQUE}}" in the body replaced by a unique value
//        per request (so identifiers never collide).
// Prints requests/s, p50/p90/p99/max latency and error counts, and a machine-readable
// "RESULT key=value ..." line for the driver (tests/bench/run_bench.py).
//
// Plain POSIX sockets + epoll + std::thread; no Boost, so it compiles in a second.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
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

// ---------------------------------------------------------------------------------------
struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string method = "GET";
  std::vector<std::string> paths;
  std::string body;
  std::string content_type = "application/fhir+json";
  std::vector<std::string> headers;
  int connections = 32;
  int threads = 2;
  double duration = 10.0;      // seconds; 0 = no time limit (then -n is required)
  std::uint64_t requests = 0;  // 0 = no count limit
  double warmup = 0.0;         // seconds of traffic not recorded
  double timeout = 30.0;       // per-request timeout (seconds) -> counted as error
  std::string save_locations;  // POST: write each 2xx response's Location header here
  std::string label = "run";
};

[[noreturn]] void usage(const char* msg = nullptr) {
  if (msg) std::fprintf(stderr, "fhir_load: %s\n", msg);
  std::fprintf(stderr,
               "usage: fhir_load --url http://HOST:PORT [options]\n"
               "  -m, --method GET|POST      (default GET)\n"
               "  -p, --path PATH            request path (repeatable; GET round-robin)\n"
               "      --paths-file FILE      one path per line\n"
               "  -b, --body-file FILE       POST body; every {{UNIQUE}} is replaced per request\n"
               "      --content-type TYPE    (default application/fhir+json)\n"
               "  -H, --header 'K: V'        extra header (repeatable)\n"
               "  -c, --connections N        concurrent keep-alive connections (default 32)\n"
               "  -t, --threads N            epoll threads (default 2)\n"
               "  -d, --duration SEC         measured duration (default 10; 0 = until -n)\n"
               "  -n, --requests N           stop after N measured requests (bound)\n"
               "      --warmup SEC           unrecorded warm-up traffic first (default 0)\n"
               "      --timeout SEC          per-request timeout, counted as error (default 30)\n"
               "      --save-locations FILE  write Location headers of 2xx responses\n"
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
    std::string a = argv[i];
    if (a == "--url") {
      std::string url = need(i);
      if (url.rfind("http://", 0) != 0) usage("only http:// URLs");
      url = url.substr(7);
      auto slash = url.find('/');
      std::string hostport = url.substr(0, slash);
      auto colon = hostport.rfind(':');
      if (colon == std::string::npos) usage("URL needs a port");
      o.host = hostport.substr(0, colon);
      o.port = std::atoi(hostport.c_str() + colon + 1);
    } else if (a == "-m" || a == "--method") {
      o.method = need(i);
    } else if (a == "-p" || a == "--path") {
      o.paths.push_back(need(i));
    } else if (a == "--paths-file") {
      std::istringstream ss(read_file(need(i)));
      for (std::string line; std::getline(ss, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) o.paths.push_back(line);
      }
    } else if (a == "-b" || a == "--body-file") {
      o.body = read_file(need(i));
    } else if (a == "--content-type") {
      o.content_type = need(i);
    } else if (a == "-H" || a == "--header") {
      o.headers.push_back(need(i));
    } else if (a == "-c" || a == "--connections") {
      o.connections = std::atoi(need(i).c_str());
    } else if (a == "-t" || a == "--threads") {
      o.threads = std::atoi(need(i).c_str());
    } else if (a == "-d" || a == "--duration") {
      o.duration = std::atof(need(i).c_str());
    } else if (a == "-n" || a == "--requests") {
      o.requests = std::strtoull(need(i).c_str(), nullptr, 10);
    } else if (a == "--warmup") {
      o.warmup = std::atof(need(i).c_str());
    } else if (a == "--timeout") {
      o.timeout = std::atof(need(i).c_str());
    } else if (a == "--save-locations") {
      o.save_locations = need(i);
    } else if (a == "--label") {
      o.label = need(i);
    } else if (a == "-h" || a == "--help") {
      usage();
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (o.port <= 0) usage("--url is required");
  if (o.paths.empty()) usage("at least one --path is required");
  if (o.method != "GET" && o.method != "POST") usage("method must be GET or POST");
  if (o.method == "POST" && o.body.empty()) usage("POST needs --body-file");
  if (o.duration <= 0 && o.requests == 0) usage("give --duration or --requests");
  o.connections = std::max(1, o.connections);
  o.threads = std::clamp(o.threads, 1, o.connections);
  return o;
}

// ---------------------------------------------------------------------------------------
// Shared run state.
struct Shared {
  const Options* opt = nullptr;
  Clock::time_point start;
  Clock::time_point measure_from;        // start + warmup
  Clock::time_point deadline;            // measure_from + duration (or max)
  std::atomic<std::uint64_t> issued{0};  // measured requests handed out (for -n)
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> unique{0};
  std::string run_id;
  std::mutex loc_mutex;
  std::vector<std::string> locations;
};

struct ThreadResult {
  Histogram hist;               // 2xx latencies
  std::uint64_t ok = 0;         // 2xx
  std::uint64_t non2xx = 0;     // complete responses with another status
  std::uint64_t io_errors = 0;  // connect/read/write failures, parse failures, timeouts
  std::uint64_t reconnects = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t status_counts[6] = {0, 0, 0, 0, 0, 0};
  std::string first_error;
};

struct Conn {
  int fd = -1;
  std::size_t path_index = 0;
  std::string out;
  std::size_t out_off = 0;
  std::string in;
  Clock::time_point sent_at;
  bool measured = false;  // this request counts towards results
  bool busy = false;
  bool want_out = false;  // EPOLLOUT armed
  // response parse state
  bool headers_done = false;
  int status = 0;
  std::size_t header_len = 0;
  long long content_length = -1;
  bool chunked = false;
  bool close_after = false;
  std::string location;
};

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(name[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

class Worker {
 public:
  Worker(Shared& shared, int id, int nconns, sockaddr_in addr)
      : sh_(shared), opt_(*shared.opt), id_(id), addr_(addr) {
    conns_.resize(std::size_t(nconns));
    build_static_headers();
  }

  void run() {
    ep_ = epoll_create1(0);
    if (ep_ < 0) {
      fail("epoll_create1 failed");
      return;
    }
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].path_index = (std::size_t(id_) * 7919 + i * 104729) % opt_.paths.size();
      if (!connect_conn(i)) continue;
      start_request(i);
    }
    std::vector<epoll_event> events(conns_.size() + 1);
    while (true) {
      const auto now = Clock::now();
      if (now >= sh_.deadline) sh_.stop = true;
      if (sh_.stop && active() == 0) break;
      if (sh_.stop && now >= sh_.deadline + std::chrono::duration<double>(opt_.timeout)) break;
      check_timeouts(now);
      int n = epoll_wait(ep_, events.data(), int(events.size()), 20);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("epoll_wait failed");
        break;
      }
      for (int k = 0; k < n; ++k) {
        const std::size_t i = events[k].data.u64;
        if (events[k].events & EPOLLOUT) on_writable(i);
        if (events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(i);
      }
      // Connections that could not start (e.g. reconnect failed) are retried here.
      if (!sh_.stop) {
        for (std::size_t i = 0; i < conns_.size(); ++i)
          if (!conns_[i].busy && conns_[i].fd < 0 && connect_conn(i)) start_request(i);
      }
    }
    for (auto& c : conns_)
      if (c.fd >= 0) ::close(c.fd);
    ::close(ep_);
  }

  ThreadResult result;
  std::vector<std::string> locations;

 private:
  std::size_t active() const {
    std::size_t n = 0;
    for (const auto& c : conns_) n += c.busy ? 1 : 0;
    return n;
  }

  void fail(const std::string& what) {
    ++result.io_errors;
    if (result.first_error.empty()) result.first_error = what;
  }

  void build_static_headers() {
    std::string h = "Host: " + opt_.host + ":" + std::to_string(opt_.port) + "\r\n";
    h += "User-Agent: fhir_load\r\n";
    h += "Accept: application/fhir+json\r\n";
    for (const auto& x : opt_.headers) h += x + "\r\n";
    static_headers_ = h;
    // Pre-split the body at the {{UNIQUE}} markers.
    if (opt_.method == "POST") {
      std::string_view b = opt_.body;
      constexpr std::string_view marker = "{{UNIQUE}}";
      std::size_t pos = 0;
      while (true) {
        auto m = b.find(marker, pos);
        body_parts_.emplace_back(b.substr(pos, m == std::string_view::npos ? b.npos : m - pos));
        if (m == std::string_view::npos) break;
        pos = m + marker.size();
      }
    }
  }

  bool connect_conn(std::size_t i) {
    Conn& c = conns_[i];
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      fail(std::string("socket: ") + std::strerror(errno));
      return false;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0) {
      fail(std::string("connect: ") + std::strerror(errno));
      ::close(fd);
      // A server that is gone must not turn the run into a connect() spin: back off, and
      // give up the whole run after ~5 s of failing to connect at all.
      if (++connect_failures_ >= 50) {
        if (result.first_error.rfind("gave up", 0) != 0)
          result.first_error = "gave up: cannot connect (" + result.first_error + ")";
        sh_.stop = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      return false;
    }
    connect_failures_ = 0;
    // Blocking connect on loopback, then non-blocking for the run.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      fail("epoll_ctl add failed");
      ::close(fd);
      return false;
    }
    c.fd = fd;
    c.want_out = false;
    c.in.clear();
    return true;
  }

  void drop_conn(std::size_t i) {
    Conn& c = conns_[i];
    if (c.fd >= 0) {
      ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = -1;
    c.busy = false;
    c.in.clear();
    ++result.reconnects;
  }

  void start_request(std::size_t i) {
    Conn& c = conns_[i];
    if (sh_.stop) return;
    const auto now = Clock::now();
    if (now >= sh_.deadline) {
      sh_.stop = true;
      return;
    }
    c.measured = now >= sh_.measure_from;
    if (c.measured && opt_.requests > 0) {
      if (sh_.issued.fetch_add(1) >= opt_.requests) {
        sh_.stop = true;
        return;
      }
    }
    const std::string& path = opt_.paths[c.path_index];
    c.path_index = (c.path_index + 1) % opt_.paths.size();
    c.out.clear();
    c.out += opt_.method;
    c.out += ' ';
    c.out += path;
    c.out += " HTTP/1.1\r\n";
    c.out += static_headers_;
    if (opt_.method == "POST") {
      const std::string uniq = sh_.run_id + "-" + std::to_string(sh_.unique.fetch_add(1));
      std::string body;
      for (std::size_t k = 0; k < body_parts_.size(); ++k) {
        if (k) body += uniq;
        body += body_parts_[k];
      }
      c.out += "Content-Type: " + opt_.content_type + "\r\n";
      c.out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
      c.out += body;
    } else {
      c.out += "\r\n";
    }
    c.out_off = 0;
    c.in.clear();
    c.headers_done = false;
    c.status = 0;
    c.header_len = 0;
    c.content_length = -1;
    c.chunked = false;
    c.close_after = false;
    c.location.clear();
    c.busy = true;
    c.sent_at = Clock::now();
    on_writable(i);
  }

  void on_writable(std::size_t i) {
    Conn& c = conns_[i];
    if (!c.busy || c.fd < 0) return;
    while (c.out_off < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += std::size_t(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (c.want_out) return;
        c.want_out = true;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = i;
        ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
        return;
      }
      if (n < 0 && errno == EINTR) continue;
      fail(std::string("send: ") + std::strerror(errno));
      reconnect_and_continue(i);
      return;
    }
    if (c.want_out) {  // only touch epoll when a partial write armed EPOLLOUT
      c.want_out = false;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }
  }

  void reconnect_and_continue(std::size_t i) {
    drop_conn(i);
    if (sh_.stop) return;
    if (connect_conn(i)) start_request(i);
  }

  void on_readable(std::size_t i) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    char buf[65536];
    while (true) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, std::size_t(n));
        result.bytes_in += std::uint64_t(n);
        if (std::size_t(n) < sizeof buf) break;
        continue;
      }
      if (n == 0) {  // peer closed
        if (c.busy) fail("connection closed by server mid-request");
        reconnect_and_continue(i);
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      if (c.busy) fail(std::string("recv: ") + std::strerror(errno));
      reconnect_and_continue(i);
      return;
    }
    if (!c.busy) return;
    int done = try_parse(c);
    if (done < 0) {
      fail("unparseable response");
      reconnect_and_continue(i);
      return;
    }
    if (done == 0) return;
    complete(i);
  }

  // 1 = complete response in c.in, 0 = need more, -1 = broken.
  static int try_parse(Conn& c) {
    if (!c.headers_done) {
      auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) return c.in.size() > (1u << 20) ? -1 : 0;
      c.header_len = end + 4;
      std::string_view head(c.in.data(), end);
      auto eol = head.find("\r\n");
      std::string_view status_line = head.substr(0, eol);
      if (status_line.size() < 12 || status_line.rfind("HTTP/1.", 0) != 0) return -1;
      c.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
      std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
      while (pos < head.size()) {
        auto next = head.find("\r\n", pos);
        std::string_view line =
            head.substr(pos, next == std::string_view::npos ? head.npos : next - pos);
        pos = next == std::string_view::npos ? head.size() : next + 2;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (iequals_prefix(name, "content-length") && name.size() == 14) {
          c.content_length = std::atoll(std::string(value).c_str());
        } else if (iequals_prefix(name, "transfer-encoding") && name.size() == 17) {
          if (value.find("chunked") != std::string_view::npos) c.chunked = true;
        } else if (iequals_prefix(name, "connection") && name.size() == 10) {
          if (iequals_prefix(value, "close")) c.close_after = true;
        } else if (iequals_prefix(name, "location") && name.size() == 8) {
          c.location = std::string(value);
        }
      }
      c.headers_done = true;
      if (!c.chunked && c.content_length < 0) {
        // 1xx/204/304 have no body; otherwise body runs to close (unsupported here).
        if (c.status == 204 || c.status == 304 || c.status < 200)
          c.content_length = 0;
        else
          return -1;
      }
    }
    if (!c.chunked) {
      return c.in.size() >= c.header_len + std::size_t(c.content_length) ? 1 : 0;
    }
    // Chunked: walk the chunks from the start of the body each time (responses are small).
    std::size_t pos = c.header_len;
    while (true) {
      auto eol = c.in.find("\r\n", pos);
      if (eol == std::string::npos) return 0;
      const unsigned long size = std::strtoul(c.in.c_str() + pos, nullptr, 16);
      pos = eol + 2;
      if (size == 0) {
        // trailers end with an empty line
        auto end = c.in.find("\r\n", pos);
        if (end == std::string::npos) return 0;
        if (end == pos) return 1;
        auto tend = c.in.find("\r\n\r\n", pos);
        return tend == std::string::npos ? 0 : 1;
      }
      if (c.in.size() < pos + size + 2) return 0;
      pos += size + 2;
    }
  }

  void complete(std::size_t i) {
    Conn& c = conns_[i];
    const auto now = Clock::now();
    c.busy = false;
    if (c.measured) {
      const int cls = std::clamp(c.status / 100, 0, 5);
      ++result.status_counts[cls];
      if (c.status >= 200 && c.status < 300) {
        ++result.ok;
        result.hist.record(std::uint64_t(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.sent_at).count()));
        if (!opt_.save_locations.empty() && !c.location.empty()) locations.push_back(c.location);
      } else {
        ++result.non2xx;
        if (result.first_error.empty()) {
          std::string body = c.in.substr(c.header_len, 300);
          for (char& ch : body)
            if (ch == '\n' || ch == '\r') ch = ' ';
          result.first_error = "HTTP " + std::to_string(c.status) + ": " + body;
        }
      }
    }
    if (c.close_after) {
      drop_conn(i);
      if (sh_.stop) return;
      if (!connect_conn(i)) return;
    }
    start_request(i);
  }

  void check_timeouts(Clock::time_point now) {
    const auto limit = std::chrono::duration<double>(opt_.timeout);
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.busy && now - c.sent_at > limit) {
        fail("request timed out");
        reconnect_and_continue(i);
      }
    }
  }

  Shared& sh_;
  const Options& opt_;
  int id_;
  sockaddr_in addr_;
  int ep_ = -1;
  std::vector<Conn> conns_;
  std::string static_headers_;
  std::vector<std::string> body_parts_;
  int connect_failures_ = 0;
};

}  // namespace

namespace {

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
  if (::inet_pton(AF_INET, opt.host.c_str(), &addr.sin_addr) != 1) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(opt.host.c_str(), nullptr, &hints, &res) != 0 || !res)
      usage("cannot resolve host");
    addr.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
    ::freeaddrinfo(res);
  }

  Shared sh;
  sh.opt = &opt;
  {
    char id[32];
    std::snprintf(id, sizeof id, "%x%x", unsigned(::getpid()),
                  unsigned(std::chrono::system_clock::now().time_since_epoch().count() & 0xffffff));
    sh.run_id = id;
  }
  sh.start = Clock::now();
  sh.measure_from = sh.start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(opt.warmup));
  sh.deadline = opt.duration > 0
                    ? sh.measure_from + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(opt.duration))
                    : Clock::time_point::max() - std::chrono::hours(24 * 365);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < opt.threads; ++t) {
    const int n = opt.connections / opt.threads + (t < opt.connections % opt.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(sh, t, n, addr));
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  for (auto& th : threads) th.join();
  const auto end = Clock::now();

  ThreadResult total;
  for (auto& w : workers) {
    const ThreadResult& r = w->result;
    total.hist.merge(r.hist);
    total.ok += r.ok;
    total.non2xx += r.non2xx;
    total.io_errors += r.io_errors;
    total.reconnects += r.reconnects;
    total.bytes_in += r.bytes_in;
    for (int k = 0; k < 6; ++k) total.status_counts[k] += r.status_counts[k];
    if (total.first_error.empty()) total.first_error = r.first_error;
  }
  // Measured wall time: from the end of warm-up to the moment the last response arrived
  // (or the deadline, whichever is earlier when the run was time-bound).
  auto measured_end = end;
  if (opt.duration > 0 && measured_end > sh.deadline) measured_end = sh.deadline;
  const double secs =
      std::max(1e-9, std::chrono::duration<double>(measured_end - sh.measure_from).count());
  // In a time-bound run, responses that arrive after the deadline are still counted in the
  // histogram (they were sent inside the window); rate uses completed 2xx over the window.
  const double rps = double(total.ok) / secs;

  if (!opt.save_locations.empty()) {
    std::ofstream out(opt.save_locations);
    for (auto& w : workers)
      for (auto& l : w->locations) out << l << "\n";
  }

  const bool flagged = total.non2xx > 0 || total.io_errors > 0;
  std::printf("%s: %s %zu path(s), %d connections, %d threads, %.2f s\n", opt.label.c_str(),
              opt.method.c_str(), opt.paths.size(), opt.connections, opt.threads, secs);
  std::printf("  requests 2xx   %" PRIu64 "  (%.0f req/s, %.1f MB/s in)\n", total.ok, rps,
              double(total.bytes_in) / secs / 1e6);
  std::printf("  latency        p50 %s  p90 %s  p99 %s  max %s  mean %s\n",
              fmt_us(total.hist.quantile(0.50)).c_str(), fmt_us(total.hist.quantile(0.90)).c_str(),
              fmt_us(total.hist.quantile(0.99)).c_str(), fmt_us(total.hist.max()).c_str(),
              fmt_us(std::uint64_t(total.hist.mean())).c_str());
  std::printf("  errors         non-2xx %" PRIu64 " (3xx %" PRIu64 " 4xx %" PRIu64 " 5xx %" PRIu64
              ")  io %" PRIu64 "  reconnects %" PRIu64 "%s\n",
              total.non2xx, total.status_counts[3], total.status_counts[4], total.status_counts[5],
              total.io_errors, total.reconnects, flagged ? "   <-- RUN HAD ERRORS" : "");
  if (!total.first_error.empty()) std::printf("  first error    %s\n", total.first_error.c_str());
  std::printf("RESULT label=%s method=%s connections=%d seconds=%.3f ok=%" PRIu64
              " rps=%.1f "
              "p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f non2xx=%" PRIu64
              " io_errors=%" PRIu64 "\n",
              opt.label.c_str(), opt.method.c_str(), opt.connections, secs, total.ok, rps,
              double(total.hist.quantile(0.50)) / 1e3, double(total.hist.quantile(0.90)) / 1e3,
              double(total.hist.quantile(0.99)) / 1e3, double(total.hist.max()) / 1e3,
              total.hist.mean() / 1e3, total.non2xx, total.io_errors);
  return flagged ? 1 : 0;
}
