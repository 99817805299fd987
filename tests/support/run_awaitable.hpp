#pragma once
// Runs one coroutine to completion on a test's own io_context, with a bound so that a
// hung operation fails the test instead of hanging the suite.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <stdexcept>

namespace poolwatch::testing {

template <typename T>
T run_awaitable(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
  auto future = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
  const auto ready = [&future] {
    return future.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
  };
  // One handler at a time: a listener on the same io_context keeps it busy forever, and
  // the test must go on as soon as its operation is done.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  io.restart();
  while (!ready() && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(100));
  if (!ready()) throw std::runtime_error("operation did not complete within 30 s");
  return future.get();
}

}  // namespace poolwatch::testing
