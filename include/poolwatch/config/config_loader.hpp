#pragma once
// Turning text into a validated Config: the YAML file, single `key.path=value`
// overrides from the command line, and the value syntaxes both share. Every failure is
// a ConfigError whose message names the key path and, from a file, the line.

#include <string>
#include <string_view>
#include <vector>

#include "poolwatch/config/config.hpp"

namespace poolwatch {

// Reads and validates a YAML file. A missing, unreadable or empty-but-present file is
// handled as: missing/unreadable -> ConfigError, empty -> all defaults.
Config load_config_file(const std::string& path);

// Same as load_config_file for text already in memory; `origin` names it in messages.
Config load_config_string(std::string_view yaml, std::string_view origin);

// Sets one key ("health.retry_count", "probe.tls.verify_peer", "pidfile") from its
// textual value, with exactly the type and range checks of the YAML loader. String
// keys take the text verbatim; other keys read it as a YAML value, so lists work:
// "probe.ports=[IMAP:143, POP3:110]" (a comma-separated list works too).
// "probe.ports" replaces the port list; "probe.ssl_ports" adds implicit-TLS ports.
// Cross-field rules are left to validate(), so overrides can be applied in any order.
void apply_setting(Config& config, std::string_view key_path, std::string_view value);

// Every per-key range check plus the rules that involve several keys
// (rapid_fails_needed <= rapid_rounds, log.target file needs log.file, ...).
void validate(const Config& config);

// Every leaf key the loader accepts, as dotted paths, in table order. The reference
// documentation is checked against this list.
std::vector<std::string> config_key_paths();

// "10", "0.5", "500ms", "10s", "2m", "1h" -> seconds. Throws ConfigError (no key path)
// for anything else, including negative values.
Seconds parse_duration(std::string_view text);

// poolmon's port syntax: "143", "IMAP:143", "pop3:110", "LMTP:24". A bare number is
// IMAP, except poolmon's well-known 110/995 (POP3) and 24 (LMTP). `tls` is the mode the
// spec gets (plain for --port, implicit for --ssl). Throws ConfigError.
PortSpec parse_port_spec(std::string_view text, TlsMode tls = TlsMode::plain);

// actions.on_transition: the absolute path of an executable, optionally followed by
// fixed arguments separated by spaces or tabs. No shell runs it, so there is no
// quoting and no expansion: a word is whatever lies between the blanks. Returns the
// words in order; none for an empty or blank command.
std::vector<std::string> split_hook_command(std::string_view command);

// "IMAP:993 (tls)" style text for logs and messages.
std::string to_string(const PortSpec& port);

std::string_view to_string(FlushMode mode);      // "reset-users", "flush", "none"
std::string_view to_string(GuardCounts counts);  // "own", "all"
std::string_view to_string(AuthMechanism mech);  // "login", "plain"
std::string_view to_string(VerifyName verify);   // "none", "ip", "hostname", "ptr"
std::string_view to_string(LogTarget target);    // "stderr", "syslog", "file"

}  // namespace poolwatch
