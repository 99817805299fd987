#include "poolwatch/director/director_client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <variant>

#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using asio::awaitable;

namespace {

DirectorClient::Clock::duration to_duration(Seconds s) {
  return std::chrono::duration_cast<DirectorClient::Clock::duration>(s);
}

std::string seconds_text(Seconds s) {
  return fmt::format("{:.1f} s", s.count());
}

DirectorReply no_reply(std::string why) {
  return {DirectorReplyStatus::no_reply, std::move(why)};
}

// The deadline timer's result when it won a race against an I/O operation: an error
// means the caller cancelled us (the timer wait was aborted), not that time ran out.
template <typename Variant>
std::string deadline_reason(const Variant& result, std::string_view timeout_text) {
  const auto [ec] = std::get<1>(result);
  return ec ? std::string("cancelled") : std::string(timeout_text);
}

}  // namespace

// One caller waiting for its turn; woken by cancelling its timer.
struct DirectorClient::TurnQueue {
  struct Waiter {
    Waiter(const asio::any_io_executor& ex, Clock::time_point give_up_at)
        : wakeup(ex, give_up_at) {}
    asio::steady_timer wakeup;
    bool granted = false;
  };

  bool busy = false;
  bool shutting_down = false;
  std::deque<std::shared_ptr<Waiter>> waiters;

  void release() {
    if (waiters.empty()) {
      busy = false;
      return;
    }
    // The turn passes straight to the next waiter, so no newcomer can overtake it.
    auto next = std::move(waiters.front());
    waiters.pop_front();
    next->granted = true;
    next->wakeup.cancel();
  }
};

// Holds the turn for one command and passes it on when the command ends, even when
// the coroutine frame is destroyed without resuming.
class DirectorClient::Turn {
 public:
  explicit Turn(std::weak_ptr<TurnQueue> queue) : queue_(std::move(queue)) {}
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;
  ~Turn() {
    if (auto queue = queue_.lock()) queue->release();
  }

 private:
  std::weak_ptr<TurnQueue> queue_;
};

struct DirectorClient::Exchange {
  Exchange() = default;
  explicit Exchange(DirectorReply failed) : reply(std::move(failed)) {}
  DirectorReply reply;
  std::optional<PoolSnapshot> pool;                 // HOST-LIST
  std::optional<director::DirectorList> directors;  // DIRECTOR-LIST
  std::vector<std::string> warnings;                // HOST-LIST
};

DirectorClient::DirectorClient(asio::any_io_executor executor, DirectorConfig config)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      socket_(executor_),
      queue_(std::make_shared<TurnQueue>()) {}

awaitable<bool> DirectorClient::acquire_turn(Clock::time_point give_up_at) {
  if (!queue_->busy) {
    queue_->busy = true;
    co_return true;
  }
  auto waiter = std::make_shared<TurnQueue::Waiter>(executor_, give_up_at);
  queue_->waiters.push_back(waiter);

  // If this frame is destroyed while suspended, give up the place in the queue (or the
  // turn, if it was already handed over) so later callers are not stuck behind it.
  struct Abandon {
    std::weak_ptr<TurnQueue> queue;
    std::shared_ptr<TurnQueue::Waiter> waiter;
    bool armed = true;
    ~Abandon() {
      auto q = queue.lock();
      if (!armed || !q) return;
      if (waiter->granted) {
        q->release();
      } else {
        std::erase(q->waiters, waiter);
      }
    }
  } abandon{queue_, waiter};

  co_await waiter->wakeup.async_wait(use_tuple);
  abandon.armed = false;
  if (waiter->granted) co_return true;
  // Cancelled from outside, or gave up, while still queued.
  std::erase(queue_->waiters, waiter);
  co_return false;
}

void DirectorClient::close(const std::string& reason, bool expected) {
  last_error_ = reason;
  if (!socket_.is_open()) return;
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  lines_.clear();
  spdlog::log(expected ? spdlog::level::info : spdlog::level::warn,
              "director: disconnected from {}: {}", config_.socket, reason);
}

void DirectorClient::note_connect_failure(const std::string& reason) {
  using std::chrono::milliseconds;
  const auto initial =
      std::max(milliseconds{1}, std::chrono::round<milliseconds>(config_.reconnect_initial));
  const auto cap = std::max(initial, std::chrono::round<milliseconds>(config_.reconnect_max));
  backoff_ = backoff_.count() == 0 ? initial : std::min(backoff_ * 2, cap);
  next_attempt_ = Clock::now() + backoff_;
  last_error_ = reason;
  spdlog::warn("director: cannot connect to {}: {}; next attempt in {}", config_.socket, reason,
               seconds_text(backoff_));
}

awaitable<std::optional<std::string>> DirectorClient::ensure_connected() {
  if (socket_.is_open()) co_return std::nullopt;
  if (next_attempt_ && Clock::now() < *next_attempt_) {
    co_return fmt::format("director unreachable, next attempt in {} ({})",
                          seconds_text(*next_attempt_ - Clock::now()), last_error_);
  }
  auto failure = co_await connect_and_handshake();
  if (failure) {
    note_connect_failure(*failure);
    co_return failure;
  }
  if (ever_connected_) ++reconnects_;
  ever_connected_ = true;
  backoff_ = std::chrono::milliseconds{0};
  next_attempt_.reset();
  last_error_.clear();
  spdlog::info("director: connected to {}", config_.socket);
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> DirectorClient::connect_and_handshake() {
  asio::steady_timer deadline(executor_);
  deadline.expires_after(to_duration(config_.connect_timeout));
  const auto timeout_text =
      fmt::format("no director handshake within {}", seconds_text(config_.connect_timeout));
  socket_ = asio::local::stream_protocol::socket(executor_);
  lines_ = LineBuffer(director::kMaxReplyLine);

  auto connected = co_await (
      socket_.async_connect(asio::local::stream_protocol::endpoint(config_.socket), use_tuple) ||
      deadline.async_wait(use_tuple));
  if (connected.index() == 1) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    co_return std::get<1>(connected) == std::tuple{boost::system::error_code{}}
        ? fmt::format("connect timed out after {}", seconds_text(config_.connect_timeout))
        : std::string("cancelled");
  }
  if (auto [ec] = std::get<0>(connected); ec) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    co_return ec == asio::error::operation_aborted ? std::string("cancelled")
                                                   : fmt::format("connect: {}", ec.message());
  }

  // The server speaks first; nothing may be sent before its VERSION line checks out.
  std::string error;
  auto greeting = co_await read_line(deadline, timeout_text, error);
  if (!greeting) co_return error;
  if (auto bad = director::version_line_error(*greeting)) {
    close(*bad);
    co_return *bad;
  }
  if (lines_.buffered() != 0) {
    close("unexpected data after the director's VERSION line");
    co_return last_error_;
  }
  // g++ 12: see CONTRIBUTING.md (no co_await in a condition).
  auto failed = co_await write_all(director::kHandshakeLine, deadline, timeout_text);
  if (failed) co_return failed;
  co_return std::nullopt;
}

awaitable<std::optional<std::string>> DirectorClient::read_line(asio::steady_timer& deadline,
                                                                std::string_view timeout_text,
                                                                std::string& error) {
  std::array<char, 4096> chunk;
  for (;;) {
    if (auto line = lines_.next_line()) co_return line;
    auto result = co_await (socket_.async_read_some(asio::buffer(chunk), use_tuple) ||
                            deadline.async_wait(use_tuple));
    if (result.index() == 1) {
      error = deadline_reason(result, timeout_text);
      close(error);
      co_return std::nullopt;
    }
    const auto [ec, size] = std::get<0>(result);
    if (ec) {
      error = ec == asio::error::eof ? "director closed the connection"
              : ec == asio::error::operation_aborted
                  ? "cancelled"
                  : fmt::format("read from director: {}", ec.message());
      close(error);
      co_return std::nullopt;
    }
    if (lines_.feed({chunk.data(), size}) == LineBuffer::Status::line_too_long) {
      error = fmt::format("director sent a line longer than {} bytes", lines_.max_line());
      close(error);
      co_return std::nullopt;
    }
  }
}

awaitable<std::optional<std::string>> DirectorClient::write_all(std::string_view bytes,
                                                                asio::steady_timer& deadline,
                                                                std::string_view timeout_text) {
  auto result = co_await (asio::async_write(socket_, asio::buffer(bytes), use_tuple) ||
                          deadline.async_wait(use_tuple));
  if (result.index() == 1) {
    close(deadline_reason(result, timeout_text));
    co_return last_error_;
  }
  if (auto [ec, size] = std::get<0>(result); ec) {
    close(ec == asio::error::operation_aborted
              ? std::string("cancelled")
              : fmt::format("write to director: {}", ec.message()));
    co_return last_error_;
  }
  co_return std::nullopt;
}

template <typename Parser>
awaitable<std::optional<DirectorReply>> DirectorClient::read_list(Parser& parser,
                                                                  asio::steady_timer& deadline,
                                                                  std::string_view timeout_text) {
  std::string error;
  while (parser.state() == Parser::State::need_more) {
    auto line = co_await read_line(deadline, timeout_text, error);
    if (!line) co_return no_reply(std::move(error));
    parser.feed_line(*line);
  }
  if (parser.state() == Parser::State::failed) {
    // The rest of the reply is unread, so the connection is out of step.
    close(parser.error());
    co_return DirectorReply{DirectorReplyStatus::error, parser.error()};
  }
  co_return std::nullopt;
}

awaitable<DirectorClient::Exchange> DirectorClient::read_reply(ReplyShape shape,
                                                               asio::steady_timer& deadline,
                                                               std::string_view timeout_text) {
  Exchange result;
  if (shape == ReplyShape::host_list) {
    director::HostListParser parser;
    auto failed = co_await read_list(parser, deadline, timeout_text);
    if (failed) co_return Exchange(std::move(*failed));
    result.reply = {DirectorReplyStatus::ok, "OK"};
    result.pool = parser.take();
    result.warnings = parser.warnings();
  } else if (shape == ReplyShape::director_list) {
    director::DirectorListParser parser;
    auto failed = co_await read_list(parser, deadline, timeout_text);
    if (failed) co_return Exchange(std::move(*failed));
    result.reply = {DirectorReplyStatus::ok, "OK"};
    result.directors = parser.take();
  } else {
    std::string error;
    auto reply_line = co_await read_line(deadline, timeout_text, error);
    if (!reply_line) co_return Exchange(no_reply(std::move(error)));
    // Classified as sent, kept printable: the text goes to the log, /status and errors.
    result.reply = {director::classify_reply(*reply_line),
                    printable_excerpt(*reply_line, kMaxReplyText, false)};
  }
  co_return result;
}

awaitable<DirectorClient::Exchange> DirectorClient::exchange(std::string line, ReplyShape shape) {
  // Cancellation from a caller's deadline shows up as error codes, never as exceptions.
  const bool got_turn = co_await acquire_turn();
  if (!got_turn) co_return Exchange(no_reply("cancelled while queued"));
  Turn turn(queue_);
  if (queue_->shutting_down) co_return Exchange(no_reply("director client is shutting down"));
  const auto unreachable = co_await ensure_connected();
  if (unreachable) co_return Exchange(no_reply(*unreachable));

  // The verb alone, for the messages: an argument-less command has no TAB, only its LF.
  const std::string command = line.substr(0, line.find_first_of("\t\n"));
  const auto timeout_text =
      fmt::format("no reply to {} within {}", command, seconds_text(config_.command_timeout));
  asio::steady_timer deadline(executor_);
  deadline.expires_after(to_duration(config_.command_timeout));
  // Nothing is buffered between commands (data left after a reply closes the connection),
  // so the buffer can be swapped for one with this reply's line cap.
  lines_ = LineBuffer(shape == ReplyShape::director_list ? director::kMaxDirectorListLine
                                                         : director::kMaxReplyLine);
  const auto failed = co_await write_all(line, deadline, timeout_text);
  if (failed) co_return Exchange(no_reply(*failed));

  auto result = co_await read_reply(shape, deadline, timeout_text);
  // A reply that could not be read or parsed has closed the connection and says why.
  if (!socket_.is_open()) co_return result;
  if (result.reply.status == DirectorReplyStatus::ring_sync_timeout) {
    // Reusing this connection for another ring-sync command assert-crashes the director.
    close(fmt::format("{}: Ring sync timed out", command));
  } else if (lines_.buffered() != 0) {
    close(fmt::format("unexpected data from the director after the reply to {}", command));
  } else if (result.reply.ok()) {
    last_error_.clear();
  } else {
    last_error_ = fmt::format("{}: {}", command, result.reply.text);
  }
  co_return result;
}

awaitable<HostListResult> DirectorClient::host_list() {
  std::string command(director::kHostListCommand);  // g++ 12: CONTRIBUTING.md
  auto done = co_await exchange(std::move(command), ReplyShape::host_list);
  if (!done.pool) co_return HostListResult{std::nullopt, "HOST-LIST: " + done.reply.text, {}};
  log_host_list_warnings(done.warnings);
  co_return HostListResult{std::move(done.pool), {}, std::move(done.warnings)};
}

void DirectorClient::log_host_list_warnings(const std::vector<std::string>& warnings) {
  const bool changed = warnings != last_host_list_warnings_;
  for (const auto& warning : warnings)
    spdlog::log(changed ? spdlog::level::warn : spdlog::level::debug, "director: {}", warning);
  if (changed) last_host_list_warnings_ = warnings;
}

awaitable<DirectorListResult> DirectorClient::director_list() {
  std::string command(director::kDirectorListCommand);  // g++ 12: CONTRIBUTING.md
  auto done = co_await exchange(std::move(command), ReplyShape::director_list);
  if (done.directors) co_return DirectorListResult{std::move(done.directors), {}};
  co_return DirectorListResult{std::nullopt, fmt::format("DIRECTOR-LIST: {}", done.reply.text)};
}

awaitable<DirectorReply> DirectorClient::send(director::HostCommand command, IpAddress host) {
  if (host.is_unspecified()) {
    co_return DirectorReply{DirectorReplyStatus::error,
                            fmt::format("refusing {} for the unspecified address {}",
                                        director::command_name(command), host.to_string())};
  }
  auto done = co_await exchange(director::format_host_command(command, host), ReplyShape::one_line);
  co_return std::move(done.reply);
}

awaitable<DirectorReply> DirectorClient::host_down(const IpAddress& host) {
  return send(director::HostCommand::down, host);
}

awaitable<DirectorReply> DirectorClient::host_up(const IpAddress& host) {
  return send(director::HostCommand::up, host);
}

awaitable<DirectorReply> DirectorClient::host_flush(const IpAddress& host) {
  return send(director::HostCommand::flush, host);
}

awaitable<DirectorReply> DirectorClient::host_reset_users(const IpAddress& host) {
  return send(director::HostCommand::reset_users, host);
}

awaitable<void> DirectorClient::shutdown(std::chrono::milliseconds grace) {
  queue_->shutting_down = true;
  // Queued commands get their turn first and return at once; the command in flight
  // keeps its turn until its reply arrives or the grace period ends.
  std::optional<Turn> turn;
  const bool got_turn = co_await acquire_turn(Clock::now() + grace);
  if (got_turn) {
    turn.emplace(queue_);
  } else if (socket_.is_open()) {
    spdlog::warn("director: no reply within the {} ms shutdown grace period", grace.count());
  }
  if (socket_.is_open()) {
    close("shutting down", true);
    last_error_.clear();
  }
}

}  // namespace poolwatch
