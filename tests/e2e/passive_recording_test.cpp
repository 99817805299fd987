// The classification against what the real director posts today: the lab director's
// exporter points at an in-process events endpoint, users log in (IMAP, POP3) and get
// mail delivered (LMTP) through it as good users, with a wrong password, as unknown
// users, and to a backend that is killed, that accepts and closes, or that hangs. Every
// posted event must get the class its scenario says; the backend faults of IMAP, POP3
// and LMTP must all be seen. With POOLWATCH_RECORD_EVENTS=FILE the events are written
// there in the format of tests/unit/passive/recorded_events.txt, to refresh it.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "poolwatch/http/event_endpoint.hpp"
#include "poolwatch/passive/classify.hpp"
#include "poolwatch/passive/dovecot_snippet.hpp"
#include "poolwatch/passive/proxy_event.hpp"
#include "support/dovecot_lab.hpp"
#include "support/lab_network.hpp"

namespace poolwatch::test {
namespace {

using namespace std::chrono_literals;

// One blocking dialogue with the lab director (127.0.0.10): lines out, reply lines in.
class Dialogue {
 public:
  explicit Dialogue(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval deadline{45, 0};  // beyond the director's 30 s login timeout
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.10", &to.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  }
  ~Dialogue() { ::close(fd_); }
  Dialogue(const Dialogue&) = delete;
  Dialogue& operator=(const Dialogue&) = delete;

  // The next line whose start is one of `starts` ("" for any line); "" on EOF or timeout.
  std::string line_starting(const std::vector<std::string>& starts) {
    while (connected_ && pending_.size() < 65536) {
      for (auto end = pending_.find("\r\n"); end != std::string::npos;
           end = pending_.find("\r\n")) {
        const auto line = pending_.substr(0, end);
        pending_.erase(0, end + 2);
        for (const auto& start : starts)
          if (line.starts_with(start)) return line;
      }
      char buffer[1024];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return "";
      pending_.append(buffer, static_cast<std::size_t>(n));
    }
    return "";
  }
  void send(const std::string& line) {
    const auto text = line + "\r\n";
    if (connected_) ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

void imap_login(const std::string& user, const std::string& password) {
  Dialogue d(143);
  d.line_starting({"* OK"});
  d.send("a LOGIN \"" + user + "\" \"" + password + "\"");
  if (d.line_starting({"a "}).starts_with("a OK")) {
    d.send("b LOGOUT");
    d.line_starting({"b "});
  }
}

void pop3_login(const std::string& user, const std::string& password) {
  Dialogue d(110);
  d.line_starting({"+OK"});
  d.send("USER " + user);
  d.line_starting({"+OK", "-ERR"});
  d.send("PASS " + password);
  if (d.line_starting({"+OK", "-ERR"}).starts_with("+OK")) {
    d.send("QUIT");
    d.line_starting({"+OK"});
  }
}

void lmtp_deliver(const std::string& recipient) {
  Dialogue d(24);
  d.line_starting({"220"});
  d.send("LHLO client.lab.test");
  d.line_starting({"250 "});
  d.send("MAIL FROM:<sender@lab.test>");
  d.line_starting({"250", "4", "5"});
  d.send("RCPT TO:<" + recipient + ">");
  if (!d.line_starting({"250", "4", "5"}).starts_with("250")) return;
  d.send("DATA");
  if (!d.line_starting({"354", "4", "5"}).starts_with("354")) return;
  d.send("Subject: passive recording\r\n\r\nhello\r\n.");
  d.line_starting({"250", "4", "5"});
  d.send("QUIT");
}

// Every protocol for every user at once, one thread each.
void all_protocols(const std::vector<std::string>& users, const std::string& password) {
  std::vector<std::thread> threads;
  for (const auto& user : users) {
    threads.emplace_back([user, password] { imap_login(user, password); });
    threads.emplace_back([user, password] { pop3_login(user, password); });
    threads.emplace_back([user] { lmtp_deliver(user); });
  }
  for (auto& t : threads) t.join();
}

// Accepts on 127.0.1.2's mail ports and closes at once: a backend that closes.
class ClosingBackend {
 public:
  ClosingBackend() {
    for (int port : {143, 110, 24}) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int on = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
      sockaddr_in at{};
      at.sin_family = AF_INET;
      at.sin_port = htons(static_cast<std::uint16_t>(port));
      ::inet_pton(AF_INET, "127.0.1.2", &at.sin_addr);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || ::listen(fd, 64) != 0)
        throw std::runtime_error("cannot listen on 127.0.1.2:" + std::to_string(port));
      listeners_.push_back(fd);
      threads_.emplace_back([this, fd] {
        while (!stopping_) {
          const int client = ::accept(fd, nullptr, nullptr);
          if (client < 0) return;
          ::close(client);
        }
      });
    }
  }
  ~ClosingBackend() {
    stopping_ = true;
    for (int fd : listeners_) ::shutdown(fd, SHUT_RDWR);
    for (auto& t : threads_) t.join();
    for (int fd : listeners_) ::close(fd);
  }

 private:
  std::atomic<bool> stopping_{false};
  std::vector<int> listeners_;
  std::vector<std::thread> threads_;
};

class PassiveRecording : public ::testing::Test {
 protected:
  static constexpr const char* kBroken = "127.0.1.2";

  void SetUp() override {
    if (!in_own_network_namespace())
      GTEST_SKIP() << "run it as `ctest -R e2e.passive` (unshare -n)";
    lab_ = DovecotLab::start({.backends = 3, .fast_auth_failures = true});
    EventEndpointSettings settings;
    settings.listen = "127.0.0.1:9170";
    settings.path = std::string(passive::kEventsPath);
    endpoint_ = std::make_unique<EventEndpoint>(
        io_.get_executor(), settings,
        EventEndpointHandlers{[](const IpAddress&) { return true; },
                              [this](std::string_view body) {
                                std::lock_guard lock(mutex_);
                                posted_.emplace_back(scenario_, std::string(body));
                                return true;
                              },
                              nullptr});
    ASSERT_FALSE(endpoint_->start());
    thread_ = std::thread([this] { io_.run(); });
    const auto conf = lab_->dir() + "/etc/director.conf";
    std::ofstream(conf, std::ios::app) << passive::dovecot_config_snippet("127.0.0.1:9170");
    const auto [reloaded, output] =
        DovecotLab::run("doveadm -c " + DovecotLab::shell_quote(conf) + " reload");
    ASSERT_EQ(reloaded, 0) << output;
    std::this_thread::sleep_for(2s);
  }

  void TearDown() override {
    if (endpoint_) endpoint_->stop();
    if (thread_.joinable()) thread_.join();
  }

  // Runs one scenario; its events are those posted until a moment after it ends.
  template <typename F>
  void scenario(const std::string& name, F run) {
    {
      std::lock_guard lock(mutex_);
      scenario_ = name;
    }
    run();
    std::this_thread::sleep_for(2s);
  }

  // The class a person gives an event from its scenario (not from the classifier).
  static std::string expected_class(const std::string& scenario, const std::string& body) {
    const auto event = passive::parse_dovecot_event(body).event;
    if (!event || !event->dest_ip) return "ignored";
    const bool broken_backend = event->dest_ip->to_string() == kBroken &&
                                (scenario == "kill" || scenario == "closing" || scenario == "hang");
    if (event->name == "proxy_session_finished") {
      if (!event->has_error) return event->has_bytes ? "success" : "ignored";
      if (event->error.find("Authentication failed") != std::string::npos) return "user_fault";
      return broken_backend ? "backend_fault" : "unexpected";
    }
    if (event->name == "smtp_client_transaction_finished") {
      if (event->status_code == 250) return "success";
      if (event->status_code == 9000) return "ignored";
      return broken_backend ? "backend_fault" : "unexpected";
    }
    if (event->name == "smtp_client_transaction_rcpt_finished")
      return event->status_code && *event->status_code >= 500 && *event->status_code < 600
                 ? "user_fault"
                 : "ignored";
    return "ignored";
  }

  boost::asio::io_context io_;
  std::unique_ptr<DovecotLab> lab_;
  std::unique_ptr<EventEndpoint> endpoint_;
  std::thread thread_;
  std::mutex mutex_;
  std::string scenario_ = "start";
  std::vector<std::pair<std::string, std::string>> posted_;
};

TEST_F(PassiveRecording, RealDirectorEventsGetTheClassOfTheirScenario) {
  const std::vector<std::string> users{"user1", "user2", "user3", "user4", "user5"};
  scenario("good", [&] { all_protocols(users, "userpass"); });
  scenario("wrongpass", [&] { all_protocols(users, "wrong-password"); });
  scenario("unknownuser", [&] { all_protocols({"nosuch1", "nosuch2"}, "userpass"); });
  lab_->fault(2, "kill");
  scenario("kill", [&] { all_protocols(users, "userpass"); });
  {
    ClosingBackend closing;
    scenario("closing", [&] { all_protocols(users, "userpass"); });
  }
  lab_->fault(2, "start");
  lab_->fault(2, "hang");
  scenario("hang", [&] { all_protocols(users, "userpass"); });
  lab_->fault(2, "resume");

  std::lock_guard lock(mutex_);
  ASSERT_GT(posted_.size(), 40u);
  std::map<std::string, int> faults;  // scenario/protocol
  std::ofstream record;
  if (const char* file = std::getenv("POOLWATCH_RECORD_EVENTS")) record.open(file);
  for (const auto& [name, body] : posted_) {
    const auto event = passive::parse_dovecot_event(body).event;
    ASSERT_TRUE(event) << body;
    const auto expected = expected_class(name, body);
    const auto got = std::string(passive::to_string(passive::classify(*event).cls));
    EXPECT_EQ(got, expected) << name << ": " << body;
    if (got == "backend_fault") ++faults[name + "/" + (event->lmtp ? "lmtp" : event->service)];
    if (record) record << expected << '\t' << name << '\t' << body << '\n';
  }
  for (const auto* name : {"kill", "closing", "hang"})
    for (const auto* protocol : {"imap", "pop3", "lmtp"})
      EXPECT_GT(faults[std::string(name) + "/" + protocol], 0) << name << " " << protocol;
}

}  // namespace
}  // namespace poolwatch::test
