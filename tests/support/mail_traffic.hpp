#pragma once
// User traffic through a real director for the e2e suites: each user logs in over IMAP
// once a period (LOGIN, then LOGOUT), one thread per user, blocking sockets with a
// deadline. Only ever to a 127.0.0.0/8 address.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace poolwatch::test {

class MailTraffic {
 public:
  struct Login {
    std::string user;
    std::string password;
  };
  // Throws std::invalid_argument unless `address` is in 127.0.0.0/8.
  MailTraffic(std::string address, int port, std::vector<Login> logins,
              std::chrono::milliseconds period);
  ~MailTraffic();  // stop()
  MailTraffic(const MailTraffic&) = delete;
  MailTraffic& operator=(const MailTraffic&) = delete;

  void stop();
  int logins_ok() const { return ok_; }
  int logins_failed() const { return failed_; }

 private:
  void run(Login login);
  bool login_once(const Login& login);

  std::string address_;
  int port_;
  std::chrono::milliseconds period_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::vector<std::thread> threads_;
};

}  // namespace poolwatch::test
