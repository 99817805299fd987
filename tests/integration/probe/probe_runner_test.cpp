// The runner: many probes on one thread, slots, TLS session resumption.

#include "poolwatch/probe/probe_runner.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <vector>

#include "support/fake_mail_server.hpp"

using namespace poolwatch;
using namespace poolwatch::testing;
namespace asio = boost::asio;

namespace {

ProbeTarget target_of(const FakeMailServer& server) {
  return {make_ip_address("127.0.0.1"),
          "backend1",
          {server.options().protocol, server.port(), server.options().tls}};
}

struct Finished {
  std::vector<ProbeOutcome> outcomes;
  std::vector<std::string> order;
};

void spawn_probe(asio::io_context& io, ProbeRunner& runner, const ProbeTarget& target,
                 Seconds timeout, Finished& finished, std::string label) {
  asio::co_spawn(io, runner.run(target, fake_account(), timeout),
                 [&finished, label](std::exception_ptr error, ProbeOutcome outcome) {
                   if (error) std::rethrow_exception(error);
                   finished.outcomes.push_back(std::move(outcome));
                   finished.order.push_back(label);
                 });
}

}  // namespace

TEST(ProbeRunner, FiveHundredConcurrentProbesOnOneThread) {
  FakeMailServer healthy(fake_options(Protocol::imap));
  FakeMailServer hung(fake_options(Protocol::imap, FakeBehaviour::never_answer));
  asio::io_context io;
  ProbeConfig config = probe_config_for(healthy);
  ProbeRunner runner(io.get_executor(), config);
  Finished finished;
  for (int i = 0; i < 250; ++i) {
    spawn_probe(io, runner, target_of(hung), Seconds{3}, finished, "hung");
    spawn_probe(io, runner, target_of(healthy), Seconds{30}, finished, "healthy");
  }
  io.run();  // this thread is the only one driving the probes
  ASSERT_EQ(finished.outcomes.size(), 500u);
  int ok = 0, timeouts = 0;
  for (const auto& outcome : finished.outcomes) {
    ok += outcome.ok();
    timeouts += outcome.failure == FailureClass::timeout;
  }
  EXPECT_EQ(ok, 250);
  EXPECT_EQ(timeouts, 250);
  // Hung backends never held up healthy ones: every healthy probe finished first.
  const auto first_hung = std::find(finished.order.begin(), finished.order.end(), "hung");
  EXPECT_EQ(std::count(finished.order.begin(), first_hung, "healthy"), 250);
  EXPECT_EQ(runner.in_flight(), 0u);
  EXPECT_EQ(healthy.received().size(), 500u);  // LOGIN + LOGOUT each
}

TEST(ProbeRunner, MaxInFlightQueuesProbes) {
  FakeMailServer hung(fake_options(Protocol::imap, FakeBehaviour::never_answer));
  asio::io_context io;
  ProbeConfig config = probe_config_for(hung);
  config.max_in_flight = 2;
  ProbeRunner runner(io.get_executor(), config);
  Finished finished;
  std::size_t most_in_flight = 0;
  for (int i = 0; i < 6; ++i) {
    asio::co_spawn(io, runner.run(target_of(hung), fake_account(), Seconds{0.2}),
                   [&](std::exception_ptr, ProbeOutcome outcome) {
                     most_in_flight = std::max(most_in_flight, runner.in_flight());
                     finished.outcomes.push_back(std::move(outcome));
                   });
  }
  io.poll();  // start every probe coroutine: two take slots, four wait
  EXPECT_EQ(runner.in_flight(), 2u);
  io.run();
  ASSERT_EQ(finished.outcomes.size(), 6u);
  for (const auto& outcome : finished.outcomes) EXPECT_EQ(outcome.failure, FailureClass::timeout);
  EXPECT_LE(most_in_flight, 2u);
  EXPECT_EQ(runner.in_flight(), 0u);
  EXPECT_EQ(hung.connections(), 6u);
}

TEST(ProbeRunner, AProbeCancelledWhileWaitingForASlotLeavesTheQueueAndTheRestRunInOrder) {
  FakeMailServer hung(fake_options(Protocol::imap, FakeBehaviour::never_answer));
  asio::io_context io;
  ProbeConfig config = probe_config_for(hung);
  config.max_in_flight = 1;
  ProbeRunner runner(io.get_executor(), config);
  std::vector<asio::cancellation_signal> cancel(4);
  std::vector<int> order;
  int aborted = 0;
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(io, runner.run(target_of(hung), fake_account(), Seconds{0.1}),
                   asio::bind_cancellation_slot(
                       cancel[i].slot(), [&order, &aborted, i](std::exception_ptr e, ProbeOutcome) {
                         if (e)
                           ++aborted;
                         else
                           order.push_back(i);
                       }));
  }
  io.poll();  // probe 0 runs, 1 to 3 wait
  cancel[1].emit(asio::cancellation_type::terminal);
  cancel[2].emit(asio::cancellation_type::terminal);
  io.run();
  EXPECT_EQ(aborted, 2);
  EXPECT_EQ(order, (std::vector<int>{0, 3}));
  EXPECT_EQ(runner.in_flight(), 0u);
  EXPECT_EQ(hung.connections(), 2u);
}

// A stop cancels a probe in the middle of its dialogue: the deadline's timer is cancelled
// with it, and the probe says it was cancelled, not that its timeout passed.
TEST(ProbeRunner, AProbeCancelledWhileItTalksSaysSoAndNotThatItTimedOut) {
  FakeMailServer hung(fake_options(Protocol::imap, FakeBehaviour::never_answer));
  asio::io_context io;
  ProbeRunner runner(io.get_executor(), probe_config_for(hung));
  asio::cancellation_signal cancel;
  std::optional<ProbeOutcome> outcome;
  bool threw = false;
  asio::co_spawn(io, runner.run(target_of(hung), fake_account(), Seconds{30}),
                 asio::bind_cancellation_slot(
                     cancel.slot(), [&outcome, &threw](std::exception_ptr e, ProbeOutcome o) {
                       threw = e != nullptr;
                       outcome = std::move(o);
                     }));
  io.run_for(std::chrono::milliseconds(300));  // connected, waiting for the greeting
  ASSERT_FALSE(outcome.has_value());
  cancel.emit(asio::cancellation_type::terminal);
  io.run();  // a probe that ignored the stop would end at its deadline, as a timeout
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(threw);
  EXPECT_EQ(outcome->reason, "cancelled while waiting for greeting");
  EXPECT_EQ(runner.in_flight(), 0u);
}

TEST(ProbeRunner, DescriptorBudgetLowersMaxInFlightButNeverRaisesIt) {
  FakeMailServer hung(fake_options(Protocol::imap, FakeBehaviour::never_answer));
  asio::io_context io;
  ProbeConfig config = probe_config_for(hung);
  config.max_in_flight = 4;
  ProbeRunner runner(io.get_executor(), config);
  runner.limit_in_flight(2);
  runner.limit_in_flight(10);
  for (int i = 0; i < 6; ++i)
    asio::co_spawn(io, runner.run(target_of(hung), fake_account(), Seconds{0.2}), asio::detached);
  io.poll();
  EXPECT_EQ(runner.in_flight(), 2u);
  io.run();
}

TEST(ProbeRunner, TlsSessionsAreResumedPerBackend) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::normal, TlsMode::implicit));
  asio::io_context io;
  ProbeRunner runner(io.get_executor(), probe_config_for(server));
  Finished finished;
  for (int i = 0; i < 3; ++i) {
    spawn_probe(io, runner, target_of(server), Seconds{5}, finished, "tls");
    io.run();
    io.restart();
  }
  ASSERT_EQ(finished.outcomes.size(), 3u);
  for (const auto& outcome : finished.outcomes) EXPECT_TRUE(outcome.ok()) << outcome.reason;
  EXPECT_EQ(runner.tls().full_handshakes(), 1u);
  EXPECT_EQ(runner.tls().resumed_handshakes(), 2u);
  EXPECT_EQ(server.tls_resumed(), 2u);
  EXPECT_EQ(runner.tls().cached_sessions(), 1u);
}

TEST(ProbeRunner, SessionResumptionCanBeDisabled) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::normal, TlsMode::implicit));
  asio::io_context io;
  auto config = probe_config_for(server);
  config.tls.session_resumption = false;
  ProbeRunner runner(io.get_executor(), config);
  Finished finished;
  for (int i = 0; i < 2; ++i) {
    spawn_probe(io, runner, target_of(server), Seconds{5}, finished, "tls");
    io.run();
    io.restart();
  }
  EXPECT_EQ(runner.tls().full_handshakes(), 2u);
  EXPECT_EQ(server.tls_resumed(), 0u);
}

TEST(ProbeRunner, BadTlsSettingsAreConfigErrors) {
  asio::io_context io;
  ProbeConfig config;
  config.ports = {PortSpec{Protocol::imap, 993, TlsMode::implicit}};
  config.tls.min_version = "1.4";
  EXPECT_THROW(ProbeRunner(io.get_executor(), config), ConfigError);
  config.tls.min_version = "1.2";
  config.tls.verify_peer = true;
  config.tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(ProbeRunner(io.get_executor(), config), ConfigError);
}

// Plain ports only: no OpenSSL context (some 4 MB) until a TLS probe needs one. When a
// SIGHUP has added a TLS port and the TLS settings are unusable, that probe fails as
// this host's fault, never the backend's.
TEST(ProbeRunner, MakesItsTlsContextAtTheFirstTlsProbe) {
  FakeMailServer server(fake_options(Protocol::imap, FakeBehaviour::normal));
  asio::io_context io;
  ProbeConfig config = probe_config_for(server);
  config.tls.verify_peer = true;
  config.tls.ca_file = "/nonexistent/ca.pem";
  ProbeRunner runner(io.get_executor(), config);
  EXPECT_EQ(runner.tls_if_made(), nullptr);
  Finished plain;
  spawn_probe(io, runner, target_of(server), Seconds{10}, plain, "plain");
  io.run();
  ASSERT_EQ(plain.outcomes.size(), 1u);
  EXPECT_TRUE(plain.outcomes[0].ok()) << plain.outcomes[0].reason;
  EXPECT_EQ(runner.tls_if_made(), nullptr);

  auto tls_target = target_of(server);
  tls_target.port.tls = TlsMode::implicit;
  Finished tls;
  spawn_probe(io, runner, tls_target, Seconds{10}, tls, "tls");
  io.restart();
  io.run();
  ASSERT_EQ(tls.outcomes.size(), 1u);
  EXPECT_EQ(tls.outcomes[0].failure, FailureClass::local_resource);
  EXPECT_NE(tls.outcomes[0].reason.find("probe.tls.ca_file"), std::string::npos)
      << tls.outcomes[0].reason;
}

// The daemon's runner keeps no transcripts (issue 15: their making is per-probe cost
// nothing reads); a failure still has its reason, and a runner keeps them by default.
TEST(ProbeRunner, WithoutTranscriptsAFailureKeepsItsReason) {
  FakeMailServer rejecting(fake_options(Protocol::imap, FakeBehaviour::reject_password));
  asio::io_context io;
  ProbeRunner runner(io.get_executor(), probe_config_for(rejecting));
  Finished kept;
  spawn_probe(io, runner, target_of(rejecting), Seconds{10}, kept, "kept");
  io.run();
  runner.keep_transcripts(false);
  Finished dropped;
  spawn_probe(io, runner, target_of(rejecting), Seconds{10}, dropped, "dropped");
  io.restart();
  io.run();
  ASSERT_EQ(kept.outcomes.size(), 1u);
  ASSERT_EQ(dropped.outcomes.size(), 1u);
  EXPECT_FALSE(kept.outcomes[0].transcript.empty());
  EXPECT_TRUE(dropped.outcomes[0].transcript.empty());
  EXPECT_EQ(dropped.outcomes[0].failure, FailureClass::auth_rejected);
  EXPECT_EQ(dropped.outcomes[0].reason, kept.outcomes[0].reason);
}
