#include "poolwatch/service/cert_expiry_watch.hpp"

#include <algorithm>

#include "poolwatch/common/text.hpp"

namespace poolwatch {

std::optional<CertExpiryWatch::Notice> CertExpiryWatch::record(const std::string& backend,
                                                               const std::string& check,
                                                               std::int64_t not_after,
                                                               std::int64_t now) {
  auto& entry = backends_[backend];
  entry.by_check[check] = not_after;
  const auto first =
      std::min_element(entry.by_check.begin(), entry.by_check.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  Notice notice;
  notice.check = first->first;
  notice.not_after = first->second;
  notice.days_left = days_until(first->second, now);
  if (first->second - now < warn_within_) {
    if (entry.warned_about == first->second) return std::nullopt;
    entry.warned_about = first->second;
    notice.kind = Notice::Kind::expires_soon;
    return notice;
  }
  if (!entry.warned_about) return std::nullopt;
  entry.warned_about.reset();
  notice.kind = Notice::Kind::renewed;
  return notice;
}

std::optional<std::int64_t> CertExpiryWatch::earliest(std::string_view backend) const {
  const auto it = backends_.find(backend);
  if (it == backends_.end() || it->second.by_check.empty()) return std::nullopt;
  std::int64_t earliest = it->second.by_check.begin()->second;
  for (const auto& [check, not_after] : it->second.by_check)
    earliest = std::min(earliest, not_after);
  return earliest;
}

void CertExpiryWatch::forget(std::string_view backend) {
  if (const auto it = backends_.find(backend); it != backends_.end()) backends_.erase(it);
}

}  // namespace poolwatch
