#pragma once
// The vocabulary shared by probes, the health state machine, logs and metrics.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace poolwatch {

enum class Protocol { imap, pop3, lmtp };
enum class TlsMode { plain, implicit, starttls };

// Why a probe failed. Each class is a distinct operator story: "refused" means the
// service is not running, "auth_temporary" means the auth backend (not the password)
// is the problem, "timeout" means something hung.
enum class FailureClass {
  none,             // success
  connect_refused,  // RST / unreachable
  connect_timeout,  // no TCP handshake within the deadline
  tls_handshake,    // TLS handshake failed
  tls_verify,       // certificate did not verify (chain, name, expiry)
  protocol_error,   // unexpected greeting or reply, PREAUTH, BYE, garbage, overlong line
  auth_rejected,    // the server refused the credentials
  auth_temporary,   // NO [UNAVAILABLE] / -ERR [SYS/TEMP]: auth backend trouble
  timeout,          // the dialogue did not finish within the deadline
  io_error,         // connection reset or closed mid-dialogue
  config_error,     // the probe cannot run as configured (LOGINDISABLED, no STARTTLS)
  // poolwatch could not run the probe: out of descriptors, buffers, local ports or
  // memory, or a probe.source_address it cannot connect from. Says nothing about the
  // backend, so it never counts against it.
  local_resource,
};

std::string_view to_string(Protocol p);
std::string_view to_string(TlsMode m);
std::string_view to_string(FailureClass f);
std::optional<Protocol> protocol_from_string(std::string_view s);

// Whether an errno from socket(), connect() or a read/write means this host ran out of
// something (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL: no local port left) rather
// than that the backend refused or failed.
bool is_local_resource_error(int error_number);

// Within this many days of its certificate's expiry a backend is warned about in the log
// and marked on the status page (docs/alerts.yml's rule uses the same figure).
inline constexpr std::int64_t kCertExpiryWarnDays = 14;

struct ProbeOutcome {
  FailureClass failure = FailureClass::none;
  std::string reason;  // human text: "connect timeout after 3.0 s"; never a secret
  std::chrono::microseconds latency{0};
  // When the probe had its probe.max_in_flight slot and began to connect; the epoch
  // when it never got that far.
  std::chrono::steady_clock::time_point started{};
  // Lines exchanged, for `poolwatch probe`; passwords already masked. A Transcript: the
  // first and last lines of a long dialogue, with the number omitted between them.
  std::vector<std::string> transcript;
  // Unix time of the earliest notAfter in the chain the backend presented on a finished
  // TLS handshake (probe/cert_expiry.hpp); none for plain probes and failed handshakes.
  std::optional<std::int64_t> cert_not_after;

  bool ok() const { return failure == FailureClass::none; }
  // False when poolwatch could not run the probe at all (FailureClass::local_resource).
  bool ran() const { return failure != FailureClass::local_resource; }
};

}  // namespace poolwatch
