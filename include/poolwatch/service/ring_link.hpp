#pragma once
// The daemon's side of the ring (docs/ring.md): every scan it reads DIRECTOR-LIST, polls
// the peers' signed reports at once, and hands both to the sans-io RingCoordinator, which
// says who acts and what the ring's verdicts are. It serves this instance's report to the
// peers on a listener of its own (the director's ring address at ring.peer_port), keeps
// the shared ownership of downs on disk next to the state file, and logs and exports
// every change of role and every backend the ring keeps up or down against this
// instance's own view.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "poolwatch/config/config.hpp"
#include "poolwatch/director/director_client.hpp"
#include "poolwatch/health/action_planner.hpp"
#include "poolwatch/http/http_server.hpp"
#include "poolwatch/http/poolwatch_metrics.hpp"
#include "poolwatch/http/status_view.hpp"
#include "poolwatch/ring/ring_coordinator.hpp"

namespace poolwatch {

// `<state_file>.ring`: the shared ownership, JSON (ring/report_json.hpp); empty without
// a state file.
std::string ring_state_path(const std::string& state_file);

class RingLink {
 public:
  // Reads ring.secret_file and the ownership file; throws ConfigError when the secret is
  // unusable or ring.listen is not an address.
  RingLink(boost::asio::any_io_executor executor, const Config& config, PoolwatchMetrics& metrics);
  ~RingLink();
  RingLink(const RingLink&) = delete;
  RingLink& operator=(const RingLink&) = delete;

  // The scan's ring steps. DIRECTOR-LIST (and the listener, bound once this director's
  // ring address is known)...
  boost::asio::awaitable<void> read_director_list(DirectorClient& director);
  // ...or the reason it could not be read...
  void director_list_failed(std::string error);
  // ...then one poll of every peer, all at once, within half an interval (0.2-5 s).
  boost::asio::awaitable<void> poll_peers();

  // Roles and the ring's verdicts from this instance's current votes; logs and exports
  // what changed.
  ring::RingEvaluation evaluate(std::vector<ring::BackendReport> local);

  // The hosts the ring owns: the ones probing starts as down, and what the acting
  // planner is rebuilt from when it differs.
  std::vector<OwnedHost> owned_hosts() const { return coordinator_.ownership().owned_hosts(); }
  bool owns(const IpAddress& address) const { return coordinator_.ownership().owns(address); }
  bool planner_matches(const std::vector<OwnedHost>& planner_owned) const {
    return coordinator_.ownership().matches(planner_owned);
  }
  // The acting planner's owned set changed from `before` to `after` (ownership.hpp);
  // saves the file when that changed the shared set.
  void planner_changed(const std::vector<OwnedHost>& before, const std::vector<OwnedHost>& after);
  // Downs the planner held before the ring knew this instance's name (a state file from
  // before the ring, or written while alone) become its claims once the name is known.
  void adopt_when_named(std::vector<OwnedHost> planner_owned);

  RingStatusView status() const;
  std::optional<BackendRingView> backend_view(const IpAddress& address) const;
  // There was no ownership file at the start (the first start with a ring).
  bool started_without_ownership_file() const { return started_fresh_; }
  // Closes the listener.
  void stop();

 private:
  void take_poll(const ring::RingPeer& peer, const std::string& body, const std::string& error);
  void ensure_listener();
  void note_ownership(const ring::OwnershipChange& change);
  void log_role(const ring::RoleDecision& role);
  void log_overruled(const std::map<IpAddress, ring::RingVerdict>& verdicts);
  void export_metrics(const ring::RingEvaluation& evaluation);
  std::string served_report() const;

  boost::asio::any_io_executor executor_;
  ring::RingSettings settings_;
  std::string secret_;
  std::string listen_;  // ring.listen; empty: the ring address
  std::string state_path_;
  bool started_fresh_ = false;
  PoolwatchMetrics& metrics_;
  ring::RingCoordinator coordinator_;
  std::unique_ptr<HttpServer> listener_;
  std::string listener_problem_;  // the last bind error, logged once
  std::vector<OwnedHost> to_adopt_;
  std::optional<ring::RoleDecision> last_role_;
  std::vector<std::string> last_membership_problems_;
  std::map<ring::InstanceId, std::string> peer_problems_;  // logged on change
  std::map<IpAddress, ring::Overruled> overruled_;         // logged on change
  ring::RingEvaluation last_;
};

}  // namespace poolwatch
