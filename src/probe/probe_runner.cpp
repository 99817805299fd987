#include "poolwatch/probe/probe_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <new>

#include "poolwatch/common/asio_address.hpp"
#include "poolwatch/common/asio_tokens.hpp"
#include "poolwatch/common/text.hpp"
#include "poolwatch/probe/deep_check.hpp"

namespace poolwatch {

namespace asio = boost::asio;
using asio::awaitable;
using namespace asio::experimental::awaitable_operators;

namespace {

// probe.source_address as the sockets take it; the loader has checked it already.
std::optional<asio::ip::address> source_address(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const auto address = IpAddress::parse(text);
  if (!address)
    throw ConfigError(fmt::format("probe.source_address: '{}' is not an IP address",
                                  printable_excerpt(text, 60)));
  return to_asio(*address);
}

std::string our_host_name() {
  boost::system::error_code ec;
  auto name = asio::ip::host_name(ec);
  return ec || name.empty() ? std::string("poolwatch") : name;
}

}  // namespace

ProbeRunner::ProbeRunner(asio::any_io_executor executor, const ProbeConfig& config)
    : executor_(executor),
      config_(config),
      local_name_(our_host_name()),
      lmtp_to_(NameTemplate::parse(config.lmtp_to)),
      source_(source_address(config.source_address)),
      marker_random_(std::random_device{}()) {
  const bool uses_tls = std::any_of(config.ports.begin(), config.ports.end(),
                                    [](const PortSpec& p) { return p.tls != TlsMode::plain; });
  if (uses_tls) tls();
}

TlsContextCache& ProbeRunner::tls() {
  if (!tls_) tls_ = std::make_unique<TlsContextCache>(config_.tls);
  return *tls_;
}

void ProbeRunner::limit_in_flight(std::size_t limit) {
  config_.max_in_flight = std::min(config_.max_in_flight, std::max<std::size_t>(limit, 1));
}

bool ProbeRunner::try_acquire_slot() {
  const std::size_t limit = std::max<std::size_t>(config_.max_in_flight, 1);
  if (in_flight_ >= limit || !slot_waiters_.empty()) return false;
  ++in_flight_;
  return true;
}

// Each waiter waits on a timer of its own and a freed slot passes to the first waiter
// directly. One timer shared by every waiter made a stop O(N^2): cancelling one waiter's
// wait walks the queue of every wait on that timer, and with 100 000 backends over
// max_in_flight a SIGTERM took minutes.
awaitable<void> ProbeRunner::wait_for_slot() {
  asio::steady_timer wake(executor_, asio::steady_timer::time_point::max());
  SlotWaiter me{&wake, false};
  const auto position = slot_waiters_.insert(slot_waiters_.end(), &me);
  struct LeaveQueue {
    std::list<SlotWaiter*>& waiters;
    std::list<SlotWaiter*>::iterator position;
    const SlotWaiter& me;
    ~LeaveQueue() {
      if (!me.granted) waiters.erase(position);  // cancelled while waiting
    }
  } leave{slot_waiters_, position, me};
  // A cancelled wait comes back without the slot; the next wait then throws.
  while (!me.granted) co_await wake.async_wait(use_tuple);
}

void ProbeRunner::release_slot() {
  if (slot_waiters_.empty()) {
    --in_flight_;
    return;
  }
  SlotWaiter* next = slot_waiters_.front();
  slot_waiters_.pop_front();
  next->granted = true;  // in_flight_ still counts the slot: it changes hands
  next->wake->cancel();
}

awaitable<void> ProbeRunner::dialogue(Transport& transport, const ProbeTarget& target,
                                      const std::optional<Account>& account) {
  // A fault of the dialogue is the probe's outcome, never an exception out of the race.
  try {
    // g++ 12: see CONTRIBUTING.md (no co_await in a condition).
    bool ok = transport.connect();
    if (ok && target.port.tls == TlsMode::implicit) ok = co_await transport.start_tls();
    if (!ok) co_return;
    const std::string lmtp_recipient =
        lmtp_to_.empty() ? std::string() : lmtp_to_.expand(target.address, target.host_name);
    const auto now = unix_now();
    // Only a deep check sends the marker; made on every probe it would cost a format.
    const bool deep = config_.imap_append_expunge || config_.lmtp_deliver;
    const auto marker =
        deep ? deep_check::make_marker(now, static_cast<std::uint32_t>(marker_random_()))
             : std::string();
    const detail::DialogueParams params{
        config_, account, target.port.tls, local_name_, lmtp_recipient, marker, now};
    switch (target.port.protocol) {
      case Protocol::imap:
        co_await detail::imap_dialogue(transport, params);
        break;
      case Protocol::pop3:
        co_await detail::pop3_dialogue(transport, params);
        break;
      case Protocol::lmtp:
        co_await detail::lmtp_dialogue(transport, params);
        break;
    }
  } catch (const std::bad_alloc&) {
    transport.fail(FailureClass::local_resource, "probe aborted: out of memory");
  } catch (const std::exception& e) {
    transport.fail(FailureClass::io_error, fmt::format("probe aborted: {}", e.what()));
  }
}

awaitable<ProbeOutcome> ProbeRunner::run(ProbeTarget target, std::optional<Account> account,
                                         Seconds timeout) {
  if (!try_acquire_slot()) co_await wait_for_slot();
  struct SlotGuard {
    ProbeRunner& runner;
    ~SlotGuard() { runner.release_slot(); }
  } slot{*this};

  const auto started = std::chrono::steady_clock::now();
  TlsContextCache* tls = nullptr;
  std::string tls_error;
  if (target.port.tls != TlsMode::plain) {
    // Made here only when a SIGHUP added the first TLS port; its error is this host's
    // setting, never the backend's fault.
    try {
      tls = &this->tls();
    } catch (const ConfigError& e) {
      tls_error = e.what();
    }
  }
  if (!tls_error.empty()) {
    ProbeOutcome outcome;
    outcome.started = started;
    outcome.failure = FailureClass::local_resource;
    outcome.reason = std::move(tls_error);
    co_return outcome;
  }
  Transport transport(executor_, tls, {to_asio(target.address), target.port.port}, target.host_name,
                      TransportLimits{config_.max_line, config_.max_bytes}, source_);
  transport.keep_transcript(keep_transcripts_);
  if (account)
    transport.set_secrets(
        SecretScrubber::for_login(account->user, account->master_user, account->password.reveal()));
  asio::steady_timer deadline(executor_);
  deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout));
  // The deadline races the dialogue as `co_await (dialogue || deadline.async_wait())` does,
  // spelled as the parallel group that `||` makes, for one difference: `||` wraps the
  // timer's wait in a coroutine of its own, co_spawned, which is 3.9k instructions of a
  // greeting probe's 45.7k (bench/callgrind_probe.sh); the group waits on the timer itself.
  auto dialogue_op =
      asio::co_spawn(executor_, dialogue(transport, target, account), asio::deferred);
  auto deadline_op = deadline.async_wait(asio::deferred);
  auto race =
      asio::experimental::make_parallel_group(std::move(dialogue_op), std::move(deadline_op));
  const auto result =
      co_await race.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  const auto& [order, escaped, deadline_ec] = result;
  // dialogue() catches what it can; anything else goes to the spawn site's log.
  if (escaped) std::rethrow_exception(escaped);
  // A stop cancels both: the timer's wait then ends with an error and the dialogue's own
  // failure (cancelled) stands, as with `||`, which waits for a side that succeeds.
  const bool deadline_passed = order[0] == 1 && !deadline_ec;
  if (deadline_passed) {
    if (transport.connected())
      transport.override_failure(
          FailureClass::timeout,
          fmt::format("timeout after {:.1f} s waiting for {}", timeout.count(), transport.step()));
    else
      transport.override_failure(FailureClass::connect_timeout,
                                 fmt::format("connect timeout after {:.1f} s", timeout.count()));
  }
  transport.close();

  ProbeOutcome outcome;
  outcome.started = started;
  outcome.failure = transport.failure();
  outcome.reason = transport.reason();
  outcome.latency = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  outcome.transcript = transport.transcript_lines();
  outcome.cert_not_after = transport.cert_not_after();
  // Its arguments would be made (an address string) on every probe, logged or not.
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("probe {}:{} {}/{}: {}{}{} in {} ms", target.address.to_string(),
                  target.port.port, to_string(target.port.protocol), to_string(target.port.tls),
                  to_string(outcome.failure), outcome.reason.empty() ? "" : ": ", outcome.reason,
                  outcome.latency.count() / 1000);
  co_return outcome;
}

}  // namespace poolwatch
