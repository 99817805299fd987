// The connection half of DirectorClient: connecting and the VERSION handshake, backoff,
// capped line reads, writes, closing, and whether an idle connection can still carry a
// command.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <system_error>
#include <variant>

#include "director_client_detail.hpp"
#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/director/director_client.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using asio::awaitable;
using director_client_detail::deadline_reason;
using director_client_detail::seconds_text;
using director_client_detail::to_duration;

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

void DirectorClient::drop_if_hung_up() {
  // Dovecot never closes an idle connection nor speaks unasked, but a director that hangs
  // up after each reply leaves its end of file here, and a command written after it would
  // fail (or, after stray data, be answered by it). A peek that never waits tells.
  char byte = 0;
  ssize_t peeked = 0;
  do {
    peeked = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (peeked < 0 && errno == EINTR);
  const int error = peeked < 0 ? errno : 0;
  if (peeked < 0 && (error == EAGAIN || error == EWOULDBLOCK)) return;  // idle and alive
  if (peeked == 0) {
    close("the director closed the idle connection", true);
  } else if (peeked > 0) {
    close("unexpected data from the director between commands");
  } else {
    close(fmt::format("idle connection: {}",
                      std::error_code(error, std::generic_category()).message()));
  }
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
                                                                std::string_view timeout_text,
                                                                bool* nothing_sent) {
  auto result = co_await (asio::async_write(socket_, asio::buffer(bytes), use_tuple) ||
                          deadline.async_wait(use_tuple));
  if (result.index() == 1) {
    close(deadline_reason(result, timeout_text));
    co_return last_error_;
  }
  if (auto [ec, size] = std::get<0>(result); ec) {
    // Only the socket's own refusal counts: after a cancellation the write's fate is
    // the caller's business, not a reason to send again.
    if (nothing_sent) *nothing_sent = size == 0 && ec != asio::error::operation_aborted;
    close(ec == asio::error::operation_aborted
              ? std::string("cancelled")
              : fmt::format("write to director: {}", ec.message()));
    co_return last_error_;
  }
  co_return std::nullopt;
}

}  // namespace poolwatch
