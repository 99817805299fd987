#include "coroutine_floor.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>
#include <exception>

#include "poolwatch/common/asio_tokens.hpp"

namespace poolwatch::bench {

namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

// The probes' deadline, as poolwatch's health.timeout in bench/probe_floor.
constexpr std::chrono::seconds kTimeout{5};

// The dialogue: connect, then read and answer until the script is done.
awaitable<bool> talk(tcp::socket& socket, tcp::endpoint target, const std::vector<Step>& script) {
  boost::system::error_code ec;
  socket.open(tcp::v4(), ec);
  if (!ec) socket.non_blocking(true, ec);
  if (ec) co_return false;
  if (::connect(socket.native_handle(), target.data(), static_cast<socklen_t>(target.size())) !=
          0 &&
      errno != EINPROGRESS)
    co_return false;
  ScriptProgress progress{&script, 0, {}};
  std::array<char, 2048> buffer;
  // g++ 12: see CONTRIBUTING.md (no temporaries in a co_await expression).
  const auto into = asio::buffer(buffer);
  const auto send = [&socket](std::string_view text) {
    send_all(socket.native_handle(), text);
    return true;
  };
  for (;;) {
    auto [read_ec, n] = co_await socket.async_read_some(into, use_tuple);
    if (read_ec) co_return false;
    const auto result = advance(progress, {buffer.data(), n}, send);
    if (result != ScriptResult::more) co_return result == ScriptResult::done;
  }
}

// One probe: the dialogue under its deadline. True when the script was done in time.
awaitable<bool> probe(tcp::endpoint target, const std::vector<Step>* script) {
  const auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  asio::steady_timer deadline(executor, kTimeout);
  auto dialogue = asio::co_spawn(executor, talk(socket, target, *script), asio::deferred);
  auto expiry = deadline.async_wait(asio::deferred);
  auto race = asio::experimental::make_parallel_group(std::move(dialogue), std::move(expiry));
  const auto result =
      co_await race.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  const auto& [order, escaped, done, deadline_ec] = result;
  co_return order[0] == 0 && !escaped && done;
}

// The same without a deadline: what the coroutine costs by itself.
awaitable<bool> probe_without_deadline(tcp::endpoint target, const std::vector<Step>* script) {
  const auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  const bool done = co_await talk(socket, target, *script);
  co_return done;
}

struct CoroutineFloor final : PacedFloor {
  // As poolwatch's daemon has it (src/cli/main.cpp): one thread runs every socket.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  asio::executor_work_guard<asio::io_context::executor_type> keep_running{io.get_executor()};
  std::vector<tcp::endpoint> targets;             // every address x port
  std::vector<const std::vector<Step>*> scripts;  // by target
  std::size_t running = 0;
  bool with_deadline = true;
  FloorFigures figures;

  struct ProbeDone {
    CoroutineFloor* floor;
    void operator()(const std::exception_ptr& escaped, bool done) const {
      --floor->running;
      ++(done && !escaped ? floor->figures.done : floor->figures.failed);
    }
  };

  void start(std::size_t i) override {
    const std::size_t t = i % targets.size();
    ++running;
    if (with_deadline)
      asio::co_spawn(io, probe(targets[t], scripts[t]), ProbeDone{this});
    else
      asio::co_spawn(io, probe_without_deadline(targets[t], scripts[t]), ProbeDone{this});
  }
  std::size_t in_flight() const override { return running; }
  // One wait in epoll, then what else is ready: the floor's epoll_wait and its batch.
  void poll(int timeout_ms) override {
    io.run_one_for(std::chrono::milliseconds(timeout_ms));
    io.poll();
  }
};

}  // namespace

FloorFigures run_coroutine_floor(std::size_t hosts, const std::vector<BackendPort>& ports,
                                 double rate, double seconds, bool with_deadline) {
  std::vector<std::vector<Step>> by_port;
  for (const auto& port : ports) by_port.push_back(script_for(port.protocol, false));
  CoroutineFloor floor;
  floor.with_deadline = with_deadline;
  for (std::size_t h = 0; h < hosts; ++h)
    for (std::size_t p = 0; p < ports.size(); ++p) {
      const auto address = socket_address(backend_address(h), ports[p].port);
      floor.targets.emplace_back(asio::ip::address_v4(ntohl(address.sin_addr.s_addr)),
                                 ports[p].port);
      floor.scripts.push_back(&by_port[p]);
    }
  run_paced(floor, rate, seconds, floor.figures);
  return floor.figures;
}

}  // namespace poolwatch::bench
