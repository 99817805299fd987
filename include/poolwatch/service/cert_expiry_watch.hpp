#pragma once
// When to tell the log that a backend's certificate runs out soon. Every TLS probe reports
// the earliest notAfter of the chain its backend presented; a warning on each of them
// would repeat the same line every few seconds, so this keeps, per backend, the expiry
// last warned about: it warns when a backend's earliest expiry comes within the window
// (or changes while in it, a new certificate that is still short-lived), and says so
// once when a renewed certificate takes the backend out of it. Time is passed in.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch {

class CertExpiryWatch {
 public:
  static constexpr std::int64_t kDay = 86400;

  struct Notice {
    enum class Kind { expires_soon, renewed };
    Kind kind = Kind::expires_soon;
    std::string check;           // the check whose certificate expires first, "imaps:993"
    std::int64_t not_after = 0;  // unix seconds
    std::int64_t days_left = 0;  // whole days from now, rounded down; negative once expired
  };

  explicit CertExpiryWatch(std::int64_t warn_within = kCertExpiryWarnDays * kDay)
      : warn_within_(warn_within) {}

  // A TLS probe of `check` on `backend` saw a chain whose earliest notAfter is
  // `not_after`. Returns what to log, if anything.
  std::optional<Notice> record(const std::string& backend, const std::string& check,
                               std::int64_t not_after, std::int64_t now);
  // The earliest expiry over the backend's TLS checks; none before a TLS probe finished.
  std::optional<std::int64_t> earliest(std::string_view backend) const;
  // The backend left the pool.
  void forget(std::string_view backend);

 private:
  struct Backend {
    std::map<std::string, std::int64_t, std::less<>> by_check;
    std::optional<std::int64_t> warned_about;  // the expiry last warned about
  };
  std::int64_t warn_within_;
  std::map<std::string, Backend, std::less<>> backends_;
};

}  // namespace poolwatch
