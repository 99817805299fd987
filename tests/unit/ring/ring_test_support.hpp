#pragma once
// Shared by the ring's unit tests: names, a fake clock, and builders of DIRECTOR-LISTs
// and reports, so that each test states only what differs. Named functions in a named
// namespace: the unity build puts several test files into one translation unit.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "poolwatch/director/director_list.hpp"
#include "poolwatch/ring/peer_report.hpp"
#include "poolwatch/ring/ring_types.hpp"

namespace poolwatch::ring {
// gtest prints an instance by its name.
inline void PrintTo(const InstanceId& id, std::ostream* out) {
  *out << id.to_string();
}
}  // namespace poolwatch::ring

namespace poolwatch::ring::test {

inline InstanceId instance(const std::string& ip, std::uint16_t port = 9090) {
  return {make_ip_address(ip), port};
}

inline const InstanceId kA = instance("127.0.0.1");
inline const InstanceId kB = instance("127.0.0.21");
inline const InstanceId kC = instance("127.0.0.22");
inline const InstanceId kD = instance("127.0.0.23");
inline const InstanceId kE = instance("127.0.0.24");
inline const IpAddress kBackend1 = make_ip_address("127.0.1.1");
inline const IpAddress kBackend2 = make_ip_address("127.0.1.2");
inline const IpAddress kBackend3 = make_ip_address("127.0.1.3");

// Steady time and unix time that advance together, as in a running daemon.
class FakeClock {
 public:
  SteadyTime now() const { return start_ + elapsed_; }
  std::int64_t unix_now() const {
    return kUnixStart + std::chrono::duration_cast<std::chrono::seconds>(elapsed_).count();
  }
  void advance(std::chrono::milliseconds by) { elapsed_ += by; }
  void advance_seconds(double seconds) {
    advance(std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000)));
  }

  static constexpr std::int64_t kUnixStart = 1'800'000'000;

 private:
  SteadyTime start_ = SteadyTime{} + std::chrono::hours(100);
  std::chrono::milliseconds elapsed_{0};
};

inline RingSettings ring_settings() {
  RingSettings settings;
  settings.interval = Seconds(10);
  settings.peer_port = 9168;
  settings.max_probe_age = Seconds(120);
  return settings;
}

// The DIRECTOR-LIST `self` sees of a ring of `ring` (2.2.34+ format: host lines), every
// other director connected and synced unless listed in `unconnected`.
inline director::DirectorList director_list(
    const InstanceId& self, const std::vector<InstanceId>& ring,
    const std::vector<InstanceId>& unconnected = {},
    director::LinkStatus self_status = director::LinkStatus::synced) {
  director::DirectorList list;
  list.format = director::DirectorListFormat::per_connection;
  for (const auto& id : ring) {
    director::RingDirector director;
    director.address = id.ip;
    director.port = id.port;
    if (id == self) {
      director.self = true;
      director.status = self_status;
    } else if (std::find(unconnected.begin(), unconnected.end(), id) == unconnected.end()) {
      director.left = true;
      director.status = director::LinkStatus::synced;
    }
    list.directors.push_back(director);
  }
  return list;
}

inline BackendReport backend_vote(const IpAddress& address, Verdict verdict,
                                  std::int64_t last_probe_unix) {
  BackendReport backend{
      address, verdict, std::max<std::int64_t>(0, last_probe_unix - 30), last_probe_unix, {}};
  if (verdict == Verdict::down)
    backend.failing.push_back({"imap:143", "connect_refused", "connection refused"});
  return backend;
}

// What an instance that sees every backend in `down` down and the others up reports.
inline std::vector<BackendReport> votes(const std::vector<IpAddress>& backends,
                                        const std::vector<IpAddress>& down, std::int64_t unix_now) {
  std::vector<BackendReport> result;
  for (const auto& address : backends) {
    const bool is_down = std::find(down.begin(), down.end(), address) != down.end();
    result.push_back(backend_vote(address, is_down ? Verdict::down : Verdict::up, unix_now));
  }
  return result;
}

inline PeerReport peer_report(const InstanceId& id, std::int64_t unix_now,
                              std::vector<BackendReport> backends = {},
                              RingRole role = RingRole::standby, bool synced = true) {
  PeerReport report;
  report.instance = id;
  report.generated_unix = unix_now;
  report.director_synced = synced;
  report.role = role;
  report.backends = std::move(backends);
  return report;
}

}  // namespace poolwatch::ring::test
