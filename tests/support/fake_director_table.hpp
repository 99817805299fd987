#pragma once
// The part of FakeDirector that is a lone director's in-memory host table: what one
// admin request line does to it and what it answers. Pure; FakeDirector adds the socket.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/director/pool.hpp"

namespace poolwatch::testing {

// Executes one request line (without LF) against `hosts` the way Dovecot 2.3's
// doveadm-connection.c does for HOST-LIST, HOST-UP, HOST-DOWN, HOST-FLUSH and
// HOST-RESET-USERS. Returns the reply lines (a list reply ends with an empty line), or
// nullopt where the director would close the connection without replying: unknown
// command, bad or missing argument.
std::optional<std::vector<std::string>> execute_director_command(std::vector<HostEntry>& hosts,
                                                                 int host_list_fields,
                                                                 std::string_view line);

// HOST-LIST reply lines, sorted by address, in the 6-, 4- or 3-field format.
std::vector<std::string> host_list_reply(std::vector<HostEntry> hosts, int host_list_fields);

}  // namespace poolwatch::testing
