// The daemon's one queue of due checks, stepped by hand: what is due when, a reschedule
// or a removal taking effect at once, and bounded storage however often checks move.
#include "poolwatch/health/due_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <vector>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch {
namespace due_queue_test {

using namespace std::chrono_literals;

const SteadyTime kT0 = SteadyTime{} + 1000s;

CheckId check(int host, std::uint16_t port = 143) {
  return CheckId{make_ip_address("127.0.0." + std::to_string(host)),
                 PortSpec{Protocol::imap, port}};
}

TEST(DueQueue, GivesOnlyTheChecksDueByNowEarliestFirst) {
  DueQueue queue;
  queue.schedule(check(1), kT0 + 3s);
  queue.schedule(check(2), kT0 + 1s);
  queue.schedule(check(3), kT0 + 2s);
  EXPECT_EQ(queue.next_due(), kT0 + 1s);
  EXPECT_TRUE(queue.take_due(kT0, 10).empty());
  EXPECT_EQ(queue.take_due(kT0 + 2s, 10), (std::vector<CheckId>{check(2), check(3)}));
  EXPECT_EQ(queue.size(), 1U);
  EXPECT_FALSE(queue.contains(check(2)));
  EXPECT_EQ(queue.next_due(), kT0 + 3s);
  EXPECT_EQ(queue.take_due(kT0 + 3s, 10), std::vector<CheckId>{check(1)});
  EXPECT_EQ(queue.next_due(), std::nullopt);
}

// A turn of the loop starts at most `max` probes; the rest stay due for the next turn.
TEST(DueQueue, TakesAtMostMaxAndKeepsTheRestInOrder) {
  DueQueue queue;
  for (int host = 1; host <= 5; ++host) queue.schedule(check(host), kT0);
  EXPECT_EQ(queue.take_due(kT0, 2), (std::vector<CheckId>{check(1), check(2)}));
  EXPECT_EQ(queue.take_due(kT0, 2), (std::vector<CheckId>{check(3), check(4)}));
  EXPECT_EQ(queue.take_due(kT0, 2), std::vector<CheckId>{check(5)});
}

TEST(DueQueue, ASecondScheduleMovesTheCheck) {
  DueQueue queue;
  queue.schedule(check(1), kT0 + 10s);
  queue.schedule(check(2), kT0 + 5s);
  queue.schedule(check(1), kT0 + 1s);  // a passive suspicion: probe it now
  EXPECT_EQ(queue.size(), 2U);
  EXPECT_EQ(queue.take_due(kT0 + 10s, 10), (std::vector<CheckId>{check(1), check(2)}));
  queue.schedule(check(3), kT0 + 1s);
  queue.schedule(check(3), kT0 + 20s);  // and later again
  EXPECT_TRUE(queue.take_due(kT0 + 10s, 10).empty());
  EXPECT_EQ(queue.next_due(), kT0 + 20s);
}

TEST(DueQueue, ARemovedCheckIsNeverDue) {
  DueQueue queue;
  queue.schedule(check(1), kT0);
  queue.schedule(check(2), kT0 + 1s);
  EXPECT_TRUE(queue.remove(check(1)));
  EXPECT_FALSE(queue.remove(check(1)));
  EXPECT_FALSE(queue.contains(check(1)));
  EXPECT_EQ(queue.next_due(), kT0 + 1s);
  EXPECT_EQ(queue.take_due(kT0 + 1s, 10), std::vector<CheckId>{check(2)});
  EXPECT_EQ(queue.size(), 0U);
}

// Ports of one backend are checks of their own.
TEST(DueQueue, TellsTheChecksOfOneBackendApart) {
  DueQueue queue;
  queue.schedule(check(1, 143), kT0 + 1s);
  queue.schedule(check(1, 110), kT0);
  queue.remove(check(1, 143));
  EXPECT_EQ(queue.take_due(kT0 + 1s, 10), std::vector<CheckId>{check(1, 110)});
}

TEST(DueQueue, ReschedulingAllAsksEachCheckItsDueTime) {
  DueQueue queue;
  for (int host = 1; host <= 4; ++host) queue.schedule(check(host), kT0 + 60s);
  queue.remove(check(4));
  // A reload with a shorter interval: host 3 is due first, then 1, then 2.
  queue.reschedule_all([](const CheckId& id) {
    const int host = id.address.to_string().back() - '0';
    return kT0 + std::chrono::seconds(host == 3 ? 1 : host + 1);
  });
  EXPECT_EQ(queue.size(), 3U);
  EXPECT_EQ(queue.stored_entries(), 3U);
  EXPECT_EQ(queue.take_due(kT0 + 60s, 10), (std::vector<CheckId>{check(3), check(1), check(2)}));
}

// A check moved or removed leaves its old entry behind; however often it happens, what
// is kept stays within about twice the queued checks, and the order holds.
TEST(DueQueue, StorageStaysBoundedUnderEndlessMoves) {
  DueQueue queue;
  std::map<CheckId, SteadyTime> expected;  // each queued check's latest due time
  std::mt19937 random(7);
  std::uniform_int_distribution<int> host(1, 100);
  std::uniform_int_distribution<int> offset(0, 1000);
  std::size_t most = 0;
  for (int i = 0; i < 100000; ++i) {
    const auto id = check(host(random));
    if (offset(random) < 100) {
      queue.remove(id);
      expected.erase(id);
    } else {
      const auto due = kT0 + std::chrono::milliseconds(offset(random));
      queue.schedule(id, due);
      expected.insert_or_assign(id, due);
    }
    most = std::max(most, queue.stored_entries());
  }
  EXPECT_LE(most, 2 * 100 + 64U);
  ASSERT_EQ(queue.size(), expected.size());
  const auto taken = queue.take_due(kT0 + 2s, 1000);
  ASSERT_EQ(taken.size(), expected.size());
  for (std::size_t i = 1; i < taken.size(); ++i)
    EXPECT_LE(expected.at(taken[i - 1]), expected.at(taken[i])) << i;
}

// A check being probed (taken) is not queued: a reload does not queue it a second time,
// a removal of it reports nothing queued, and queued again after its probe it counts once.
TEST(DueQueue, ATakenCheckIsNotQueuedUntilScheduledAgain) {
  DueQueue queue;
  queue.schedule(check(1), kT0);
  queue.schedule(check(2), kT0 + 1s);
  ASSERT_EQ(queue.take_due(kT0, 10), std::vector<CheckId>{check(1)});
  EXPECT_EQ(queue.size(), 1U);
  EXPECT_FALSE(queue.contains(check(1)));
  queue.reschedule_all([](const CheckId&) { return kT0; });
  EXPECT_EQ(queue.size(), 1U);
  EXPECT_EQ(queue.take_due(kT0, 10), std::vector<CheckId>{check(2)});
  EXPECT_EQ(queue.next_due(), std::nullopt);
  // Probed, then queued again: once, at its new time.
  queue.schedule(check(1), kT0 + 5s);
  queue.schedule(check(1), kT0 + 6s);
  EXPECT_EQ(queue.size(), 1U);
  EXPECT_TRUE(queue.contains(check(1)));
  EXPECT_EQ(queue.next_due(), kT0 + 6s);
  // Taken and then stopped: nothing was queued, and it never comes back.
  ASSERT_EQ(queue.take_due(kT0 + 6s, 10), std::vector<CheckId>{check(1)});
  EXPECT_FALSE(queue.remove(check(1)));
  EXPECT_EQ(queue.size(), 0U);
  EXPECT_EQ(queue.next_due(), std::nullopt);
}

}  // namespace due_queue_test
}  // namespace poolwatch
