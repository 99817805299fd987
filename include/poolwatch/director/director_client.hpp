#pragma once
// A client for the director-admin UNIX socket. It keeps one connection, sends one
// command at a time (the director silently drops pipelined lines while a command waits
// for ring sync), reconnects lazily with capped exponential backoff, and reports every
// I/O problem as a reply value instead of throwing. A connection the director closed
// while it was idle is replaced before a command is written into it; a command is sent
// a second time only when not one byte of it reached the director.
//
// All methods must be called from the single thread that runs the client's executor.
// The client must outlive the coroutines that use it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/common/line_buffer.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/director/director_list.hpp"
#include "poolwatch/director/director_protocol.hpp"
#include "poolwatch/director/pool.hpp"

namespace poolwatch {

struct HostListResult {
  std::optional<PoolSnapshot> pool;
  std::string error;  // set when pool is empty
  // Lines the parser dropped (an address listed twice, one that cannot be a backend),
  // already logged by the client.
  std::vector<std::string> warnings;
};

struct DirectorListResult {
  std::optional<director::DirectorList> list;  // parsed; nullopt on any failure
  std::string error;                           // why, for the log
};

class DirectorClient {
 public:
  using Clock = std::chrono::steady_clock;

  DirectorClient(boost::asio::any_io_executor executor, DirectorConfig config);
  DirectorClient(const DirectorClient&) = delete;
  DirectorClient& operator=(const DirectorClient&) = delete;

  // Each command waits for its turn (unbounded; bound it with `op || timer` if needed),
  // connects if necessary within connect_timeout, then has command_timeout for writing
  // the line and reading the whole reply. A caller that cancels mid-reply loses the
  // connection (its reply would otherwise be read as the next command's).
  boost::asio::awaitable<HostListResult> host_list();
  // The director's view of its ring. A reply line longer than
  // director::kMaxDirectorListLine, more than kMaxDirectorListLines lines, or a line the
  // parser refuses (an error line instead of a list, too) fails it and, the rest of the
  // reply being unread, closes the connection.
  boost::asio::awaitable<DirectorListResult> director_list();
  boost::asio::awaitable<DirectorReply> host_down(const IpAddress& host);
  boost::asio::awaitable<DirectorReply> host_up(const IpAddress& host);
  boost::asio::awaitable<DirectorReply> host_flush(const IpAddress& host);
  boost::asio::awaitable<DirectorReply> host_reset_users(const IpAddress& host);
  // The address is taken by value: the coroutine may start after the caller's
  // temporary is gone.
  boost::asio::awaitable<DirectorReply> send(director::HostCommand command, IpAddress host);

  // Refuses new commands, waits up to `grace` for the command in flight to get its reply
  // (closing before the reply crashes directors 2.2.33-2.3.2), then closes the socket.
  // Commands still queued get no_reply.
  boost::asio::awaitable<void> shutdown(std::chrono::milliseconds grace);

  bool connected() const { return socket_.is_open(); }
  // Successful connections made after the first one.
  std::uint64_t reconnects() const { return reconnects_; }
  // Why the last command or connection attempt failed; empty after success.
  const std::string& last_error() const { return last_error_; }
  // The wait imposed after the most recent failed connection attempt (zero when none).
  std::chrono::milliseconds current_backoff() const { return backoff_; }
  const DirectorConfig& config() const { return config_; }

 private:
  struct TurnQueue;
  struct Exchange;
  class Turn;
  enum class ReplyShape { one_line, host_list, director_list };

  // Waits until no other command is in flight. False when cancelled, or still queued
  // at give_up_at.
  boost::asio::awaitable<bool> acquire_turn(
      Clock::time_point give_up_at = Clock::time_point::max());
  boost::asio::awaitable<Exchange> exchange(std::string line, ReplyShape shape);
  // Writes a command line; nullopt on success, else the reason (the connection closed).
  // On a `reused` connection that refused the first byte, reconnects and writes it once
  // more.
  boost::asio::awaitable<std::optional<std::string>> write_command(
      std::string_view line, bool reused, boost::asio::steady_timer& deadline,
      std::string_view timeout_text);
  // Reads the reply to the command just written, before `deadline` expires.
  boost::asio::awaitable<Exchange> read_reply(ReplyShape shape, boost::asio::steady_timer& deadline,
                                              std::string_view timeout_text);
  // Feeds reply lines to `parser` (HostListParser, DirectorListParser) up to the list's
  // end. nullopt when it is complete; otherwise the connection is closed and the reply
  // says why: no_reply, or error for a line the parser refused.
  template <typename Parser>
  boost::asio::awaitable<std::optional<DirectorReply>> read_list(
      Parser& parser, boost::asio::steady_timer& deadline, std::string_view timeout_text);

  // Closes an idle connection that cannot carry a command: the director closed it, or
  // sent something unasked that the next reply would be mistaken for.
  void drop_if_hung_up();
  // nullopt when connected; otherwise the reason there is no connection.
  boost::asio::awaitable<std::optional<std::string>> ensure_connected();
  boost::asio::awaitable<std::optional<std::string>> connect_and_handshake();
  // Reads one line, of at most lines_.max_line() bytes, before `deadline` expires. On
  // failure closes the connection and returns nullopt with the reason in `error`.
  boost::asio::awaitable<std::optional<std::string>> read_line(boost::asio::steady_timer& deadline,
                                                               std::string_view timeout_text,
                                                               std::string& error);
  // nullopt on success; otherwise closes the connection and returns the reason, and
  // sets *nothing_sent when the socket refused the very first byte (so the director
  // cannot have seen any of it).
  boost::asio::awaitable<std::optional<std::string>> write_all(std::string_view bytes,
                                                               boost::asio::steady_timer& deadline,
                                                               std::string_view timeout_text,
                                                               bool* nothing_sent = nullptr);
  void close(const std::string& reason, bool expected = false);
  void note_connect_failure(const std::string& reason);
  // Logs what HOST-LIST dropped: a warning when it differs from the previous HOST-LIST's,
  // so a director that keeps listing a host twice is not reported every scan.
  void log_host_list_warnings(const std::vector<std::string>& warnings);

  boost::asio::any_io_executor executor_;
  DirectorConfig config_;
  boost::asio::local::stream_protocol::socket socket_;
  LineBuffer lines_{director::kMaxReplyLine};

  // Shared with the Turn guards in suspended coroutine frames, which may be destroyed
  // after the client (when the io_context is torn down).
  std::shared_ptr<TurnQueue> queue_;

  bool ever_connected_ = false;
  std::uint64_t reconnects_ = 0;
  std::string last_error_;
  std::chrono::milliseconds backoff_{0};
  std::optional<Clock::time_point> next_attempt_;
  std::vector<std::string> last_host_list_warnings_;
};

}  // namespace poolwatch
