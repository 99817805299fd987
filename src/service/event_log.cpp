#include "poolwatch/service/event_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "poolwatch/common/regular_file.hpp"
#include "poolwatch/common/text.hpp"

namespace poolwatch {

namespace {

std::string rfc3339_utc(std::chrono::system_clock::time_point ts) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ts.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(ms / 1000);
  auto millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, millis);
}

}  // namespace

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '"')
        out += "\\\"";
      else if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else if (c == '\t')
        out += "\\t";
      else if (c < 0x20 || c == 0x7F)
        out += fmt::format("\\u{:04x}", c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    auto len = utf8_sequence_length(text, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for each byte that is not UTF-8
      ++i;
    } else if (len == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      // A C1 control is valid JSON, but raw it would reach the terminal of whoever
      // reads the file with cat or jq -r.
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
      i += len;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  out += '"';
  return out;
}

std::string to_json_line(const Event& e) {
  std::string out =
      fmt::format("{{\"ts\":\"{}\",\"event\":{}", rfc3339_utc(e.ts), json_quote(e.event));
  auto field = [&out](std::string_view name, const std::string& value) {
    if (!value.empty()) out += fmt::format(",\"{}\":{}", name, json_quote(value));
  };
  field("backend", e.backend);
  field("protocol", e.protocol);
  field("from", e.from);
  field("to", e.to);
  field("action", e.action);
  field("result", e.result);
  field("reason", e.reason);
  out += '}';
  return out;
}

EventLog::EventLog(std::string path) : path_(std::move(path)) {
  if (!path_.empty()) open();
}

EventLog::~EventLog() {
  if (fd_ >= 0) ::close(fd_);
}

bool EventLog::open() {
  // A regular file only: a FIFO would hang the start-up, a link could point anywhere.
  const auto file = open_regular_file(path_, O_WRONLY | O_APPEND | O_CREAT, 0640);
  fd_ = file.fd;
  if (fd_ < 0) {
    spdlog::error("event log: cannot open {}: {}", path_, file.why);
    return false;
  }
  failing_ = false;
  return true;
}

bool EventLog::reopen() {
  if (path_.empty()) return false;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return open();
}

bool EventLog::write(const Event& event) {
  recent_.push_back(event);
  if (recent_.size() > kRecent) recent_.pop_front();
  if (fd_ < 0) return false;
  auto line = to_json_line(event) + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    auto n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!failing_)
        spdlog::error("event log: write to {} failed: {}", path_,
                      n < 0 ? std::strerror(errno) : "nothing written");
      failing_ = true;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (failing_) spdlog::info("event log: writing to {} again", path_);
  failing_ = false;
  return true;
}

void EventLog::transition(std::chrono::system_clock::time_point ts, std::string_view backend,
                          std::string_view protocol, std::string_view from, std::string_view to,
                          std::string_view reason) {
  Event e;
  e.ts = ts;
  e.event = "transition";
  e.backend = backend;
  e.protocol = protocol;
  e.from = from;
  e.to = to;
  e.reason = reason;
  write(e);
}

void EventLog::action(std::chrono::system_clock::time_point ts, std::string_view action,
                      std::string_view backend, std::string_view result, std::string_view reason) {
  Event e;
  e.ts = ts;
  e.event = "action";
  e.action = action;
  e.backend = backend;
  e.result = result;
  e.reason = reason;
  write(e);
}

void EventLog::suppressed(std::chrono::system_clock::time_point ts, std::string_view action,
                          std::string_view backend, std::string_view reason) {
  Event e;
  e.ts = ts;
  e.event = "suppressed";
  e.action = action;
  e.backend = backend;
  e.reason = reason;
  write(e);
}

}  // namespace poolwatch
