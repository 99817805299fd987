#include "support/lab_network.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <regex>
#include <stdexcept>
#include <utility>

#include "support/dovecot_lab.hpp"

namespace poolwatch::test {

namespace {

constexpr const char* kNftTable = "inet poolwatch_lab";
// Bounds a connect that nothing answers (a dropped SYN); a refused one returns at once.
constexpr int kConnectTimeoutSeconds = 5;

sockaddr_in ipv4_address(const std::string& address, unsigned short port) {
  sockaddr_in result{};
  result.sin_family = AF_INET;
  result.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &result.sin_addr) != 1) {
    throw std::invalid_argument("not an IPv4 address: '" + address + "'");
  }
  return result;
}

// The identity of a process's network namespace, when this process may read it.
std::optional<std::pair<dev_t, ino_t>> network_namespace_of(const std::string& pid) {
  struct stat namespace_file {};
  if (::stat(("/proc/" + pid + "/ns/net").c_str(), &namespace_file) != 0) return std::nullopt;
  return std::pair{namespace_file.st_dev, namespace_file.st_ino};
}

std::string nft(const std::string& arguments) {
  const auto [code, output] = DovecotLab::run("nft " + arguments);
  if (code != 0) {
    throw std::runtime_error(fmt::format("nft {} failed (exit {}): {}", arguments, code, output));
  }
  return output;
}

}  // namespace

bool in_own_network_namespace() {
  const auto own = network_namespace_of("self");
  if (!own) return false;
  if (const auto init = network_namespace_of("1")) return *own != *init;
  // A container may hide pid 1's namespaces even from root (pid 1 holds capabilities
  // the test lacks). The parent is still outside: the test runs as `unshare -n sh -c
  // '... exec e2e_tests'` from ctest or a shell.
  const auto parent = network_namespace_of(std::to_string(::getppid()));
  return parent && *own != *parent;
}

NftRejectRule::NftRejectRule(std::string source, std::string destination)
    : source_(std::move(source)), destination_(std::move(destination)) {
  ipv4_address(source_, 0);  // validates both before they reach a shell
  ipv4_address(destination_, 0);
  if (!in_own_network_namespace()) {
    throw std::runtime_error(
        "refusing to change nftables outside the test's own network namespace "
        "(run the test under `unshare -n`)");
  }
  // `add` of an existing table or chain is a no-op, so several rules share them.
  nft(fmt::format("add table {}", kNftTable));
  nft(fmt::format("add chain {} output '{{ type filter hook output priority 0; }}'", kNftTable));
  const std::string added =
      nft(fmt::format("--echo --handle add rule {} output ip saddr {} ip daddr {} "
                      "reject with tcp reset",
                      kNftTable, source_, destination_));
  std::smatch handle;
  if (!std::regex_search(added, handle, std::regex("# handle ([0-9]+)"))) {
    throw std::runtime_error("nft printed no handle for the new rule: " + added);
  }
  handle_ = handle[1];
}

NftRejectRule::~NftRejectRule() {
  try {
    remove();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
}

void NftRejectRule::remove() {
  if (!handle_) return;
  nft(fmt::format("delete rule {} output handle {}", kNftTable, *handle_));
  handle_.reset();
}

std::error_code connect_from(const std::string& source, const std::string& destination,
                             unsigned short port) {
  const sockaddr_in local = ipv4_address(source, 0);
  const sockaddr_in remote = ipv4_address(destination, port);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {errno, std::system_category()};
  // Linux bounds a blocking connect by the send timeout.
  const timeval timeout{kConnectTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  std::error_code result;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof(remote)) != 0) {
    result = {errno, std::system_category()};
  }
  ::close(fd);
  return result;
}

}  // namespace poolwatch::test
