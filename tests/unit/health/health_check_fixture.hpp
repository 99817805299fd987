#pragma once
// The fake-clock driver of one health check, shared by the state machine's tests: a
// fixed random source and probes that start exactly at their due time, so every due
// time and timeout is exact.

#include <gtest/gtest.h>

#include <string>

#include "poolwatch/health/health_tracker.hpp"

namespace poolwatch::health_test {

using namespace std::chrono_literals;

inline constexpr std::int64_t kUnixStart = 1'700'000'000;

inline SteadyDuration d(Seconds s) {
  return std::chrono::round<SteadyDuration>(s);
}

inline ProbeOutcome success() {
  ProbeOutcome o;
  o.latency = 1500us;
  return o;
}

inline ProbeOutcome failure(FailureClass f = FailureClass::connect_refused,
                            std::string reason = "connection refused") {
  ProbeOutcome o;
  o.failure = f;
  o.reason = std::move(reason);
  o.latency = 2ms;
  return o;
}

// One check whose probes start exactly at their due time.
class Check {
 public:
  explicit Check(HealthConfig config = {}, double unit = 0.5, bool start_down = false)
      : machine_(
            "imap:143", config, [unit] { return unit; }, SteadyTime{}, start_down) {}

  // Runs the next probe: it starts at plan().due and takes `took`.
  std::optional<CheckTransition> probe(const ProbeOutcome& outcome, Seconds took = 0s) {
    now_ = machine_.plan().due + d(took);
    return machine_.record(outcome, now_, unix_now());
  }
  std::optional<CheckTransition> ok(Seconds took = 0s) { return probe(success(), took); }
  std::optional<CheckTransition> fail(Seconds took = 0s) { return probe(failure(), took); }

  std::int64_t unix_now() const {
    return kUnixStart +
           std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()).count();
  }
  CheckMachine& machine() { return machine_; }
  CheckState state() const { return machine_.state(); }
  SteadyTime now() const { return now_; }
  SteadyTime due() const { return machine_.plan().due; }
  SteadyDuration timeout() const { return machine_.plan().timeout; }

 private:
  CheckMachine machine_;
  SteadyTime now_{};
};

// Brings a check with the given config to down via the normal path.
inline void drive_down(Check& check, const HealthConfig& config) {
  check.ok();
  for (int i = 0; i < config.retry_count; ++i) check.fail();
  for (int i = 0; i < config.rapid_fails_needed && config.rapid_rounds > 0; ++i) check.fail();
  ASSERT_EQ(check.state(), CheckState::down);
}

}  // namespace poolwatch::health_test
