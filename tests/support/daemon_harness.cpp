#include "support/daemon_harness.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "poolwatch/config/credentials.hpp"
#include "poolwatch/service/spawn.hpp"

namespace poolwatch::test {

HostEntry pool_host(const IpAddress& address) {
  return HostEntry{address, 100, 0, "", false, 0};
}

std::size_t count_host_lists(const testing::FakeDirector& director) {
  const auto commands = director.commands();
  return static_cast<std::size_t>(std::count(commands.begin(), commands.end(), "HOST-LIST"));
}

testing::FakeMailServerOptions fake_backend_at(const IpAddress& address, std::uint16_t port) {
  testing::FakeMailServerOptions o;
  o.address = address.to_string();
  o.port = port;
  return o;
}

Config fast_daemon_config(const testing::FakeDirector& director, std::uint16_t imap_port,
                          const std::string& state_dir) {
  Config c;
  c.director = director.client_config();
  c.probe.ports = {PortSpec{Protocol::imap, imap_port, TlsMode::plain}};
  c.probe.login = false;
  c.health.interval = Seconds(0.2);
  c.health.timeout = Seconds(1);
  c.health.retry_count = 2;
  c.health.rapid_rounds = 2;
  c.health.rapid_fails_needed = 2;
  c.health.rapid_interval = Seconds(0.05);
  c.health.rapid_timeout = Seconds(1);
  c.health.jitter_percent = 0;
  c.http.enabled = false;
  c.state_file = state_dir + "/state";
  return c;
}

void WatcherThread::start(Config config) {
  io_.restart();  // a second start after stop() models a daemon restart
  watcher_ =
      std::make_unique<PoolWatcher>(io_.get_executor(), std::move(config), CredentialStore{});
  spawn_logged(io_.get_executor(), watcher_->run(), "test watcher");
  thread_ = std::thread([this] { io_.run(); });
}

void WatcherThread::stop() {
  if (!thread_.joinable()) return;
  boost::asio::post(io_, [this] { watcher_->request_stop(); });
  thread_.join();
}

}  // namespace poolwatch::test
