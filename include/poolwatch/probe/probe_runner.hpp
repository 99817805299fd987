#pragma once
// Probing one backend port: connect, optional TLS, the protocol dialogue (greeting,
// STARTTLS, login, optional checks, LOGOUT/QUIT), all under one deadline, with the
// result classified as a ProbeOutcome.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/account.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/config/credentials.hpp"
#include "poolwatch/probe/probe_outcome.hpp"
#include "poolwatch/probe/tls_context.hpp"
#include "poolwatch/probe/transport.hpp"

namespace poolwatch {

struct ProbeTarget {
  IpAddress address;
  std::string host_name;  // for TLS name templates and LMTP; may be empty
  PortSpec port;
};

class ProbeRunner {
 public:
  // Throws ConfigError when probe.source_address is not an IP address, or when a port
  // of config.ports uses TLS and the TLS settings are unusable (min_version, CA file).
  // Without such a port the TLS context is made at the first TLS probe (after a SIGHUP
  // adds one): OpenSSL's context and the system CAs cost some 4 MB of memory.
  ProbeRunner(boost::asio::any_io_executor executor, const ProbeConfig& config);
  ProbeRunner(const ProbeRunner&) = delete;
  ProbeRunner& operator=(const ProbeRunner&) = delete;

  // One whole dialogue under ONE deadline; never throws; the failure is classified with
  // a human reason, the latency measured, and the transcript has passwords masked.
  // Waits for a slot while max_in_flight probes are running; the deadline starts once
  // the slot is taken. Arguments are taken by value so a spawned probe owns them.
  boost::asio::awaitable<ProbeOutcome> run(ProbeTarget target, std::optional<Account> account,
                                           Seconds timeout);
  std::size_t in_flight() const { return in_flight_; }
  // Lowers max_in_flight to `limit` (never raises it): what the descriptor limit allows.
  void limit_in_flight(std::size_t limit);
  // The TLS context and session cache, made now if no TLS probe made it yet.
  TlsContextCache& tls();
  // Null until a TLS probe (or a TLS port at construction) made it.
  const TlsContextCache* tls_if_made() const { return tls_.get(); }
  // Off: outcomes carry no transcript. The daemon logs and exports reasons only; the
  // transcript is for `poolwatch probe`, and making it is a good part of a probe's
  // cost beyond the kernel's (issue 15).
  void keep_transcripts(bool on) { keep_transcripts_ = on; }

 private:
  boost::asio::awaitable<void> dialogue(Transport& transport, const ProbeTarget& target,
                                        const std::optional<Account>& account);
  // A slot of max_in_flight at once when one is free (no coroutine frame for the usual
  // case); else wait_for_slot() queues for the next one freed.
  bool try_acquire_slot();
  boost::asio::awaitable<void> wait_for_slot();
  void release_slot();

  boost::asio::any_io_executor executor_;
  ProbeConfig config_;
  std::unique_ptr<TlsContextCache> tls_;
  std::string local_name_;                          // our name in LHLO
  NameTemplate lmtp_to_;                            // probe.lmtp_to, parsed once
  std::optional<boost::asio::ip::address> source_;  // probe.source_address, parsed once
  std::size_t in_flight_ = 0;
  // Probes waiting for a slot, first come first served; each on its own coroutine frame.
  struct SlotWaiter {
    boost::asio::steady_timer* wake;
    bool granted;
  };
  std::list<SlotWaiter*> slot_waiters_;
  std::mt19937 marker_random_;  // the random part of deep-check markers
  bool keep_transcripts_ = true;
};

namespace detail {

// The per-protocol dialogues the runner drives after connect (and implicit TLS). Each
// records its failure in the transport and ends after LOGOUT/QUIT.
struct DialogueParams {
  const ProbeConfig& config;
  const std::optional<Account>& account;
  TlsMode tls;
  std::string_view local_name;
  std::string_view lmtp_recipient;     // probe.lmtp_to expanded; empty: the account's user
  std::string_view deep_check_marker;  // deep_check::make_marker(), made by the runner
  std::int64_t unix_time = 0;          // the Date of a deep check's test message
};

boost::asio::awaitable<void> imap_dialogue(Transport& transport, const DialogueParams& params);
boost::asio::awaitable<void> pop3_dialogue(Transport& transport, const DialogueParams& params);
boost::asio::awaitable<void> lmtp_dialogue(Transport& transport, const DialogueParams& params);

}  // namespace detail
}  // namespace poolwatch
