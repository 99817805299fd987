#include "support/dovecot_ring_lab.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "support/child_process.hpp"
#include "support/lab_network.hpp"

namespace poolwatch::test {

namespace {

using Clock = std::chrono::steady_clock;

// A ring-changing command waits for the ring, at most 30 s before it runs and 30 s
// after (director-admin-protocol.md §3.4); DIRECTOR-LIST answers at once, and a short
// bound keeps a hung director from stalling wait_ring_synced past its own timeout.
constexpr std::chrono::milliseconds kCommandTimeout{65'000};
constexpr std::chrono::milliseconds kListTimeout{5'000};

}  // namespace

std::unique_ptr<DovecotRingLab> DovecotRingLab::start(Options options) {
  if (options.directors < 2 || options.directors > 9) {
    throw std::runtime_error(
        fmt::format("ring lab directors must be 2..9, got {}", options.directors));
  }
  if (!in_own_network_namespace()) {
    throw std::runtime_error(
        "the ring lab runs only in a network namespace of the test's own (`unshare -n`, lo "
        "up): its addresses and nftables rules must never reach the host's");
  }
  auto dir = LabDir::up(options.backends, fmt::format("-r {}{}", options.directors,
                                                      options.fast_auth_failures ? " -F" : ""));
  return std::unique_ptr<DovecotRingLab>(new DovecotRingLab(std::move(dir), options.directors));
}

std::string DovecotRingLab::director_name(int director) const {
  if (director < 1 || director > directors()) {
    throw std::out_of_range(fmt::format("director {} not in 1..{}", director, directors()));
  }
  return fmt::format("director{}", director);
}

std::string DovecotRingLab::director_address(int director) const {
  director_name(director);  // range check
  return fmt::format("127.0.0.{}", 10 + director);
}

std::string DovecotRingLab::admin_socket(int director) const {
  return dir() + "/" + director_name(director) + "/director-admin";
}

std::string DovecotRingLab::config_file(int director) const {
  return dir() + "/etc/" + director_name(director) + ".conf";
}

std::string DovecotRingLab::director_log(int director) const {
  std::ifstream in(dir() + "/log/" + director_name(director) + ".log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool DovecotRingLab::director_running(int director) const {
  director_name(director);
  return running_[static_cast<std::size_t>(director - 1)];
}

std::set<std::string> DovecotRingLab::running_peers_of(int director) const {
  director_name(director);
  std::set<std::string> peers;
  for (int peer = 1; peer <= directors(); ++peer) {
    if (peer != director && director_running(peer)) peers.insert(director_address(peer));
  }
  return peers;
}

std::vector<std::string> DovecotRingLab::admin_request(int director,
                                                       const std::string& command) const {
  return director_admin_request(admin_socket(director), command, kCommandTimeout);
}

DirectorListView DovecotRingLab::director_list(int director) const {
  return parse_director_list(
      director_admin_request(admin_socket(director), "DIRECTOR-LIST", kListTimeout));
}

bool DovecotRingLab::ring_synced_now(std::string& why_not) const {
  for (int director = 1; director <= directors(); ++director) {
    if (!director_running(director)) continue;
    const std::set<std::string> expected_peers = running_peers_of(director);
    try {
      const DirectorListView view = director_list(director);
      if (view.ring_synced() && view.synced_peers == expected_peers) continue;
      why_not = fmt::format(
          "director{}: self '{}', synced peers {}, expected {}; DIRECTOR-LIST:\n{}", director,
          view.self_status, view.synced_peers, expected_peers, fmt::join(view.lines, "\n"));
    } catch (const std::runtime_error& e) {
      why_not = fmt::format("director{}: {}", director, e.what());
    }
    return false;
  }
  return true;
}

std::chrono::milliseconds DovecotRingLab::wait_ring_synced(
    std::chrono::milliseconds timeout) const {
  const auto started = Clock::now();
  std::string why_not;
  if (!eventually([&] { return ring_synced_now(why_not); }, timeout)) {
    throw std::runtime_error(
        fmt::format("ring not synced within {} ms: {}", timeout.count(), why_not));
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
}

std::string DovecotRingLab::director_status(int director) const {
  return dir_->script("status.sh", director_name(director));
}

std::map<std::string, std::string> DovecotRingLab::host_states(int director) const {
  return parse_director_status(director_status(director));
}

void DovecotRingLab::director_fault(int director, const std::string& action) {
  const std::string name = director_name(director);
  dir_->script("fault.sh", name + " " + DovecotLab::shell_quote(action));
  if (action == "stop" || action == "kill")
    running_[static_cast<std::size_t>(director - 1)] = false;
  if (action == "start") running_[static_cast<std::size_t>(director - 1)] = true;
}

void DovecotRingLab::backend_fault(int backend_index, const std::string& action) {
  dir_->script("fault.sh", fmt::format("{} {}", backend_index, DovecotLab::shell_quote(action)));
}

}  // namespace poolwatch::test
