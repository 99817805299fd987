#pragma once
// The command line: which command to run, the config file, and overrides of any config
// key. Precedence: defaults < config file < named flags and --set, in the order given.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "poolwatch/config/config.hpp"
#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch {

inline constexpr const char* default_config_path = "/etc/poolwatch/poolwatch.yml";

enum class Command { run, probe, status, dovecot_config };

// `poolwatch probe [options] HOST[:PORT]`: one dialogue with one backend, printed.
struct ProbeArgs {
  std::string target;                 // the host or IP, without the port or brackets
  std::optional<Protocol> protocol;   // --protocol; unset: the caller infers it
  TlsMode tls = TlsMode::plain;       // --tls: implicit, --starttls: starttls
  std::optional<std::uint16_t> port;  // --port or the :PORT of the target
  std::string user, password_file, master_user, ca_file;
};

// `poolwatch status`: asks the running daemon's HTTP endpoint.
struct StatusArgs {
  bool json = false;
  std::string url;              // --url; empty: default_status_url(config.http) (status_client.hpp)
  bool watch = false;           // --watch: redraw every interval until interrupted
  double interval_seconds = 2;  // --interval
};

struct CliOptions {
  Command command = Command::run;
  Config config;            // validated, overrides applied
  std::string config_path;  // the file that was read; empty if defaults were used
  bool foreground = false;  // --foreground, also implied by --debug
  bool once = false;        // --once: one scan, then exit
  bool debug = false;       // --debug: debug level (pass to setup_logging)
  ProbeArgs probe;
  StatusArgs status;
  // Settings that could not be honoured as given (--dovemon-config); log them once
  // logging is set up.
  std::vector<std::string> warnings;
};

// Returns options, or an exit code (0 for --help/--version, 2 for usage or config
// errors) after printing to out/err. Config errors print "poolwatch: <message>".
std::variant<CliOptions, int> parse_command_line(int argc, const char* const* argv,
                                                 std::ostream& out, std::ostream& err);

}  // namespace poolwatch
