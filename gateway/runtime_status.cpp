#include "gateway/runtime_status.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "gateway/data_dir.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

std::int64_t int_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : 0;
}

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

const json::array* array_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

}  // namespace

std::string runtime_status_json(const RuntimeStatus& s) {
  json::array listeners;
  for (const auto& l : s.listeners) {
    listeners.push_back(
        json::object{{"name", l.name}, {"address", l.address}, {"port", l.port}, {"tls", l.tls}});
  }
  json::array errors;
  for (const auto& e : s.recent_errors) {
    errors.push_back(json::object{{"at_ms", e.at_ms}, {"message", e.message}});
  }
  json::object o{{"pid", static_cast<std::int64_t>(s.pid)},
                 {"version", s.version},
                 {"node_name", s.node_name},
                 {"started_ms", s.started_ms},
                 {"updated_ms", s.updated_ms},
                 {"listeners", std::move(listeners)},
                 {"recent_errors", std::move(errors)}};
  return json::serialize(o) + "\n";
}

Result<RuntimeStatus> parse_runtime_status(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return Error::invalid("not a JSON object");
  const json::object& o = value.as_object();
  RuntimeStatus s;
  s.pid = static_cast<long>(int_of(o, "pid"));
  s.version = text_of(o, "version");
  s.node_name = text_of(o, "node_name");
  s.started_ms = int_of(o, "started_ms");
  s.updated_ms = int_of(o, "updated_ms");
  if (s.pid <= 0 || s.updated_ms <= 0) return Error::invalid("no pid or update time");
  if (const auto* listeners = array_of(o, "listeners")) {
    for (const auto& item : *listeners) {
      if (!item.is_object()) continue;
      const auto& l = item.as_object();
      const auto* tls = l.if_contains("tls");
      s.listeners.push_back({text_of(l, "name"), text_of(l, "address"),
                             static_cast<int>(int_of(l, "port")),
                             tls && tls->is_bool() && tls->as_bool()});
    }
  }
  if (const auto* errors = array_of(o, "recent_errors")) {
    for (const auto& item : *errors) {
      if (!item.is_object()) continue;
      s.recent_errors.push_back(
          {int_of(item.as_object(), "at_ms"), text_of(item.as_object(), "message")});
    }
  }
  return s;
}

Status write_runtime_status(const std::filesystem::path& data_dir, const RuntimeStatus& status) {
  const auto file = data_dir / kStatusFile;
  const auto temporary = data_dir / (std::string(kStatusFile) + ".tmp");
  const std::string text = runtime_status_json(status);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error::unavailable("cannot write " + temporary.string() + ": " + std::strerror(errno));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), file.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return Error::unavailable("cannot write " + file.string());
  }
  return ok_status();
}

Result<RuntimeStatus> read_runtime_status(const std::filesystem::path& data_dir) {
  std::ifstream in(data_dir / kStatusFile, std::ios::binary);
  if (!in) return Error::not_found("no " + std::string(kStatusFile));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_runtime_status(text.str());
}

ScheduledWorker::Task runtime_status_task(std::filesystem::path data_dir, RuntimeStatus status) {
  auto failed_before = std::make_shared<bool>(false);
  return [data_dir = std::move(data_dir), status = std::move(status),
          failed_before](std::stop_token) mutable {
    status.updated_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    status.recent_errors = recent_errors();
    const Status written = write_runtime_status(data_dir, status);
    if (!written && !*failed_before) {
      log(kWarning, "status file: " + written.error().message);  // not itself in the ring
    }
    *failed_before = !written;
    return ScheduledWorker::Clock::now() + std::chrono::seconds(60);
  };
}

}  // namespace cg::gateway
