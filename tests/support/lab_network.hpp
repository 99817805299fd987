#pragma once
// Network faults for the ring lab, made only inside a network namespace of the test's
// own (`unshare -n`): an nftables rule there cannot reach the host's firewall, and the
// lab's 127.x addresses cannot collide with a lab that other tests run on the host.

#include <optional>
#include <string>
#include <system_error>

namespace poolwatch::test {

// True when this process's network namespace is not the one of pid 1 (the host's, or
// the container's) or, where pid 1 cannot be read, not its parent's: the test runs
// under `unshare -n` or an equivalent. False when neither can be told.
bool in_own_network_namespace();

// An nftables rule in table `inet poolwatch_lab` that answers every TCP connect from
// `source` to `destination` with a reset, so the connect fails with "connection
// refused" for that source only: a backend reachable from every director but one.
// Both are IPv4 literals. The constructor throws std::runtime_error outside a network
// namespace of the test's own, or when nft fails; the destructor removes the rule.
class NftRejectRule {
 public:
  NftRejectRule(std::string source, std::string destination);
  ~NftRejectRule();
  NftRejectRule(const NftRejectRule&) = delete;
  NftRejectRule& operator=(const NftRejectRule&) = delete;

  void remove();  // idempotent; throws when nft fails

 private:
  std::string source_;
  std::string destination_;
  std::optional<std::string> handle_;  // nft's handle of the rule while it is in place
};

// A blocking TCP connect from `source` (bound, any port) to destination:port, bounded
// by a few seconds; the error of the connect, or success. Closes the socket at once.
std::error_code connect_from(const std::string& source, const std::string& destination,
                             unsigned short port);

}  // namespace poolwatch::test
