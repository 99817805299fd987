#include "poolwatch/director/director_client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>

#include "director_client_detail.hpp"
#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using asio::awaitable;
using director_client_detail::seconds_text;
using director_client_detail::to_duration;

namespace {

DirectorReply no_reply(std::string why) {
  return {DirectorReplyStatus::no_reply, std::move(why)};
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

awaitable<std::optional<std::string>> DirectorClient::write_command(std::string_view line,
                                                                    bool reused,
                                                                    asio::steady_timer& deadline,
                                                                    std::string_view timeout_text) {
  bool nothing_sent = false;
  auto failed = co_await write_all(line, deadline, timeout_text, &nothing_sent);
  if (!failed || !reused || !nothing_sent) co_return failed;
  // The director closed the idle connection after drop_if_hung_up() looked. Not one byte
  // reached it, so it cannot have run the command: send it once more, on a new connection.
  failed = co_await ensure_connected();
  if (failed) co_return failed;
  co_return co_await write_all(line, deadline, timeout_text);
}

awaitable<DirectorClient::Exchange> DirectorClient::exchange(std::string line, ReplyShape shape) {
  // Cancellation from a caller's deadline shows up as error codes, never as exceptions.
  const bool got_turn = co_await acquire_turn();
  if (!got_turn) co_return Exchange(no_reply("cancelled while queued"));
  Turn turn(queue_);
  if (queue_->shutting_down) co_return Exchange(no_reply("director client is shutting down"));
  if (socket_.is_open()) drop_if_hung_up();
  const bool reused = socket_.is_open();
  const auto unreachable = co_await ensure_connected();
  if (unreachable) co_return Exchange(no_reply(*unreachable));

  // The verb alone, for the messages: an argument-less command has no TAB, only its LF.
  const std::string command = line.substr(0, line.find_first_of("\t\n"));
  const auto timeout_text =
      fmt::format("no reply to {} within {}", command, seconds_text(config_.command_timeout));
  asio::steady_timer deadline(executor_);
  deadline.expires_after(to_duration(config_.command_timeout));
  const auto failed = co_await write_command(line, reused, deadline, timeout_text);
  if (failed) co_return Exchange(no_reply(*failed));
  // Nothing is buffered between commands (data left after a reply closes the connection),
  // so the buffer can be swapped for one with this reply's line cap.
  lines_ = LineBuffer(shape == ReplyShape::director_list ? director::kMaxDirectorListLine
                                                         : director::kMaxReplyLine);

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
