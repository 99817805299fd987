// What a real Dovecot director spends on HOST-LIST for a large pool (issue 15): poolwatch
// asks for the whole list once per health.interval, so that cost is paid by every
// director of a ring all the time.
// Usage (root, in a network namespace of its own; the lab's director is real Dovecot):
//   unshare --net sh -c 'ip link set lo up && exec build/bench/director_host_list [N...]'
// For each N (default 1000 10000): the lab's director (tests/e2e/lab, one backend) is
// started with N more hosts in director_mail_servers (addresses in 127.66.0.0/16, which
// nothing ever connects to: no user logs in), then asked for HOST-LIST 20 times over one
// admin connection as poolwatch asks. Printed: the wall time of one HOST-LIST as poolwatch
// sees it, the reply's size, and the director process's CPU (utime+stime from /proc)
// per HOST-LIST, with what that is at a 5 s interval.
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "floor_rig.hpp"
#include "support/dovecot_lab.hpp"
#include "support/lab_network.hpp"

using namespace poolwatch;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kLists = 20;

// One director-admin connection, one command at a time, blocking: nothing else runs.
class AdminConnection {
 public:
  explicit AdminConnection(const std::string& path) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof address.sun_path)
      throw std::runtime_error("cannot make a socket for " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("cannot connect to " + path + ": " + std::strerror(errno));
    if (!read_line().starts_with("VERSION\tdirector-doveadm\t1\t"))
      throw std::runtime_error("unexpected handshake from the director");
    send("VERSION\tdirector-doveadm\t1\t0\n");
  }
  ~AdminConnection() { ::close(fd_); }
  AdminConnection(const AdminConnection&) = delete;
  AdminConnection& operator=(const AdminConnection&) = delete;

  void send(const std::string& text) {
    for (std::size_t sent = 0; sent < text.size();) {
      const auto n = ::write(fd_, text.data() + sent, text.size() - sent);
      if (n <= 0) throw std::runtime_error("write to the director failed");
      sent += static_cast<std::size_t>(n);
    }
  }

  std::string read_line() {
    for (;;) {
      if (const auto lf = buffer_.find('\n'); lf != std::string::npos) {
        std::string line = buffer_.substr(0, lf);
        buffer_.erase(0, lf + 1);
        return line;
      }
      char chunk[65536];
      const auto n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("the director closed the admin connection");
      bytes_ += static_cast<std::size_t>(n);
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  std::size_t bytes_read() const { return bytes_; }

 private:
  int fd_;
  std::string buffer_;
  std::size_t bytes_ = 0;
};

std::string host_address(std::size_t i) {
  return fmt::format("127.66.{}.{}", i / 250, i % 250 + 1);
}

// The lab's director: the director process in this network namespace (the
// pid namespace is the host's, where other labs may run).
pid_t director_pid() {
  const auto own = std::filesystem::read_symlink("/proc/self/ns/net");
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path() / "ns/net", ec) != own || ec) continue;
    std::FILE* file = std::fopen((entry.path() / "cmdline").c_str(), "r");
    if (!file) continue;
    char command[64] = {};
    const auto got = std::fread(command, 1, sizeof command - 1, file);
    std::fclose(file);
    // "dovecot-INSTANCE/director" (the lab names its instances), else "dovecot/director".
    const std::string text(command);
    if (got > 0 && text.starts_with("dovecot") && text.find("/director") != std::string::npos)
      return static_cast<pid_t>(std::stol(name));
  }
  throw std::runtime_error("no Dovecot director process in this network namespace");
}

// The pool as director_mail_servers ranges: each HOST-SET makes the director rebuild its
// whole host table, so adding 10 000 hosts one by one took longer than half an hour.
std::string host_ranges(std::size_t hosts) {
  std::string ranges;
  for (std::size_t first = 0; first < hosts; first += 250) {
    const std::size_t last = std::min(hosts, first + 250) - 1;
    ranges += (ranges.empty() ? "" : " ") + host_address(first) + "-" + host_address(last);
  }
  return ranges;
}

void measure(std::size_t hosts) {
  test::DovecotLab::Options options;
  options.backends = 1;
  auto lab = test::DovecotLab::start(options, host_ranges(hosts));
  AdminConnection admin(lab->admin_socket());
  const pid_t director = director_pid();
  const double cpu0 = bench::process_cpu_seconds(director);
  const std::size_t bytes0 = admin.bytes_read();
  std::size_t lines = 0;
  const auto t0 = Clock::now();
  for (int round = 0; round < kLists; ++round) {
    admin.send("HOST-LIST\n");
    while (!admin.read_line().empty()) ++lines;
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count() / kLists;
  const double cpu = (bench::process_cpu_seconds(director) - cpu0) / kLists;
  std::printf(
      "hosts=%-6zu HOST-LIST: %7.2f ms wall, %7.2f ms director CPU, %8zu bytes, %zu lines"
      "  -> %.2f %% of a core at a 5 s interval\n",
      hosts, wall * 1000, cpu * 1000, (admin.bytes_read() - bytes0) / kLists, lines / kLists,
      cpu / 5.0 * 100);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (!test::in_own_network_namespace()) {
    std::fprintf(stderr,
                 "run me in a network namespace of my own: unshare --net sh -c 'ip link set lo "
                 "up && exec build/bench/director_host_list'\n");
    return 2;
  }
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoul(argv[i], nullptr, 10));
  if (sizes.empty()) sizes = {1000, 10000};
  try {
    for (const auto hosts : sizes) measure(hosts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "director_host_list: %s\n", e.what());
    return 1;
  }
  return 0;
}
