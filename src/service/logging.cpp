// The default logger: one sink per target, chosen at startup, and a log file that can
// be reopened after logrotate moved it away.

#include "poolwatch/service/logging.hpp"

#include <fcntl.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "poolwatch/common/regular_file.hpp"

namespace poolwatch {

namespace {

constexpr const char* timestamped_pattern = "%Y-%m-%d %H:%M:%S.%e [%l] %v";

OpenedFile open_log_file(const std::string& path) {
  // 0640: the log names backends and users; the group (adm) may read it. A regular file
  // only: a FIFO would hang the start-up, a link could point anywhere.
  return open_regular_file(path, O_WRONLY | O_APPEND | O_CREAT, 0640);
}

// Writes each line straight to the descriptor (no stdio buffer), so nothing is lost
// when the process is killed, and a rotation is followed by reopening the path.
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(std::string path) : path_(std::move(path)) {
    auto file = open_log_file(path_);
    if (file.fd < 0)
      throw ConfigError(fmt::format("log.file: cannot open '{}': {}", path_, file.why));
    fd_ = file.fd;
  }
  ~ReopenableFileSink() override { ::close(fd_); }
  ReopenableFileSink(const ReopenableFileSink&) = delete;
  ReopenableFileSink& operator=(const ReopenableFileSink&) = delete;

  // An error text if the path cannot be opened; the old file stays in use then.
  std::optional<std::string> reopen() {
    std::lock_guard lock(mutex_);
    auto file = open_log_file(path_);
    if (file.fd < 0) return file.why;
    ::close(fd_);
    fd_ = file.fd;
    return std::nullopt;
  }

  const std::string& path() const { return path_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // a full disk must not stop the monitor
      data += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  void flush_() override {}

 private:
  std::string path_;
  int fd_ = -1;
};

// "<6>": systemd reads the syslog priority from this prefix of a stderr line.
class JournalPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    char digit = '6';
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        digit = '7';
        break;
      case spdlog::level::info:
        digit = '6';
        break;
      case spdlog::level::warn:
        digit = '4';
        break;
      case spdlog::level::err:
        digit = '3';
        break;
      case spdlog::level::critical:
        digit = '2';
        break;
      default:
        break;
    }
    dest.push_back(digit);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalPriorityFlag>();
  }
};

bool under_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  return stream != nullptr && *stream != '\0';
}

spdlog::sink_ptr make_stderr_sink() {
  if (under_journal()) {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JournalPriorityFlag>('*').set_pattern("<%*>[%l] %v");
    sink->set_formatter(std::move(formatter));
    return sink;
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sink->set_pattern(timestamped_pattern);
  return sink;
}

std::mutex file_sink_mutex;
std::shared_ptr<ReopenableFileSink> active_file_sink;

}  // namespace

void setup_logging(const LogConfig& log, bool foreground, bool debug) {
  auto level = log_level_from_name(log.level);
  if (!level)
    throw ConfigError(fmt::format(
        "log.level: must be one of trace, debug, info, warn, error (got '{}')", log.level));
  if (debug) level = spdlog::level::debug;

  std::vector<spdlog::sink_ptr> sinks;
  std::shared_ptr<ReopenableFileSink> file_sink;
  switch (log.target) {
    case LogTarget::stderr_:
      sinks.push_back(make_stderr_sink());
      break;
    case LogTarget::syslog: {
      auto facility = syslog_facility_from_name(log.syslog_facility);
      if (!facility)
        throw ConfigError(fmt::format(
            "log.syslog_facility: must be one of daemon, mail, user, local0 ... local7 (got '{}')",
            log.syslog_facility));
      sinks.push_back(
          std::make_shared<spdlog::sinks::syslog_sink_mt>("poolwatch", LOG_PID, *facility, false));
      break;
    }
    case LogTarget::file: {
      if (log.file.empty())
        throw ConfigError("log.file: must name the file, since log.target is file");
      file_sink = std::make_shared<ReopenableFileSink>(log.file);
      file_sink->set_pattern(timestamped_pattern);
      sinks.push_back(file_sink);
      break;
    }
  }
  if ((foreground || debug) && log.target != LogTarget::stderr_ && !under_journal())
    sinks.push_back(make_stderr_sink());

  auto logger = std::make_shared<spdlog::logger>("poolwatch", sinks.begin(), sinks.end());
  logger->set_level(*level);
  logger->flush_on(spdlog::level::trace);
  {
    std::lock_guard lock(file_sink_mutex);
    active_file_sink = std::move(file_sink);
  }
  spdlog::set_default_logger(std::move(logger));
}

void reopen_log_file() {
  std::shared_ptr<ReopenableFileSink> sink;
  {
    std::lock_guard lock(file_sink_mutex);
    sink = active_file_sink;
  }
  if (!sink) return;
  if (auto error = sink->reopen())
    spdlog::error("cannot reopen log file '{}': {}; still writing to the old file", sink->path(),
                  *error);
  else
    spdlog::debug("reopened log file '{}'", sink->path());
}

}  // namespace poolwatch
