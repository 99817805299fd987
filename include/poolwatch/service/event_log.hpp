#pragma once
// An append-only JSON-lines audit trail: one line per health state transition and per
// director action sent or suppressed, so an operator can reconstruct who did what and
// why. Writing never throws: a full disk must not stop the monitor.

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace poolwatch {

struct Event {
  std::chrono::system_clock::time_point ts;
  std::string event;  // "transition", "action" or "suppressed"
  std::string backend;
  // Empty fields are left out of the line.
  std::string protocol;
  std::string from;
  std::string to;
  std::string action;
  std::string result;
  std::string reason;
};

// The JSON line for an event, without the trailing LF. ts is RFC 3339 UTC with
// milliseconds; strings are valid JSON even when a reason carries bytes from a peer
// (control characters escaped, invalid UTF-8 replaced by U+FFFD).
std::string to_json_line(const Event& event);
// A JSON string literal (with the quotes) for arbitrary bytes, as described above.
std::string json_quote(std::string_view text);

class EventLog {
 public:
  // Opens (creating with mode 0640) for appending. An empty path disables the log; a
  // path that cannot be opened is logged and retried on reopen().
  explicit EventLog(std::string path);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void transition(std::chrono::system_clock::time_point ts, std::string_view backend,
                  std::string_view protocol, std::string_view from, std::string_view to,
                  std::string_view reason);
  void action(std::chrono::system_clock::time_point ts, std::string_view action,
              std::string_view backend, std::string_view result, std::string_view reason);
  void suppressed(std::chrono::system_clock::time_point ts, std::string_view action,
                  std::string_view backend, std::string_view reason);
  // Writes one line with a single append, so concurrent writers never interleave.
  // False when the log is disabled or the write failed (already logged).
  bool write(const Event& event);

  // Closes and opens the path again, for log rotation on SIGHUP. False on failure.
  bool reopen();
  bool is_open() const { return fd_ >= 0; }
  // The newest events written, oldest first, at most kRecent: kept in memory whether or
  // not the file is open or writable, for the status page.
  static constexpr std::size_t kRecent = 50;
  const std::deque<Event>& recent() const { return recent_; }
  const std::string& path() const { return path_; }

 private:
  bool open();
  std::string path_;
  int fd_ = -1;
  bool failing_ = false;  // only the first of a run of write errors is logged
  std::deque<Event> recent_;
};

}  // namespace poolwatch
