#pragma once
// A rate cap: `rate` tokens a second, at most `burst` saved up. Pure: the caller passes
// the time, so tests step it by hand.

#include <algorithm>
#include <chrono>

namespace poolwatch {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double rate, double burst)
      : rate_(rate), burst_(std::max(1.0, burst)), tokens_(burst_) {}

  // Takes one token if there is one.
  bool try_take(Clock::time_point now) {
    if (started_) {
      const std::chrono::duration<double> elapsed = now - last_;
      if (elapsed.count() > 0) tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    }
    started_ = true;
    last_ = std::max(last_, now);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  bool started_ = false;
  Clock::time_point last_{};
};

}  // namespace poolwatch
