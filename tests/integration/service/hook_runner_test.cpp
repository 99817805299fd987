// run_transition_hook on a real child process: a cancel must end the hook however it
// lands. A cancellation signal reaches only the operation pending when it is emitted;
// one that lands while the hook's poll tick has fired but not yet resumed the coroutine
// reaches no operation at all (the stop of a CI run waited out a hook's 20 s that way).
#include "poolwatch/service/hook_runner.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <thread>

#include "support/child_process.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using poolwatch::HookResult;
using poolwatch::run_transition_hook;
using poolwatch::Seconds;
using poolwatch::test::TempDir;

namespace {

// Holds the loop up, as a busy loop does, so that timers due meanwhile fire in one batch.
void hold_the_loop() {
  std::this_thread::sleep_for(200ms);
}

// Ends after `delay`. Before waiting it queues hold_the_loop(): both this timer and the
// hook's first poll tick (50 ms after the hook started, later than `delay`) are then due
// when the loop next looks, and this one is queued first. Its end cancels the hook while
// the tick's completion is queued and no wait of the hook is pending.
asio::awaitable<void> end_during_held_loop(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(delay);
  asio::post(co_await asio::this_coro::executor, hold_the_loop);
  co_await timer.async_wait(asio::use_awaitable);
}

// A side of || whose value is kept: || drops the value of the side that was cancelled.
asio::awaitable<void> run_hook_into(std::string command, HookResult& result) {
  result = co_await run_transition_hook(command, "down", "127.0.0.1", "test", Seconds(30));
}

asio::awaitable<void> hook_raced_by_a_held_loop(std::string command, HookResult& result) {
  co_await (run_hook_into(command, result) || end_during_held_loop(20ms));
}

class HookRunner : public ::testing::Test {
 protected:
  // Sleeps `seconds` in the foreground: a hook that nothing ends sooner runs that long.
  std::string sleeping_hook(int seconds) {
    return dir_.write("hook.sh", "#!/bin/sh\nsleep " + std::to_string(seconds) + "\n", 0755);
  }

  TempDir dir_;
  asio::io_context io_;
};

// The cancel lands while the hook's tick has fired: the hook still gets SIGTERM at once
// instead of running out the 8 s it sleeps.
TEST_F(HookRunner, ACancelLandingBetweenTwoPollsStillEndsTheHook) {
  HookResult result;
  std::exception_ptr failure = nullptr;
  asio::co_spawn(io_, hook_raced_by_a_held_loop(sleeping_hook(8), result),
                 [&](std::exception_ptr e) { failure = e; });
  io_.run();  // || waits for the cancelled side: this returns when the hook has ended
  ASSERT_FALSE(failure);
  EXPECT_TRUE(result.started);
  EXPECT_TRUE(result.cancelled) << "the cancel was lost; the hook ran until it exited";
  EXPECT_EQ(result.exit_status, 128 + SIGTERM);
}

}  // namespace
