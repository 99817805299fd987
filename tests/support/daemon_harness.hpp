#pragma once
// What the in-process daemon tests share: fake backends on their own loopback address
// and a config whose timings find a dead backend in well under a second.

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/service/pool_watcher.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

namespace poolwatch::test {

// A fake IMAP backend on `address`. Backends are known by IP, so a pool of fakes shares
// one port (0: any free port).
// A host of the fake director's pool: up, 100 vhosts, no users.
HostEntry pool_host(const IpAddress& address);

// How many HOST-LISTs the fake director has answered.
std::size_t count_host_lists(const testing::FakeDirector& director);

testing::FakeMailServerOptions fake_backend_at(const IpAddress& address, std::uint16_t port);

// IMAP on imap_port without login, 0.2 s interval, 2 failures then a rapid round of 2
// that must both fail; no HTTP; the state file in state_dir.
Config fast_daemon_config(const testing::FakeDirector& director, std::uint16_t imap_port,
                          const std::string& state_dir);

// The real PoolWatcher, run as the daemon runs it: on its own io_context, here on a
// thread of its own so the test can watch the fakes meanwhile.
// Runs f on the thread that runs `io` (the only one that may touch what lives on it) and
// returns its result; nullopt if the loop does not get to it within `guard`.
template <typename F>
auto run_on_loop(boost::asio::io_context& io, F f,
                 std::chrono::milliseconds guard = std::chrono::seconds(15))
    -> std::optional<decltype(f())> {
  auto promise = std::make_shared<std::promise<decltype(f())>>();
  auto future = promise->get_future();
  boost::asio::post(io, [promise, f] { promise->set_value(f()); });
  if (future.wait_for(guard) != std::future_status::ready) return std::nullopt;
  return future.get();
}

class WatcherThread {
 public:
  WatcherThread() = default;
  WatcherThread(const WatcherThread&) = delete;
  WatcherThread& operator=(const WatcherThread&) = delete;
  ~WatcherThread() { stop(); }

  // May follow stop(): a new PoolWatcher, as a restarted daemon would have.
  void start(Config config);
  // Asks the watcher to stop (as SIGTERM does) and joins the thread; idempotent.
  void stop();

 private:
  boost::asio::io_context io_;
  std::unique_ptr<PoolWatcher> watcher_;
  std::thread thread_;
};

}  // namespace poolwatch::test
