// Issue 12, cases (f) and (g): an instance cut off from its peers sends nothing, and
// peer messages that are forged, replayed or garbage are refused, logged and never acted
// on. Runs only in a network namespace of its own (ctest's e2e.ring.safety); elsewhere it
// skips.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "poolwatch/common/text.hpp"
#include "poolwatch/http/http_server.hpp"
#include "poolwatch/peer/peer_exchange.hpp"
#include "poolwatch/ring/report_json.hpp"
#include "support/lab_network.hpp"
#include "support/ring_daemons.hpp"

namespace poolwatch::test {
namespace {

using namespace std::chrono_literals;

// What the test serves on a stopped instance's ring port, one kind of reply at a time.
class FakeRingPeer {
 public:
  enum class Reply {
    bad_signature,  // the right report, signed under another secret
    replayed,       // one reply signed for an earlier request, sent again and again
    garbage,        // signed for the request, but not a report
    impostor,       // a good report signed for the request, under another member's name
    valid,          // the control: what the refusals would have been without the fault
  };

  // `report(name, now)` is the report body this peer's content is made of. It serves
  // bad_signature replies until told otherwise.
  FakeRingPeer(const std::string& listen, std::string secret, std::string name,
               std::string impostor_name,
               std::function<ring::PeerReport(std::string, std::int64_t)> report)
      : secret_(std::move(secret)),
        name_(std::move(name)),
        impostor_name_(std::move(impostor_name)),
        report_(std::move(report)) {
    HttpHandlers handlers;
    handlers.ring = [this](const HttpRequestView& request) { return answer(request); };
    server_ = std::make_unique<HttpServer>(io_.get_executor(), HttpConfig{true, listen},
                                           std::move(handlers));
    if (const auto error = server_->start())
      throw std::runtime_error("fake peer on " + listen + ": " + error.message());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeRingPeer() {
    server_->stop();
    io_.stop();
    thread_.join();
  }
  FakeRingPeer(const FakeRingPeer&) = delete;
  FakeRingPeer& operator=(const FakeRingPeer&) = delete;

  void serve(Reply reply) {
    std::lock_guard lock(mutex_);
    reply_ = reply;
  }
  std::size_t served(Reply reply) const {
    std::lock_guard lock(mutex_);
    const auto it = served_.find(reply);
    return it == served_.end() ? 0 : it->second;
  }

 private:
  HttpReply signed_reply(std::string body, const std::string& secret, const std::string& nonce,
                         std::int64_t now) const {
    const auto signature = peer::sign_reply(secret, nonce, body, now);
    return HttpReply{200,
                     "application/json",
                     {{std::string(peer::kTimeHeader), signature.time},
                      {std::string(peer::kNonceHeader), signature.nonce},
                      {std::string(peer::kSignatureHeader), signature.signature}},
                     std::move(body)};
  }

  HttpReply answer(const HttpRequestView& request) {
    std::lock_guard lock(mutex_);
    const std::string nonce(request.header(peer::kNonceHeader));
    const std::int64_t now = unix_now();
    ++served_[reply_];
    const std::string body = ring::encode_report(report_(name_, now));
    HttpReply reply;
    switch (reply_) {
      case Reply::bad_signature:
        reply = signed_reply(body, secret_ + "-but-not-the-ring's", nonce, now);
        break;
      case Reply::replayed:
        // Recorded once, signed for the last request before this phase.
        if (!recorded_) recorded_ = signed_reply(body, secret_, last_nonce_, now);
        reply = *recorded_;
        break;
      case Reply::garbage: {
        static const std::vector<std::string> kGarbage = {
            "this is not JSON {\x01\x02", R"({"format": "poolwatch-ring-report", "version": 1})",
            body.substr(0, body.size() / 2),
            R"({"format": "poolwatch-ring-report", "version": 99, "evil": true})"};
        // A kind per second, not per reply: both pollers see each kind.
        reply = signed_reply(kGarbage[static_cast<std::size_t>(now) % kGarbage.size()], secret_,
                             nonce, now);
        break;
      }
      case Reply::impostor:
        reply =
            signed_reply(ring::encode_report(report_(impostor_name_, now)), secret_, nonce, now);
        break;
      case Reply::valid:
        reply = signed_reply(body, secret_, nonce, now);
        break;
    }
    last_nonce_ = nonce;
    return reply;
  }

  const std::string secret_;
  const std::string name_;
  const std::string impostor_name_;
  const std::function<ring::PeerReport(std::string, std::int64_t)> report_;
  mutable std::mutex mutex_;
  Reply reply_ = Reply::bad_signature;
  std::map<Reply, std::size_t> served_;
  std::string last_nonce_;
  std::optional<HttpReply> recorded_;
  boost::asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

class RingSafety : public RingE2ETest {
 protected:
  // A standby's report in which `down` is down and every other lab backend up.
  ring::PeerReport report_with_down(const std::string& name, std::int64_t now,
                                    const std::string& down) const {
    ring::PeerReport report;
    report.instance = *ring::InstanceId::parse(name);
    report.generated_unix = now;
    report.director_synced = true;
    report.role = ring::RingRole::standby;
    report.actor = ring::InstanceId::parse(daemons_->ring_name(1));
    for (const auto& address : lab_->backend_addresses()) {
      ring::BackendReport backend;
      backend.address = make_ip_address(address);
      backend.verdict = address == down ? Verdict::down : Verdict::up;
      backend.since_unix = now - 30;
      backend.last_probe_unix = now;
      if (address == down)
        backend.failing.push_back({"imap:143", "connect_refused", "fake peer: says it is down"});
      report.backends.push_back(std::move(backend));
    }
    return report;
  }

  // A signed GET of instance k's report with these three headers; the reply.
  HttpGetResult get_report(int k, const peer::SignedHeaders& headers) const {
    return http_get(daemons_->address(k), daemons_->options().peer_port,
                    std::string(peer::kReportTarget),
                    {{std::string(peer::kTimeHeader), headers.time},
                     {std::string(peer::kNonceHeader), headers.nonce},
                     {std::string(peer::kSignatureHeader), headers.signature}});
  }

  // The time, in ms of the log's clock, of the last line of instance k's log holding text.
  std::optional<std::int64_t> last_log_time(int k, const std::string& text) const {
    const auto lines = daemons_->log_lines_containing(k, text);
    if (lines.empty()) return std::nullopt;
    std::tm when{};
    int millis = 0;
    if (std::sscanf(lines.back().c_str(), "%d-%d-%d %d:%d:%d.%d", &when.tm_year, &when.tm_mon,
                    &when.tm_mday, &when.tm_hour, &when.tm_min, &when.tm_sec, &millis) != 7)
      return std::nullopt;
    when.tm_year -= 1900;
    when.tm_mon -= 1;
    return std::int64_t{timegm(&when)} * 1000 + millis;
  }
  // (g), the serving side: what instance 1 answers to requests that are not authentic.
  void expect_requests_refused() const;
  // Kills the backend and waits until every running director lists it down and one
  // flush for it went out.
  void kill_backend_and_wait_for_its_down(int backend_index) const {
    const std::string backend = lab_->backend_address(backend_index);
    lab_->backend_fault(backend_index, "kill");
    ASSERT_TRUE(eventually(
        [&] {
          return every_running_director_says(backend, "down") &&
                 count_ok(daemons_->all_actions(), "flush", backend) == 1;
        },
        kDecisionBound))
        << roles() << "\n"
        << daemons_->describe();
  }
};

// (f): the actor cut off from every peer (its ring port refuses, and its own connects to
// any ring port are reset, whatever source address they use) is isolated and sends
// nothing while a backend dies; the two others are a majority and act once.
TEST_F(RingSafety, InstanceCutOffFromItsPeersSendsNothing) {
  const unsigned short port = daemons_->options().peer_port;
  const std::string backend = lab_->backend_address(2);
  const auto cutting = Clock::now();
  NftRejectRule nobody_reaches_it({.destination = daemons_->address(1), .destination_port = port});
  NftRejectRule it_reaches_nobody({.destination_port = port, .socket_group = daemons_->group(1)});
  ASSERT_TRUE(
      eventually([&] { return daemons_->role(1) == "isolated" && daemons_->role(2) == "actor"; },
                 kDecisionBound))
      << roles() << "\n"
      << daemons_->describe();
  const double isolated = seconds_since(cutting);
  EXPECT_TRUE(eventually([&] { return daemons_->role(3) == "standby"; }, kPropagationBound))
      << roles();
  EXPECT_EQ(daemons_->metric(1, "poolwatch_ring_role", {{"role", "isolated"}}), 1);
  EXPECT_EQ(daemons_->metric(1, "poolwatch_ring_role", {{"role", "actor"}}), 0);
  const std::string reason = daemons_->ring_status(1).value("reason", nlohmann::json()).dump();

  const auto killed = Clock::now();
  kill_backend_and_wait_for_its_down(2);
  if (HasFatalFailure()) return;
  const double down = seconds_since(killed);
  std::this_thread::sleep_for(intervals(3));
  // It sees the backend down itself, and still sends nothing.
  EXPECT_EQ(daemons_->backend_state(1, backend), "down");
  EXPECT_TRUE(daemons_->actions(1).empty()) << daemons_->describe();
  EXPECT_EQ(daemons_->role(1), "isolated");
  const auto all = daemons_->all_actions();
  EXPECT_EQ(count_ok(daemons_->actions(2), "HOST-DOWN", backend), 1U);
  EXPECT_EQ(all.size(), 2U) << daemons_->describe();
  report(
      "instance 1 (the actor) cut off: isolated and instance 2 acting {:.1f} s after the cut "
      "(reason: {}); backend 2 killed: D on every director {:.1f} s later, {} commands in all, "
      "{} from instance 2, {} from instance 1",
      isolated, reason, down, all.size(), daemons_->actions(2).size(), daemons_->actions(1).size());
}

// A one-way cut: nobody reaches instance 1's report, instance 1 still polls the others.
// They take instance 2 for the actor; instance 1 must step back, never act beside it.
TEST_F(RingSafety, OneWayCutNeverMakesTwoActors) {
  const std::string backend = lab_->backend_address(2);
  const auto cutting = Clock::now();
  NftRejectRule nobody_reaches_it(
      {.destination = daemons_->address(1), .destination_port = daemons_->options().peer_port});
  int samples = 0;
  int two_actors = 0;
  std::string stepped_back_why;
  while (Clock::now() - cutting < intervals(8)) {
    ++samples;
    const auto one = daemons_->role(1);
    const auto two = daemons_->role(2);
    if (one == "actor" && two == "actor") ++two_actors;
    if (one == "standby") stepped_back_why = daemons_->ring_status(1).value("reason", "");
    std::this_thread::sleep_for(intervals(1) / 5);
  }
  EXPECT_EQ(two_actors, 0) << "samples with instances 1 and 2 both acting\n" << roles();
  // Sampling can miss a short overlap; the logs' role changes cannot.
  const auto one_stood_back = last_log_time(1, "ring: role actor -> ");
  const auto two_acted = last_log_time(2, " -> actor: ");
  ASSERT_TRUE(one_stood_back && two_acted) << daemons_->describe();
  EXPECT_LT(*one_stood_back, *two_acted) << "instance 2 acted before instance 1 stepped back\n"
                                         << daemons_->describe();
  EXPECT_EQ(daemons_->role(1), "standby") << roles();
  EXPECT_EQ(daemons_->role(2), "actor") << roles();
  EXPECT_NE(stepped_back_why, "");

  kill_backend_and_wait_for_its_down(2);
  if (HasFatalFailure()) return;
  std::this_thread::sleep_for(intervals(3));
  const auto all = daemons_->all_actions();
  EXPECT_EQ(count_ok(all, "HOST-DOWN", backend), 1U) << daemons_->describe();
  EXPECT_TRUE(daemons_->actions(1).empty()) << daemons_->describe();
  report(
      "one-way cut of instance 1: {} role samples over 8 intervals, {} with two actors; "
      "instance 1 stepped back {} ms before instance 2 acted; instance 1 stood by ({}); "
      "backend 2 killed: {} commands in all, {} from instance 2",
      samples, two_actors, *two_acted - *one_stood_back, stepped_back_why, all.size(),
      daemons_->actions(2).size());
}

void RingSafety::expect_requests_refused() const {
  const std::string target(peer::kReportTarget);
  const auto good =
      peer::sign_request(daemons_->secret(), target, unix_now(), peer::random_nonce());
  const auto first = get_report(1, good);
  ASSERT_EQ(first.status, 200) << first.error << first.body;
  const auto replayed = get_report(1, good);
  EXPECT_EQ(replayed.status, 401) << replayed.body;
  EXPECT_NE(replayed.body.find("replayed"), std::string::npos) << replayed.body;
  const auto forged = get_report(
      1, peer::sign_request(daemons_->secret() + "x", target, unix_now(), peer::random_nonce()));
  EXPECT_EQ(forged.status, 401) << forged.body;
  EXPECT_NE(forged.body.find("bad signature"), std::string::npos) << forged.body;
  const auto stale = get_report(
      1, peer::sign_request(daemons_->secret(), target, unix_now() - 600, peer::random_nonce()));
  EXPECT_EQ(stale.status, 401) << stale.body;
  EXPECT_EQ(get_report(1, {"", "", ""}).status, 401);
  for (const auto* body : {&replayed.body, &forged.body, &stale.body})
    EXPECT_EQ(body->find("{"), std::string::npos) << "a refusal carries no report: " << *body;
  EXPECT_TRUE(eventually(
      [&] { return !daemons_->log_lines_containing(1, "refused a peer request").empty(); }, 5s))
      << daemons_->log(1);
}

// (g): instance 2 stopped, the test answers on its ring port. Instance 1 cannot reach
// backend 1, so one more vote for "down" would take backend 1 out: the fake's replies
// say exactly that, and none of them may count until the last, correct one.
TEST_F(RingSafety, ForgedReplayedAndGarbagePeerMessagesAreRefusedAndLogged) {
  expect_requests_refused();
  if (HasFatalFailure()) return;

  const std::string backend = lab_->backend_address(1);
  NftRejectRule unreachable(daemons_->address(1), backend);
  ASSERT_EQ(daemons_->stop(2), 0);
  const auto votes = [&] { return daemons_->backend_ring(1, backend); };
  ASSERT_TRUE(eventually(
      [&] { return votes().value("votes_down", 0) == 1 && votes().value("voters", 0) == 2; },
      kDecisionBound))
      << votes().dump() << "\n"
      << daemons_->describe();
  // Refusals are logged when the reason changes: each phase's lines are the new ones.
  const std::string peer_lines = "ring: peer " + daemons_->address(2) + ":";
  std::size_t logged_before = daemons_->log_lines_containing(1, peer_lines).size();
  FakeRingPeer fake(fmt::format("{}:{}", daemons_->address(2), daemons_->options().peer_port),
                    daemons_->secret(), daemons_->ring_name(2), daemons_->ring_name(3),
                    [this, backend](std::string name, std::int64_t now) {
                      return report_with_down(name, now, backend);
                    });

  using Reply = FakeRingPeer::Reply;
  std::vector<std::string> refusals;
  // Each phase and a word of the reason /status gives for not counting the peer.
  const std::vector<std::tuple<Reply, const char*, const char*>> phases{
      {Reply::bad_signature, "bad signature", "signature"},
      {Reply::replayed, "replayed", "signature"},  // signed, but for another request
      {Reply::garbage, "garbage", "unreadable"},
      {Reply::impostor, "another member's name", "refused"}};
  for (const auto& [reply, name, why] : phases) {
    SCOPED_TRACE(name);
    fake.serve(reply);
    // Until instances 1 and 3 have polled it four intervals' worth, every look at
    // instance 1: the fake never counts as a voter, nor as answering. At least one look
    // counts instance 3, so that the view was one of a ring.
    const auto phase_start = Clock::now();
    int looks = 0;
    int with_instance_3 = 0;
    std::string counted_fake;  // the first view that counted it
    while (fake.served(reply) < 8 && Clock::now() - phase_start < kDecisionBound) {
      ++looks;
      const auto view = votes();
      const auto peer = daemons_->peer_entry(1, daemons_->ring_name(2));
      if (view.value("voters", 0) == 2 && view.value("votes_down", 0) == 1) ++with_instance_3;
      if (counted_fake.empty() &&
          (view.value("voters", 0) > 2 || view.value("votes_down", 0) > 1 ||
           view.value("verdict", "") == "down" || peer.value("answering", false) != false))
        counted_fake = view.dump() + " " + peer.dump();
      std::this_thread::sleep_for(intervals(1) / 2);
    }
    ASSERT_GE(fake.served(reply), 8U);
    EXPECT_EQ(counted_fake, "");
    EXPECT_GT(with_instance_3, 0) << looks << " looks";
    // Why instance 1 does not count it: the latest poll's reason.
    std::string problem;
    EXPECT_TRUE(eventually(
        [&, why = why] {
          problem = daemons_->peer_entry(1, daemons_->ring_name(2)).value("problem", "");
          return problem.find(why) != std::string::npos;
        },
        kPropagationBound))
        << problem;
    const auto lines = daemons_->log_lines_containing(1, peer_lines);
    const std::vector<std::string> fresh(lines.begin() + static_cast<long>(logged_before),
                                         lines.end());
    refusals.insert(refusals.end(), fresh.begin(), fresh.end());
    logged_before = lines.size();
    // One reason may be logged once for a while: a replay is "not signed for this
    // request" like a forgery, so that phase may add no line of its own.
    if (reply != Reply::replayed) {
      EXPECT_FALSE(fresh.empty()) << daemons_->log(1);
    }
    report(
        "{}: {} replies served; in {} looks at instance 1 the fake never counted ({} with "
        "instance 3's vote: 2 voters, 1 down); peer not counted: \"{}\"; {} new log line(s)",
        name, fake.served(reply), looks, with_instance_3, problem, fresh.size());
  }
  for (const auto& action : daemons_->all_actions())
    EXPECT_NE(action.backend, backend) << "acted on a refused reply: " << action.action;
  EXPECT_TRUE(every_running_director_says(backend, "up"));
  EXPECT_TRUE(std::any_of(refusals.begin(), refusals.end(), [](const std::string& line) {
    return line.find("signature") != std::string::npos;
  })) << "no refusal names the signature";

  // The control: the same content correctly signed counts, so the refusals above were
  // for the faults alone (and the fake is polled by instance 1).
  fake.serve(Reply::valid);
  EXPECT_TRUE(eventually(
      [&] { return votes().value("voters", 0) == 3 && votes().value("votes_down", 0) == 2; },
      kDecisionBound))
      << votes().dump();
  report("control: a correct reply with the same content makes it {} voters, {} down ({})",
         votes().value("voters", 0), votes().value("votes_down", 0), votes().value("verdict", ""));
}

}  // namespace
}  // namespace poolwatch::test
