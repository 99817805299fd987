// Hostile backends: a flood of untagged lines must cost the probe a bounded transcript,
// and a backend that echoes the commands must never get the password into the
// transcript or the reason.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "poolwatch/probe/probe_runner.hpp"
#include "poolwatch/probe/transcript.hpp"
#include "support/fake_mail_server.hpp"

using namespace poolwatch;
using namespace poolwatch::testing;
using ::testing::HasSubstr;

namespace {

std::size_t transcript_bytes(const ProbeOutcome& outcome) {
  std::size_t bytes = 0;
  for (const auto& line : outcome.transcript) bytes += line.size();
  return bytes;
}

}  // namespace

TEST(ProbeHostile, FloodOfUntaggedLinesKeepsTheTranscriptBounded) {
  auto options = fake_options(Protocol::imap, FakeBehaviour::flood_untagged);
  options.flood_bytes = 1 << 20;
  FakeMailServer server(options);
  auto config = probe_config_for(server);
  config.max_bytes = 8 << 20;  // the flood is read to its end
  const auto outcome = probe_once(server, config, fake_account(), Seconds{30});
  EXPECT_TRUE(outcome.ok()) << outcome.reason;
  const TranscriptLimits limits;
  EXPECT_LE(outcome.transcript.size(), limits.head_lines + limits.tail_lines + 1);
  EXPECT_LE(transcript_bytes(outcome), limits.max_bytes + 64)
      << outcome.transcript.size() << " lines";
  EXPECT_TRUE(transcript_mentions(outcome, "lines omitted"));
  // The start and the end of the dialogue are kept: they explain what happened.
  ASSERT_FALSE(outcome.transcript.empty());
  EXPECT_THAT(outcome.transcript.front(), HasSubstr("Dovecot ready"));
  EXPECT_THAT(outcome.transcript.back(), HasSubstr("Logout completed"));
}

TEST(ProbeHostile, FloodPastTheByteCapFailsWithABoundedTranscript) {
  auto options = fake_options(Protocol::imap, FakeBehaviour::flood_untagged);
  options.flood_bytes = 4 << 20;
  FakeMailServer server(options);
  auto config = probe_config_for(server);
  config.max_bytes = 2 << 20;
  const auto outcome = probe_once(server, config, fake_account(), Seconds{30});
  EXPECT_EQ(outcome.failure, FailureClass::protocol_error);
  EXPECT_THAT(outcome.reason, HasSubstr("more than 2097152 bytes while waiting for LOGIN reply"));
  const TranscriptLimits limits;
  EXPECT_LE(transcript_bytes(outcome), limits.max_bytes + 64)
      << outcome.transcript.size() << " lines";
  ASSERT_FALSE(outcome.transcript.empty());
  EXPECT_THAT(outcome.transcript.back(), HasSubstr("Still here"));
}
