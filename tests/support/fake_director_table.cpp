#include "support/fake_director_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

#include "poolwatch/director/director_protocol.hpp"

namespace poolwatch::testing {

namespace {

using Reply = std::optional<std::vector<std::string>>;

std::optional<IpAddress> parse_ip(std::string_view text) {
  return IpAddress::parse(text);
}

HostEntry* find(std::vector<HostEntry>& hosts, const IpAddress& address) {
  auto it = std::find_if(hosts.begin(), hosts.end(),
                         [&address](const HostEntry& h) { return h.address == address; });
  return it == hosts.end() ? nullptr : &*it;
}

Reply one_line(std::string line) {
  return std::vector<std::string>{std::move(line)};
}

}  // namespace

std::vector<std::string> host_list_reply(std::vector<HostEntry> hosts, int host_list_fields) {
  std::sort(hosts.begin(), hosts.end(),
            [](const HostEntry& a, const HostEntry& b) { return a.address < b.address; });
  std::vector<std::string> lines;
  for (const auto& h : hosts) {
    std::string line =
        fmt::format("{}\t{}\t{}", h.address.to_string(), h.vhost_count, h.user_count);
    if (host_list_fields >= 4) line += "\t" + director::tab_escape(h.tag);
    if (host_list_fields >= 6) {
      line += fmt::format("\t{}\t{}", h.down.value_or(false) ? 'D' : 'U',
                          h.last_updown_change.value_or(0));
    }
    lines.push_back(std::move(line));
  }
  lines.emplace_back();
  return lines;
}

std::optional<std::vector<std::string>> execute_director_command(std::vector<HostEntry>& hosts,
                                                                 int host_list_fields,
                                                                 std::string_view line) {
  std::vector<std::string> args;
  for (auto field : director::split_tabs(line)) args.push_back(director::tab_unescape(field));
  const std::string& command = args[0];

  if (command == "HOST-LIST") return host_list_reply(hosts, host_list_fields);

  if (command == "HOST-UP" || command == "HOST-DOWN") {
    if (args.size() != 2) return std::nullopt;
    const auto address = parse_ip(args[1]);
    if (!address) return std::nullopt;
    HostEntry* host = find(hosts, *address);
    if (!host) return one_line("NOTFOUND");
    const bool down = command == "HOST-DOWN";
    // Like mail_host_set_down(): the timestamp moves only when the flag changes.
    if (host->down.value_or(false) != down) {
      host->down = down;
      host->last_updown_change = static_cast<std::int64_t>(std::time(nullptr));
    }
    return one_line("OK");
  }

  if (command == "HOST-FLUSH" || command == "HOST-RESET-USERS") {
    if (command == "HOST-FLUSH" && args.size() > 2) return std::nullopt;
    if (args.size() > 3) return std::nullopt;
    // HOST-RESET-USERS' max_parallel must be a positive number.
    if (args.size() == 3 && (args[2].empty() || args[2] == "0" ||
                             args[2].find_first_not_of("0123456789") != std::string::npos))
      return std::nullopt;
    if (args.size() == 1 || args[1].empty()) {
      // No address: every host. poolwatch must never send this.
      for (auto& host : hosts) host.user_count = 0;
      return one_line("OK");
    }
    const auto address = parse_ip(args[1]);
    if (!address) return std::nullopt;
    HostEntry* host = find(hosts, *address);
    if (!host) return one_line("NOTFOUND");
    host->user_count = 0;
    return one_line("OK");
  }
  return std::nullopt;
}

}  // namespace poolwatch::testing
