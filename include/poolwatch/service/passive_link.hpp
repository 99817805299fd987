#pragma once
// Passive health in the daemon (docs/passive.md): the events endpoint, the parse and
// classification of each post, and the per-backend window. What the window concludes
// goes back to the PoolWatcher through a hook, which makes the backend's checks suspect.

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/common/ip_network.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/http/event_endpoint.hpp"
#include "poolwatch/http/passive_metrics.hpp"
#include "poolwatch/passive/passive_window.hpp"

namespace poolwatch {

class PassiveLink {
 public:
  struct Hooks {
    // Whether poolwatch probes this backend: events for any other address are dropped.
    std::function<bool(const IpAddress&)> in_pool;
    std::function<void(const IpAddress&, const passive::Suspicion&)> suspect;
  };

  // Throws ConfigError for an allow-list entry that is not a network (the config loader
  // checked it already; this keeps a programmatic config honest too).
  PassiveLink(boost::asio::any_io_executor executor, const PassiveConfig& config,
              metrics::Registry& registry, Hooks hooks);

  // Binds the endpoint; an error message for startup to report.
  std::optional<std::string> start();
  void stop();
  void forget(const IpAddress& backend);
  // SIGHUP: passive.failures and passive.window apply to the next event (counts so far
  // are kept); the endpoint's settings keep what it was started with.
  void set_policy(const PassiveConfig& config);
  // One POST body: false when it is not a JSON object (the endpoint answers 400).
  bool take_post(std::string_view body);
  boost::asio::ip::tcp::endpoint local_endpoint() const { return endpoint_.local_endpoint(); }
  PassiveMetrics& metrics() { return metrics_; }

 private:
  void take_event(const passive::ProxyEvent& event);

  std::vector<IpNetwork> allow_;
  PassiveMetrics metrics_;
  passive::PassiveWindow window_;
  Hooks hooks_;
  EventEndpoint endpoint_;
};

}  // namespace poolwatch
