#include "support/lab_network.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string_view>
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

// Splits an HTTP/1.1 reply read to its end (the request said Connection: close).
// A chunked body (RFC 9112 §7.1) as its data; nullopt when it ends before its last chunk
// or is not chunked properly (extensions and trailers are not expected from poolwatch).
std::optional<std::string> dechunk(std::string_view raw) {
  std::string data;
  for (;;) {
    const auto line_end = raw.find("\r\n");
    if (line_end == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(raw.data(), raw.data() + line_end, size, 16);
    if (ec != std::errc() || end != raw.data() + line_end) return std::nullopt;
    raw.remove_prefix(line_end + 2);
    if (size == 0) return raw == "\r\n" ? std::optional(data) : std::nullopt;
    if (raw.size() < size + 2 || raw.substr(size, 2) != "\r\n") return std::nullopt;
    data.append(raw.substr(0, size));
    raw.remove_prefix(size + 2);
  }
}

bool parse_http_reply(const std::string& raw, HttpGetResult& result) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12)
    return false;
  std::istringstream head(raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);  // the status line
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto value_start = line.find_first_not_of(' ', colon + 1);
    result.headers[name] = value_start == std::string::npos ? "" : line.substr(value_start);
  }
  result.body = raw.substr(head_end + 4);
  result.status = std::stoi(raw.substr(9, 3));
  if (const auto coding = result.headers.find("transfer-encoding");
      coding != result.headers.end() && coding->second == "chunked") {
    auto data = dechunk(result.body);
    if (!data) {
      result.error = fmt::format("chunked body cut short ({} bytes)", result.body.size());
      return true;
    }
    result.body = std::move(*data);
  }
  return true;
}

// Both addresses are the rule: an empty one would widen it to any address.
NftMatch address_pair(std::string source, std::string destination) {
  if (source.empty() || destination.empty())
    throw std::invalid_argument("a source-to-destination rule needs both addresses");
  return NftMatch{std::move(source), std::move(destination), {}, {}};
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
    : NftRejectRule(address_pair(std::move(source), std::move(destination))) {}

NftRejectRule::NftRejectRule(NftMatch match) : match_(std::move(match)) {
  // Validated before any of it reaches a shell.
  std::string expression;
  if (!match_.source.empty()) {
    ipv4_address(match_.source, 0);
    expression += " ip saddr " + match_.source;
  }
  if (!match_.destination.empty()) {
    ipv4_address(match_.destination, 0);
    expression += " ip daddr " + match_.destination;
  }
  if (match_.socket_group) expression += fmt::format(" meta skgid {}", *match_.socket_group);
  if (match_.destination_port) expression += fmt::format(" tcp dport {}", *match_.destination_port);
  if (expression.empty()) throw std::invalid_argument("an nftables reject rule that matches all");
  if (!in_own_network_namespace()) {
    throw std::runtime_error(
        "refusing to change nftables outside the test's own network namespace "
        "(run the test under `unshare -n`)");
  }
  // `add` of an existing table or chain is a no-op, so several rules share them.
  nft(fmt::format("add table {}", kNftTable));
  nft(fmt::format("add chain {} output '{{ type filter hook output priority 0; }}'", kNftTable));
  const std::string added = nft(fmt::format(
      "--echo --handle add rule {} output{} reject with tcp reset", kNftTable, expression));
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

HttpGetResult http_get(const std::string& address, unsigned short port, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       std::chrono::milliseconds timeout) {
  HttpGetResult result;
  const sockaddr_in remote = ipv4_address(address, port);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = fmt::format("socket: {}", std::strerror(errno));
    return result;
  }
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  const timeval each{static_cast<time_t>(micros / 1'000'000),
                     static_cast<suseconds_t>(micros % 1'000'000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &each, sizeof(each));  // bounds connect() too
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &each, sizeof(each));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: {}:{}\r\n", target, address, port);
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "Connection: close\r\n\r\n";
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof(remote)) != 0 ||
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
    result.error = fmt::format("{}:{}: {}", address, port, std::strerror(errno));
    ::close(fd);
    return result;
  }
  std::string raw;
  std::array<char, 16384> buffer{};
  ssize_t n = 0;
  while ((n = ::recv(fd, buffer.data(), buffer.size(), 0)) > 0 &&
         std::chrono::steady_clock::now() < deadline)
    raw.append(buffer.data(), static_cast<std::size_t>(n));
  if (n != 0) {
    result.error = n < 0 ? fmt::format("recv: {}", std::strerror(errno)) : "reply too slow";
  } else if (!parse_http_reply(raw, result)) {
    result.error = fmt::format("not an HTTP reply ({} bytes)", raw.size());
  }
  ::close(fd);
  return result;
}

}  // namespace poolwatch::test
