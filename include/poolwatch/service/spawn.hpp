#pragma once
// Coroutine plumbing shared by the daemon's loops.

#include <spdlog/spdlog.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace poolwatch {

// co_spawn whose completion logs an escaped exception instead of swallowing it as
// `detached` would. `what` names the coroutine in that log line.
template <typename Executor, typename Awaitable>
void spawn_logged(Executor executor, Awaitable&& task, std::string what) {
  boost::asio::co_spawn(
      executor, std::forward<Awaitable>(task), [what = std::move(what)](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          spdlog::error("{}: stopped by an unexpected error: {}", what, ex.what());
        } catch (...) {
          spdlog::error("{}: stopped by an unexpected error", what);
        }
      });
}

// Sets a flag for as long as it lives: "the scan is waiting for the director".
class ScopedFlag {
 public:
  explicit ScopedFlag(bool& flag) : flag_(flag) { flag_ = true; }
  ~ScopedFlag() { flag_ = false; }
  ScopedFlag(const ScopedFlag&) = delete;
  ScopedFlag& operator=(const ScopedFlag&) = delete;

 private:
  bool& flag_;
};

// Counts coroutines still running so a parent can wait for all of them: add() before
// spawning, done() when each ends, co_await wait() until the count is zero (or the
// caller's own deadline, composed with ||).
class WaitGroup {
 public:
  explicit WaitGroup(boost::asio::any_io_executor ex) : timer_(ex) {
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }
  void add(std::size_t n = 1) { count_ += n; }
  void done() {
    if (count_ > 0 && --count_ == 0) timer_.cancel();
  }
  std::size_t count() const { return count_; }
  boost::asio::awaitable<void> wait() {
    while (count_ > 0) {
      boost::system::error_code ec;
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec != boost::asio::error::operation_aborted) break;  // never: the timer is at max
    }
    timer_.expires_at(boost::asio::steady_timer::time_point::max());
  }

 private:
  std::size_t count_ = 0;
  boost::asio::steady_timer timer_;
};

}  // namespace poolwatch
