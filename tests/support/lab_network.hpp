#pragma once
// Network faults for the ring lab, made only inside a network namespace of the test's
// own (`unshare -n`): an nftables rule there cannot reach the host's firewall, and the
// lab's 127.x addresses cannot collide with a lab that other tests run on the host. And
// the plain connects and HTTP GETs the ring suites look through.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace poolwatch::test {

// True when this process's network namespace is not the one of pid 1 (the host's, or
// the container's) or, where pid 1 cannot be read, not its parent's: the test runs
// under `unshare -n` or an equivalent. False when neither can be told.
bool in_own_network_namespace();

// What an NftRejectRule matches: every field that is set, at least one.
struct NftMatch {
  std::string source{};       // IPv4 literal; empty: any
  std::string destination{};  // IPv4 literal; empty: any
  std::optional<unsigned short> destination_port{};
  // The sockets of processes running with this group (nft `meta skgid`): one process's
  // connections whatever source address the kernel picks for them.
  std::optional<unsigned> socket_group{};
};

// An nftables rule in table `inet poolwatch_lab` that answers every TCP connect from
// `source` to `destination` with a reset, so the connect fails with "connection
// refused" for that source only: a backend reachable from every director but one.
// Both are IPv4 literals. The constructor throws std::runtime_error outside a network
// namespace of the test's own, or when nft fails; the destructor removes the rule.
class NftRejectRule {
 public:
  NftRejectRule(std::string source, std::string destination);
  // The same for the TCP connects that `match` selects (a port, a process's group).
  explicit NftRejectRule(NftMatch match);
  ~NftRejectRule();
  NftRejectRule(const NftRejectRule&) = delete;
  NftRejectRule& operator=(const NftRejectRule&) = delete;

  void remove();  // idempotent; throws when nft fails

 private:
  NftMatch match_;
  std::optional<std::string> handle_;  // nft's handle of the rule while it is in place
};

// A blocking TCP connect from `source` (bound, any port) to destination:port, bounded
// by a few seconds; the error of the connect, or success. Closes the socket at once.
std::error_code connect_from(const std::string& source, const std::string& destination,
                             unsigned short port);

// A plain HTTP/1.1 GET (Connection: close) to address:port, bounded by `timeout` as a
// whole: the poolwatch instances' /status, /metrics and ring port. status 0 and `error`
// set when there was no complete reply. Header names are lower-case.
struct HttpGetResult {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string error;
};
HttpGetResult http_get(const std::string& address, unsigned short port, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace poolwatch::test
