#include "poolwatch/ring/peer_report.hpp"

#include "poolwatch/common/text.hpp"
#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch::ring {

BackendReport backend_report(const BackendStatus& status) {
  BackendReport report{status.address,
                       status.verdict.verdict,
                       status.verdict.since_unix,
                       status.last_probe_unix,
                       {}};
  for (const auto& check : status.checks) {
    if (!check.last_outcome || *check.last_outcome == FailureClass::none) continue;
    if (report.failing.size() == kMaxFailingChecks) break;
    report.failing.push_back({printable_excerpt(check.label, kMaxReportText),
                              std::string(to_string(*check.last_outcome)),
                              printable_excerpt(check.last_reason, kMaxReportText)});
  }
  return report;
}

}  // namespace poolwatch::ring
