// PassiveLink end to end in-process: real recorded director events posted over HTTP,
// classified, counted per backend, dropped for addresses outside the pool, and three
// backend faults within the window raising one suspicion.

#include "poolwatch/service/passive_link.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/raw_http_client.hpp"

namespace poolwatch {
namespace {

class PassiveLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PassiveConfig config;
    config.enabled = true;
    config.listen = "127.0.0.1:0";
    link_ = std::make_unique<PassiveLink>(
        io_.get_executor(), config, registry_,
        PassiveLink::Hooks{[](const IpAddress& a) { return a.to_string() != "127.0.1.3"; },
                           [this](const IpAddress& a, const passive::Suspicion& s) {
                             std::lock_guard lock(mutex_);
                             suspected_.push_back(a.to_string());
                             faults_ = s.faults;
                           }});
    ASSERT_FALSE(link_->start());
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    link_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // The recorded body of the first event of a scenario whose expected class and text match.
  static std::string recorded(const std::string& expected, const std::string& needle) {
    std::ifstream in(POOLWATCH_SOURCE_DIR "/tests/unit/passive/recorded_events.txt");
    std::string line;
    while (std::getline(in, line))
      if (line.starts_with(expected + "\t") && line.find(needle) != std::string::npos)
        return line.substr(line.find('\t', expected.size() + 1) + 1);
    return "";
  }

  unsigned post(const std::string& body) {
    const std::string request =
        "POST /dovecot-events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    return testing::raw_http_exchange(link_->local_endpoint(), request, std::chrono::seconds(2))
        .status;
  }

  int faults() {
    std::lock_guard lock(mutex_);
    return faults_;
  }

  std::vector<std::string> suspected() {
    std::lock_guard lock(mutex_);
    return suspected_;
  }

  // Read after the post's reply, which comes after its handler ran.
  double counter(const std::string& name, const metrics::LabelValues& labels) {
    std::lock_guard lock(mutex_);
    const auto* family = dynamic_cast<const metrics::ScalarFamily*>(registry_.find(name));
    return family ? family->value(labels) : -1;
  }

  boost::asio::io_context io_;
  metrics::Registry registry_;
  std::unique_ptr<PassiveLink> link_;
  std::thread thread_;
  std::mutex mutex_;  // the hook runs on the loop thread
  std::vector<std::string> suspected_;
  int faults_ = 0;
};

TEST_F(PassiveLinkTest, ThreeRefusedSessionsRaiseOneSuspicion) {
  const auto refused = recorded("backend_fault", "Connection refused");
  ASSERT_FALSE(refused.empty());
  EXPECT_EQ(post(refused), 200u);
  EXPECT_EQ(post(refused), 200u);
  EXPECT_TRUE(suspected().empty());
  EXPECT_EQ(post(refused), 200u);
  const auto after = suspected();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0], "127.0.1.2");
  EXPECT_EQ(faults(), 3);
  EXPECT_EQ(counter("poolwatch_passive_events_total", {"127.0.1.2", "backend_fault"}), 3);
  EXPECT_EQ(counter("poolwatch_passive_suspicions_total", {"127.0.1.2"}), 1);
}

// SIGHUP with passive.failures: 2 (the daemon's reload calls set_policy on its loop).
TEST_F(PassiveLinkTest, AReloadedFailureCountTakesEffectAtTheNextEvent) {
  PassiveConfig reloaded;
  reloaded.failures = 2;
  std::promise<void> applied;
  boost::asio::post(io_, [&] {
    link_->set_policy(reloaded);
    applied.set_value();
  });
  applied.get_future().wait();
  const auto refused = recorded("backend_fault", "Connection refused");
  ASSERT_FALSE(refused.empty());
  EXPECT_EQ(post(refused), 200u);
  EXPECT_TRUE(suspected().empty());
  EXPECT_EQ(post(refused), 200u);
  ASSERT_EQ(suspected().size(), 1u);
  EXPECT_EQ(faults(), 2);
}

TEST_F(PassiveLinkTest, WrongPasswordsNeverRaiseOne) {
  const auto wrong = recorded("user_fault", "AUTHENTICATIONFAILED");
  ASSERT_FALSE(wrong.empty());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(post(wrong), 200u);
  EXPECT_TRUE(suspected().empty());
  EXPECT_EQ(counter("poolwatch_passive_suspicions_total", {"127.0.1.2"}), 0);
}

TEST_F(PassiveLinkTest, EventsOutsideThePoolAreCountedAndDropped) {
  // The lab's good session on 127.0.1.3, which this pool does not hold.
  const auto outside = recorded("success", "\"dest_ip\":\"127.0.1.3\"");
  ASSERT_FALSE(outside.empty());
  EXPECT_EQ(post(outside), 200u);
  EXPECT_EQ(counter("poolwatch_passive_unknown_backend_events_total", {}), 1);
  EXPECT_EQ(counter("poolwatch_passive_events_total", {"127.0.1.3", "success"}), 0);
}

TEST_F(PassiveLinkTest, NotJsonIs400AndCounted) {
  EXPECT_EQ(post("{\"event\":"), 400u);
  EXPECT_EQ(counter("poolwatch_passive_posts_total", {"bad_json"}), 1);
}

}  // namespace
}  // namespace poolwatch
