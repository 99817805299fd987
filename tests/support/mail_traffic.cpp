#include "support/mail_traffic.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace poolwatch::test {

namespace {

// Reads until a line starting with `tag` (or any line when tag is empty) has come whole;
// what came back, or "" on a timeout or a close. Capped: the lab's replies are short.
std::string read_until_tagged(int fd, const std::string& tag) {
  std::string got;
  char buffer[1024];
  while (got.size() < 65536) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return "";
    got.append(buffer, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (auto end = got.find("\r\n"); end != std::string::npos; end = got.find("\r\n", start)) {
      if (tag.empty() || got.compare(start, tag.size(), tag) == 0)
        return got.substr(start, end - start);
      start = end + 2;
    }
  }
  return "";
}

bool send_all(int fd, const std::string& text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

}  // namespace

MailTraffic::MailTraffic(std::string address, int port, std::vector<Login> logins,
                         std::chrono::milliseconds period)
    : address_(std::move(address)), port_(port), period_(period) {
  in_addr parsed{};
  if (::inet_pton(AF_INET, address_.c_str(), &parsed) != 1 || (ntohl(parsed.s_addr) >> 24) != 127)
    throw std::invalid_argument("traffic only to 127.0.0.0/8, not " + address_);
  for (auto& login : logins) threads_.emplace_back([this, login] { run(login); });
}

MailTraffic::~MailTraffic() {
  stop();
}

void MailTraffic::stop() {
  stopping_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void MailTraffic::run(Login login) {
  while (!stopping_) {
    const auto started = std::chrono::steady_clock::now();
    (login_once(login) ? ok_ : failed_)++;
    while (!stopping_ && std::chrono::steady_clock::now() < started + period_)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool MailTraffic::login_once(const Login& login) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // Beyond the director's 30 s login timeout of a hung backend.
  timeval deadline{40, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &deadline, sizeof deadline);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port_));
  ::inet_pton(AF_INET, address_.c_str(), &to.sin_addr);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
      read_until_tagged(fd, "").starts_with("* OK") &&
      send_all(fd, "a LOGIN \"" + login.user + "\" \"" + login.password + "\"\r\n")) {
    ok = read_until_tagged(fd, "a ").starts_with("a OK");
    if (ok && send_all(fd, "b LOGOUT\r\n")) read_until_tagged(fd, "b ");
  }
  ::close(fd);
  return ok;
}

}  // namespace poolwatch::test
