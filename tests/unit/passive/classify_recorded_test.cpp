// Classification over the events the real Dovecot 2.3.19.1 director posted in the lab
// (recorded_events.txt): each must land in the class a person gave it from the scenario.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "poolwatch/passive/classify.hpp"
#include "poolwatch/passive/proxy_event.hpp"

using namespace poolwatch;
using namespace poolwatch::passive;

namespace {

struct RecordedEvent {
  std::string expected;
  std::string scenario;
  std::string body;
};

std::vector<RecordedEvent> recorded_events() {
  std::ifstream in(POOLWATCH_SOURCE_DIR "/tests/unit/passive/recorded_events.txt");
  std::vector<RecordedEvent> events;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    const auto first = line.find('\t');
    const auto second = line.find('\t', first + 1);
    events.push_back({line.substr(0, first), line.substr(first + 1, second - first - 1),
                      line.substr(second + 1)});
  }
  return events;
}

}  // namespace

TEST(PassiveClassifyRecorded, EveryRecordedEventGetsTheClassOfItsScenario) {
  const auto events = recorded_events();
  ASSERT_GE(events.size(), 30u);
  std::map<std::string, int> per_class;
  for (const auto& recorded : events) {
    const auto parsed = parse_dovecot_event(recorded.body);
    ASSERT_TRUE(parsed.event) << parsed.error << ": " << recorded.body;
    const auto classified = classify(*parsed.event);
    EXPECT_EQ(to_string(classified.cls), recorded.expected)
        << recorded.scenario << " (" << classified.why << "): " << recorded.body;
    ++per_class[recorded.expected];
  }
  // Each class is represented, so a classifier answering one class for all fails.
  EXPECT_GT(per_class["backend_fault"], 0);
  EXPECT_GT(per_class["user_fault"], 0);
  EXPECT_GT(per_class["success"], 0);
  EXPECT_GT(per_class["ignored"], 0);
}

TEST(PassiveClassifyRecorded, EveryProtocolsBackendFaultsAreRecorded) {
  // Refused, closed and hung backends, for IMAP, POP3 and LMTP each.
  std::map<std::string, int> faults;
  for (const auto& recorded : recorded_events()) {
    if (recorded.expected != "backend_fault") continue;
    const auto event = parse_dovecot_event(recorded.body).event;
    ASSERT_TRUE(event);
    ++faults[recorded.scenario + "/" + (event->lmtp ? "lmtp" : event->service)];
  }
  for (const auto* scenario : {"kill", "closing", "hang"})
    for (const auto* protocol : {"imap", "pop3", "lmtp"})
      EXPECT_EQ(faults[std::string(scenario) + "/" + protocol], 1) << scenario << " " << protocol;
}

TEST(PassiveParse, KeepsTheFieldsTheClassificationNeeds) {
  const auto parsed = parse_dovecot_event(
      R"({"event":"proxy_session_finished","categories":["imap","service:imap-login"],)"
      R"("fields":{"service":"imap","user":"bob","dest_ip":"127.0.1.2","dest_port":143,)"
      R"("disconnect_side":"proxy","error":"connect(127.0.1.2, 143) failed: Connection refused"}})");
  ASSERT_TRUE(parsed.event);
  const auto& e = *parsed.event;
  EXPECT_EQ(e.name, "proxy_session_finished");
  EXPECT_EQ(e.service, "imap");
  EXPECT_EQ(e.user, "bob");
  ASSERT_TRUE(e.dest_ip);
  EXPECT_EQ(e.dest_ip->to_string(), "127.0.1.2");
  EXPECT_EQ(e.dest_port, 143);
  EXPECT_EQ(e.disconnect_side, "proxy");
  EXPECT_TRUE(e.has_error);
  EXPECT_FALSE(e.lmtp);
  EXPECT_EQ(classify(e).cls, EventClass::backend_fault);
}

TEST(PassiveParse, RefusesWhatIsNotOneJsonObject) {
  for (const std::string body : {"", "{", "[]", "42", "\"text\"", "{\"event\":}", "{} {}",
                                 "{\"a\":1,}", "null", "{\"event\":\"x\"} trailing"}) {
    const auto parsed = parse_dovecot_event(body);
    EXPECT_FALSE(parsed.event) << body;
    EXPECT_FALSE(parsed.error.empty()) << body;
  }
}

TEST(PassiveParse, RefusesDeepNestingWithoutBuildingIt) {
  const std::string deep =
      "{\"fields\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  const auto parsed = parse_dovecot_event(deep);
  EXPECT_FALSE(parsed.event);
  EXPECT_EQ(parsed.error, "nested too deep");
}

TEST(PassiveParse, CapsAndSanitisesTheTextItKeeps) {
  const std::string long_error(10000, 'x');
  const auto parsed = parse_dovecot_event(
      R"({"event":"proxy_session_finished","fields":{"dest_ip":"10.0.0.1","user":"a\u001b[31mb",)"
      R"("error":")" +
      long_error + R"("}})");
  ASSERT_TRUE(parsed.event);
  EXPECT_LE(parsed.event->error.size(), kMaxEventText + 8);
  EXPECT_EQ(parsed.event->user.find('\x1b'), std::string::npos);
}

TEST(PassiveParse, AnAddressThatIsNoAddressIsNoBackend) {
  const auto parsed = parse_dovecot_event(
      R"({"event":"proxy_session_finished","fields":{"dest_ip":"backend.example","error":"x"}})");
  ASSERT_TRUE(parsed.event);
  EXPECT_FALSE(parsed.event->dest_ip);
  EXPECT_EQ(classify(*parsed.event).cls, EventClass::ignored);
}

TEST(PassiveClassify, LmtpCodesFromTheSmtpClient) {
  ProxyEvent e;
  e.name = "smtp_client_transaction_finished";
  e.lmtp = true;
  e.dest_ip = make_ip_address("10.0.0.1");
  const std::map<std::int64_t, EventClass> expected{
      {250, EventClass::success},        {421, EventClass::backend_fault},
      {451, EventClass::ignored},        {9000, EventClass::ignored},
      {9002, EventClass::backend_fault}, {9004, EventClass::backend_fault},
      {9005, EventClass::backend_fault}, {9007, EventClass::backend_fault}};
  for (const auto& [code, cls] : expected) {
    e.status_code = code;
    EXPECT_EQ(classify(e).cls, cls) << code;
  }
  e.lmtp = false;  // another SMTP client of the director: not a proxy to a backend
  e.status_code = 9002;
  EXPECT_EQ(classify(e).cls, EventClass::ignored);
}
