#include "poolwatch/service/passive_link.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "poolwatch/common/text.hpp"
#include "poolwatch/passive/classify.hpp"
#include "poolwatch/passive/dovecot_snippet.hpp"
#include "poolwatch/passive/proxy_event.hpp"

namespace poolwatch {

namespace {

std::vector<IpNetwork> parse_allow_list(const std::vector<std::string>& texts) {
  std::vector<IpNetwork> networks;
  for (const auto& text : texts) {
    auto network = IpNetwork::parse(text);
    if (!network) throw ConfigError("passive.allow: invalid network '" + text + "'");
    networks.push_back(*network);
  }
  return networks;
}

passive::WindowPolicy window_policy(const PassiveConfig& config) {
  return {config.failures,
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(config.window)};
}

EventEndpointSettings endpoint_settings(const PassiveConfig& config) {
  EventEndpointSettings settings;
  settings.listen = config.listen;
  settings.path = std::string(passive::kEventsPath);
  settings.max_body = config.max_body;
  settings.max_posts_per_second = config.max_events_per_second;
  return settings;
}

}  // namespace

PassiveLink::PassiveLink(boost::asio::any_io_executor executor, const PassiveConfig& config,
                         metrics::Registry& registry, Hooks hooks)
    : allow_(parse_allow_list(config.allow)),
      metrics_(registry),
      window_(window_policy(config)),
      hooks_(std::move(hooks)),
      endpoint_(executor, endpoint_settings(config),
                EventEndpointHandlers{
                    [this](const IpAddress& source) { return any_contains(allow_, source); },
                    [this](std::string_view body) { return take_post(body); },
                    [this](PostResult result) { metrics_.post(to_string(result)); }}) {}

std::optional<std::string> PassiveLink::start() {
  if (auto ec = endpoint_.start()) return ec.message();
  return std::nullopt;
}

void PassiveLink::stop() {
  endpoint_.stop();
}

void PassiveLink::set_policy(const PassiveConfig& config) {
  window_.set_policy(window_policy(config));
}

void PassiveLink::forget(const IpAddress& backend) {
  window_.forget(backend);
}

bool PassiveLink::take_post(std::string_view body) {
  const auto parsed = passive::parse_dovecot_event(body);
  if (!parsed.event) {
    spdlog::debug("passive: refused a post: {}", parsed.error);
    return false;
  }
  take_event(*parsed.event);
  return true;
}

void PassiveLink::take_event(const passive::ProxyEvent& event) {
  const auto classified = passive::classify(event);
  if (!event.dest_ip || !hooks_.in_pool(*event.dest_ip)) {
    // Another director's backend, a stale mapping, or noise: nothing to act on.
    metrics_.unknown_backend_event();
    return;
  }
  const auto backend = event.dest_ip->to_string();
  metrics_.event(backend, to_string(classified.cls));
  // The user is personal data: it reaches the log only at debug level.
  spdlog::debug("passive: {} {} port {}: {} ({}), user {}", backend, event.name,
                event.dest_port.value_or(0), to_string(classified.cls), classified.why, event.user);
  const auto suspicion =
      window_.record(*event.dest_ip, classified.cls, std::chrono::steady_clock::now());
  if (!suspicion) return;
  metrics_.suspicion(backend);
  hooks_.suspect(*event.dest_ip, *suspicion);
}

}  // namespace poolwatch
