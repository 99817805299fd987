#pragma once
// The faults FakeDirector can answer a command with instead of executing it, and the
// queue that decides which command meets which fault. Pure; FakeDirector locks it.

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolwatch::testing {

struct DirectorFault {
  enum class Kind {
    reply_with,
    reply_lines,
    ignore,
    close_connection,
    endless_line,
    close_after,
    stall_after,
    stop_reading
  };
  Kind kind = Kind::reply_with;
  std::string line;                // the reply, for reply_with only
  std::vector<std::string> lines;  // the reply, for reply_lines only
  std::size_t bytes = 0;           // how much of the reply is sent, for *_after only

  // Answers with this line instead of executing the command (e.g. "FAIL",
  // "Ring sync timed out", "TRYAGAIN", "host is already being updated - try again later").
  static DirectorFault reply_with(std::string line);
  // Answers with these lines, each sent with its LF (a list reply must end with an empty
  // line of its own: {"line", ""}).
  static DirectorFault reply_lines(std::vector<std::string> lines);
  // Records the command and never answers it (the connection stays open).
  static DirectorFault ignore();
  // Closes the connection without replying.
  static DirectorFault close_connection();
  // Answers with an endless line (no LF) until the client disconnects.
  static DirectorFault endless_line();
  // Executes the command but sends only the first `bytes` bytes of its reply (LFs
  // included), then closes the connection, or with stall_after keeps it open and says
  // nothing more. A cut at or past the reply's end sends it whole and then closes or
  // stalls.
  static DirectorFault close_after(std::size_t bytes);
  static DirectorFault stall_after(std::size_t bytes);
  // Executes the command, shuts its receiving side (the client's next write fails at
  // once, as when a director closes between the client's check of an idle connection
  // and its write), answers, and keeps the connection open, reading nothing more.
  static DirectorFault stop_reading();
};

// Faults in the order they were queued. A command takes the oldest one that applies to
// it: an untargeted fault applies to every command, a targeted one only to commands
// whose verb (the text before the first TAB) equals its verb.
class DirectorFaultQueue {
 public:
  // Throws std::invalid_argument for an empty verb or one with a TAB, LF or space.
  void push_for(std::string_view verb, DirectorFault fault);
  void push_for_any(DirectorFault fault);
  // Removes and returns the fault `command` (a request line without LF) meets, if any.
  std::optional<DirectorFault> take(std::string_view command);
  std::size_t size() const { return faults_.size(); }
  void clear() { faults_.clear(); }

 private:
  struct Queued {
    std::optional<std::string> verb;  // nullopt: any command
    DirectorFault fault;
  };
  std::deque<Queued> faults_;
};

}  // namespace poolwatch::testing
