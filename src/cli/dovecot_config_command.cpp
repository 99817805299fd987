#include "poolwatch/cli/dovecot_config_command.hpp"

#include <string>
#include <string_view>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/passive/dovecot_snippet.hpp"

namespace poolwatch {

namespace {

// "127.0.0.1:9168" -> {"127.0.0.1", "9168"}; "[::1]:9168" -> {"::1", "9168"}.
bool split_listen(std::string_view listen, std::string& host, std::string& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == listen.size()) return false;
  host = std::string(listen.substr(0, colon));
  port = std::string(listen.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return !host.empty();
}

}  // namespace

int print_dovecot_config(const PassiveConfig& passive, std::ostream& out, std::ostream& err) {
  std::string host, port;
  if (!split_listen(passive.listen, host, port)) {
    err << "poolwatch: passive.listen '" << passive.listen << "' names no address and port\n";
    return 2;
  }
  if (host == "localhost") host = "127.0.0.1";
  const auto address = IpAddress::parse(host);
  if (address && address->is_unspecified()) {
    // The director cannot post to a wildcard: it posts to this host's own loopback.
    err << "poolwatch: passive.listen is a wildcard (" << host
        << "); the snippet uses loopback, as the director on this host reaches it\n";
    host = address->is_v4() ? "127.0.0.1" : "::1";
  }
  if (!passive.enabled)
    err << "poolwatch: passive.enabled is false: set it to true, or nothing listens there\n";
  const bool v6 = host.find(':') != std::string::npos;
  out << passive::dovecot_config_snippet((v6 ? "[" + host + "]" : host) + ":" + port);
  return 0;
}

}  // namespace poolwatch
