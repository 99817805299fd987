#include "poolwatch/service/ring_link.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "poolwatch/common/asio_address.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/config/credentials.hpp"
#include "poolwatch/health/state_file.hpp"
#include "poolwatch/peer/peer_auth.hpp"
#include "poolwatch/peer/peer_client.hpp"
#include "poolwatch/peer/peer_exchange.hpp"
#include "poolwatch/peer/peer_server.hpp"
#include "poolwatch/ring/report_json.hpp"

namespace poolwatch {

namespace asio = boost::asio;

std::string ring_state_path(const std::string& state_file) {
  return state_file.empty() ? std::string() : fmt::format("{}.ring", state_file);
}

// The config refuses a secret the signatures would refuse later.
static_assert(kMinRingSecretBytes >= peer::kMinSecretBytes);

namespace {

ring::RingSettings ring_settings_from(const Config& config) {
  ring::RingSettings settings;
  settings.interval = config.health.interval;
  settings.quorum = config.ring.quorum;
  settings.peer_port = config.ring.peer_port;
  // A vote is only as fresh as the slowest probe schedule: a down backend is probed
  // every down_interval, a suspect one every suspect_interval.
  const Seconds slowest =
      std::max({config.health.interval, config.health.suspect_interval.value_or(Seconds(0)),
                config.health.down_interval.value_or(Seconds(0))});
  settings.max_probe_age = std::max(Seconds(30), 3 * slowest + 2 * config.health.timeout);
  return settings;
}

ring::OwnershipState load_ownership(const std::string& path) {
  if (path.empty()) return {};
  auto read = read_small_file(path);
  if (read.missing) return {};
  if (!read.error.empty()) {
    spdlog::error("ring: ownership file {}: {}; starting without the ring's downs", path,
                  read.error);
    return {};
  }
  auto decoded = ring::decode_ownership(read.text);
  if (!decoded.state) {
    const auto aside = fmt::format("{}.corrupt-{}", path, unix_now());
    const bool moved = std::rename(path.c_str(), aside.c_str()) == 0;
    spdlog::error("ring: ownership file {} is corrupt: {}; {}, starting without the ring's downs",
                  path, decoded.error,
                  moved ? fmt::format("moved it to {}", aside) : std::string("left it in place"));
    return {};
  }
  if (!decoded.state->claims.empty())
    spdlog::info("ring: {} down(s) held by the ring's instances before this start ({})",
                 decoded.state->claims.size(), path);
  return std::move(*decoded.state);
}

// A poll must end well within an interval, so that a scan still ends in time.
std::chrono::milliseconds poll_timeout(const ring::RingSettings& settings) {
  const auto half = std::chrono::duration_cast<std::chrono::milliseconds>(settings.interval / 2);
  return std::clamp(half, std::chrono::milliseconds(200), std::chrono::milliseconds(5000));
}

}  // namespace

RingLink::RingLink(asio::any_io_executor executor, const Config& config, PoolwatchMetrics& metrics)
    : executor_(std::move(executor)),
      settings_(ring_settings_from(config)),
      secret_(load_ring_secret(config.ring.secret_file)),
      listen_(config.ring.listen),
      state_path_(ring_state_path(config.state_file)),
      started_fresh_(state_path_.empty() || read_small_file(state_path_).missing),
      metrics_(metrics),
      coordinator_(settings_, load_ownership(state_path_)) {
  if (!listen_.empty() && !parse_listen_address(listen_))
    throw ConfigError(fmt::format("ring.listen: \"{}\" is not IP:PORT", listen_));
}

RingLink::~RingLink() {
  stop();
}

void RingLink::stop() {
  if (listener_) listener_->stop();
}

asio::awaitable<void> RingLink::read_director_list(DirectorClient& director) {
  auto listed = co_await director.director_list();
  if (!listed.list) {
    director_list_failed(std::move(listed.error));
    co_return;
  }
  auto problems = coordinator_.on_director_list(*listed.list, std::chrono::steady_clock::now());
  if (problems != last_membership_problems_)
    for (const auto& problem : problems) spdlog::warn("ring: {}", problem);
  last_membership_problems_ = std::move(problems);
  ensure_listener();
}

void RingLink::director_list_failed(std::string error) {
  coordinator_.on_director_list_failed(std::move(error));
}

void RingLink::ensure_listener() {
  if (listener_) return;
  std::string where = listen_;
  if (where.empty()) {
    const auto& membership = coordinator_.membership();
    if (!membership) return;  // the ring address is not known yet
    where = ring::InstanceId{membership->self.ip, settings_.peer_port}.to_string();
  }
  HttpHandlers handlers;
  handlers.ring = peer::ring_handler(
      secret_, [this] { return served_report(); }, [] { return unix_now(); });
  auto server = std::make_unique<HttpServer>(executor_, HttpConfig{true, where}, handlers);
  if (auto ec = server->start()) {
    const auto problem = fmt::format("cannot serve the peers on {}: {}", where, ec.message());
    if (problem != listener_problem_) spdlog::error("ring: {}; trying again every scan", problem);
    listener_problem_ = problem;
    return;
  }
  spdlog::info("ring: serving this instance's report to its peers on {}", where);
  listener_problem_.clear();
  listener_ = std::move(server);
}

std::string RingLink::served_report() const {
  return ring::encode_report(coordinator_.report(std::chrono::steady_clock::now()));
}

asio::awaitable<void> RingLink::poll_peers() {
  const auto& membership = coordinator_.membership();
  if (!membership || membership->peers.empty()) co_return;
  // Copies: the membership may change while the polls run.
  const std::vector<ring::RingPeer> peers = membership->peers;
  const std::optional<asio::ip::address> source = to_asio(membership->self.ip);
  const auto timeout = poll_timeout(settings_);
  using Poll = decltype(asio::co_spawn(
      executor_, peer::fetch_from_peer({}, std::nullopt, std::string(), std::string(), timeout),
      asio::deferred));
  std::vector<Poll> polls;
  for (const auto& peer : peers) {
    const asio::ip::tcp::endpoint endpoint(to_asio(peer.address), peer.peer_port);
    auto fetch =
        peer::fetch_from_peer(endpoint, source, std::string(peer::kReportTarget), secret_, timeout);
    polls.push_back(asio::co_spawn(executor_, std::move(fetch), asio::deferred));
  }
  auto group = asio::experimental::make_parallel_group(std::move(polls));
  auto [order, errors, results] =
      co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const std::string error = errors[i] ? exception_message(errors[i]) : results[i].error;
    take_poll(peers[i], results[i].body, error);
  }
}

void RingLink::take_poll(const ring::RingPeer& peer, const std::string& body,
                         const std::string& error) {
  std::string problem = error;
  if (problem.empty()) {
    auto decoded = ring::decode_report(body);
    if (!decoded.report) {
      problem = fmt::format("unreadable report: {}", decoded.error);
    } else {
      auto outcome = coordinator_.on_peer_report(peer.id, std::move(*decoded.report),
                                                 std::chrono::steady_clock::now(), unix_now());
      if (outcome.refused) problem = fmt::format("report refused: {}", *outcome.refused);
      note_ownership(outcome.ownership);
    }
  }
  auto& last = peer_problems_[peer.id];
  if (problem == last) return;
  if (problem.empty())
    spdlog::info("ring: peer {}: answering again", peer.id.to_string());
  else
    spdlog::warn("ring: peer {}: {}; not counted", peer.id.to_string(), problem);
  last = std::move(problem);
}

ring::RingEvaluation RingLink::evaluate(std::vector<ring::BackendReport> local) {
  auto evaluation =
      coordinator_.evaluate(std::move(local), std::chrono::steady_clock::now(), unix_now());
  note_ownership(evaluation.ownership);
  if (!to_adopt_.empty() && coordinator_.membership()) {
    // The planner's downs from before the ring knew this instance's name.
    std::vector<OwnedHost> unclaimed;
    for (auto& host : to_adopt_)
      if (!coordinator_.ownership().owns(host.address)) unclaimed.push_back(std::move(host));
    to_adopt_.clear();
    if (!unclaimed.empty()) {
      spdlog::info(
          "ring: {} down(s) this instance made before the ring knew it become the "
          "ring's",
          unclaimed.size());
      note_ownership(coordinator_.ownership().apply_planner_change({}, unclaimed, unix_now()));
    }
  }
  log_role(evaluation.role);
  log_overruled(evaluation.verdicts);
  export_metrics(evaluation);
  last_ = evaluation;
  return evaluation;
}

void RingLink::adopt_when_named(std::vector<OwnedHost> planner_owned) {
  to_adopt_ = std::move(planner_owned);
}

void RingLink::planner_changed(const std::vector<OwnedHost>& before,
                               const std::vector<OwnedHost>& after) {
  note_ownership(coordinator_.ownership().apply_planner_change(before, after, unix_now()));
}

void RingLink::note_ownership(const ring::OwnershipChange& change) {
  for (const auto& problem : change.problems) spdlog::error("ring: ownership: {}", problem);
  if (!change.changed || state_path_.empty()) return;
  const auto text = ring::encode_ownership(coordinator_.ownership().state());
  if (auto error = write_file_atomically(state_path_, text, "ring ownership file"))
    spdlog::error("ring: {}", *error);
}

}  // namespace poolwatch
