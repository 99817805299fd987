#pragma once
// Migration from Dovecot Pro's dovemon: reads /etc/dovecot/dovemon.config.yml as it is
// and maps every documented key onto a poolwatch Config. What poolwatch cannot honour
// exactly, and every key it does not know, comes back as a warning for the caller to
// log; nothing is dropped silently. docs/migration.md has the full table.

#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/config/config.hpp"

namespace poolwatch {

struct DovemonSettings {
  // Starts from poolwatch's defaults with dovemon's defaults laid over them for every
  // probing and health key, so an absent key behaves as it did under dovemon.
  Config config;
  // dovemon `debug: true`: stay in the foreground and log to the console.
  bool foreground = false;
  // "key: what poolwatch does instead", one per problem, in file order.
  std::vector<std::string> warnings;
};

// Reads the file. `test_accounts_path` empty: dovemon.testaccounts.yml next to the
// config file, used only if it exists. Throws ConfigError ("path:line: key: message") for
// unreadable files, malformed YAML, values of the wrong type, and a mapped Config that
// fails validate().
DovemonSettings load_dovemon_config(const std::string& path,
                                    const std::string& test_accounts_path = {});

// The same for text in memory; `origin` names it in messages. `test_accounts_path` is
// mapped as given (no existence check) unless empty.
DovemonSettings parse_dovemon_config(std::string_view yaml, std::string_view origin,
                                     const std::string& test_accounts_path = {});

}  // namespace poolwatch
