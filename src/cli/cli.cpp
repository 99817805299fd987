// The command line. Overrides are collected first and applied after the config file
// is read, in the order they were given, so the last word on a key wins.

#include "poolwatch/cli/cli.hpp"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <functional>
#include <map>

#include "poolwatch/config/config_loader.hpp"
#include "poolwatch/config/dovemon_config.hpp"

namespace poolwatch {

namespace {

constexpr const char* description =
    "poolwatch watches the backends of a Dovecot director: it probes each backend over "
    "IMAP, POP3 or LMTP and takes failed ones out of the pool (HOST-DOWN) until they "
    "recover (HOST-UP).";

constexpr const char* footer =
    "Precedence: built-in defaults < config file < --set and the named options, in the "
    "order given.\nEvery config key can be set with --set KEY=VALUE, e.g. --set "
    "health.retry_count=5 or --set 'probe.ports=[IMAP:143, POP3:110]'.\nThe first --port "
    "or --ssl replaces the configured ports; further ones add to them.";

// A flag given as --flag, --flag=0 or --flag=no, as the text of a config boolean.
std::string flag_value(const std::string& result) {
  if (result == "0" || result == "-1") return "false";
  if (result == "1") return "true";
  return result;
}

bool split_target(const std::string& text, ProbeArgs& probe, std::string& error) {
  std::string host = text;
  std::optional<std::string> port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string::npos) {
      error = "missing ']' in " + text;
      return false;
    }
    host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    if (rest.starts_with(':'))
      port_text = rest.substr(1);
    else if (!rest.empty()) {
      error = "unexpected text after ']' in " + text;
      return false;
    }
  } else if (auto colon = text.find(':');
             colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host.empty()) {
    error = "no host in " + text;
    return false;
  }
  probe.target = host;
  if (port_text) {
    std::uint16_t port = 0;
    try {
      port = parse_port_spec(*port_text).port;
    } catch (const ConfigError& e) {
      error = e.what();
      return false;
    }
    if (probe.port && *probe.port != port) {
      error = "--port " + std::to_string(*probe.port) + " contradicts " + text;
      return false;
    }
    probe.port = port;
  }
  return true;
}

Config load_config(const std::string& path, bool given, std::string& used_path) {
  struct stat info {};
  if (!given && ::stat(path.c_str(), &info) != 0 && errno == ENOENT) {
    used_path.clear();
    return Config{};
  }
  used_path = path;
  return load_config_file(path);
}

}  // namespace

std::variant<CliOptions, int> parse_command_line(int argc, const char* const* argv,
                                                 std::ostream& out, std::ostream& err) {
  CliOptions options;
  CLI::App app{description, "poolwatch"};
  app.fallthrough();  // global options may follow the subcommand
  app.set_version_flag("--version", "poolwatch " POOLWATCH_VERSION, "Print the version and exit");
  app.require_subcommand(0, 1);

  std::string config_path = default_config_path;
  auto* config_option = app.add_option("-c,--config", config_path,
                                       "YAML config file (a missing default file means "
                                       "built-in defaults)")
                            ->type_name("FILE")
                            ->capture_default_str();
  std::string dovemon_config, dovemon_accounts;
  auto* dovemon_option =
      app.add_option("--dovemon-config", dovemon_config,
                     "Read dovemon's dovemon.config.yml as it is instead of a poolwatch config; "
                     "keys it cannot honour are reported")
          ->type_name("FILE");
  app.add_option("--dovemon-testaccounts", dovemon_accounts,
                 "dovemon's test accounts file (with --dovemon-config)")
      ->type_name("FILE");
  app.add_flag("-f,--foreground", options.foreground, "Stay in the foreground, do not daemonize");
  app.add_flag("-d,--debug", options.debug, "Debug logging, also to stderr (implies --foreground)");
  app.add_flag("--once", options.once,
               "One scan: print the pool and every probe result, send nothing, exit 0 healthy, 1 "
               "unhealthy, 2 error");

  // Options that change config keys: applied in order after the file is read.
  using Apply = std::function<void(Config&, const std::string&)>;
  std::map<CLI::Option*, Apply> overrides;
  auto setting = [&](const std::string& name, const std::string& type, const std::string& help,
                     const std::string& key) {
    CLI::Option* option = app.add_option(name, help)
                              ->type_name(type)
                              ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    overrides[option] = [key](Config& c, const std::string& value) {
      apply_setting(c, key, value);
    };
    return option;
  };
  auto flag_setting = [&](const std::string& name, const std::string& help,
                          const std::string& key) {
    CLI::Option* option = app.add_flag(name)->description(help);
    overrides[option] = [key](Config& c, const std::string& value) {
      apply_setting(c, key, flag_value(value));
    };
  };

  CLI::Option* set_option =
      app.add_option("--set", "Set any config key, e.g. --set health.retry_count=5 (repeatable)")
          ->type_name("KEY=VALUE")
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  overrides[set_option] = [](Config& c, const std::string& assignment) {
    auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0)
      throw ConfigError("--set '" + assignment + "': expected KEY=VALUE");
    apply_setting(c, assignment.substr(0, equals), assignment.substr(equals + 1));
  };
  flag_setting("-n,--dry-run", "Log the director commands instead of sending them (dry_run)",
               "dry_run");
  setting("-S,--socket", "PATH", "director-admin socket (director.socket)", "director.socket");
  setting("-i,--interval", "SECS", "Seconds between scans (health.interval)", "health.interval");
  setting("-t,--timeout", "SECS", "Deadline of one probe dialogue (health.timeout)",
          "health.timeout");
  bool ports_replaced = false;
  auto port_setting = [&](const std::string& name, const std::string& help, TlsMode tls) {
    CLI::Option* option = app.add_option(name, help)
                              ->type_name("SPEC")
                              ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    overrides[option] = [&ports_replaced, tls](Config& c, const std::string& value) {
      PortSpec port = parse_port_spec(value, tls);
      if (!ports_replaced) c.probe.ports.clear();
      ports_replaced = true;
      c.probe.ports.push_back(port);
    };
  };
  port_setting("-p,--port",
               "Port to check: 143, IMAP:143, POP3:110 or LMTP:24 (repeatable; replaces "
               "probe.ports)",
               TlsMode::plain);
  port_setting("-s,--ssl", "Implicit-TLS port to check, e.g. IMAP:993 (repeatable)",
               TlsMode::implicit);
  setting("--credfile", "FILE",
          "poolmon credential file: user, then password (credentials.credfile)",
          "credentials.credfile");
  setting("--lmtp-from", "ADDR",
          "LMTP envelope sender; default the null sender <> (probe.lmtp_from)", "probe.lmtp_from");
  // poolmon checked an LMTP recipient only when --lmtp-to was given.
  CLI::Option* lmtp_to =
      app.add_option("--lmtp-to", "LMTP recipient to check on every backend (probe.lmtp_to)")
          ->type_name("ADDR")
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  overrides[lmtp_to] = [](Config& c, const std::string& value) {
    apply_setting(c, "probe.lmtp_to", value);
    apply_setting(c, "probe.lmtp_rcpt", "true");
  };
  CLI::Option* logfile =
      app.add_option("-l,--logfile", "Log to FILE, or to syslog with the word syslog (log.target)")
          ->type_name("FILE|syslog")
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  overrides[logfile] = [](Config& c, const std::string& value) {
    if (value == "syslog" || value == "stderr") {
      apply_setting(c, "log.target", value);
    } else {
      apply_setting(c, "log.file", value);
      apply_setting(c, "log.target", "file");
    }
  };
  // --lockfile: the maintained poolmon fork and dovemon call the same file a lock file.
  setting("-k,--pidfile,--lockfile", "FILE", "Pidfile, locked with flock (pidfile)", "pidfile");
  // The poolmon fork spells it -v 1, --ssl-verify 0 or --ssl-verify=1; alone it means on.
  CLI::Option* ssl_verify =
      app.add_option("-v,--ssl-verify",
                     "Verify backend certificates; 0 turns it off (probe.tls.verify_peer)")
          ->type_name("[0|1]")
          ->expected(0, 1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  overrides[ssl_verify] = [](Config& c, const std::string& value) {
    apply_setting(c, "probe.tls.verify_peer", value.empty() ? "true" : flag_value(value));
  };
  setting("--state-file", "FILE", "Where health state survives restarts (state_file)",
          "state_file");

  app.add_subcommand("run", "Monitor the pool (the default command)");
  CLI::App* probe = app.add_subcommand(
      "probe", "Probe one backend once with the configured checks and print the dialogue");
  std::string protocol_name;
  std::string target;
  std::uint16_t probe_port = 0;
  probe->add_option("--protocol", protocol_name, "Protocol to speak (default: from the port)")
      ->type_name("PROTOCOL")
      ->check(CLI::IsMember({"imap", "pop3", "lmtp"}, CLI::ignore_case));
  auto* tls_flag = probe->add_flag("--tls")->description("Implicit TLS (imaps, pop3s)");
  auto* starttls_flag =
      probe->add_flag("--starttls")->description("Plain connection upgraded with STARTTLS");
  tls_flag->excludes(starttls_flag);
  auto* port_option =
      probe->add_option("--port", probe_port, "Port, 1..65535 (default: the protocol's)")
          ->type_name("N")
          ->check(CLI::Validator(CLI::Range(1, 65535)).description(""));
  const auto existing_file = CLI::Validator(CLI::ExistingFile).description("");
  probe->add_option("--user", options.probe.user, "Log in as this user")->type_name("USER");
  probe
      ->add_option("--password-file", options.probe.password_file,
                   "Read the password from the first line of this file")
      ->type_name("FILE")
      ->check(existing_file);
  probe
      ->add_option("--master-user", options.probe.master_user,
                   "Log in as USER through this master user")
      ->type_name("MASTER");
  probe->add_option("--ca", options.probe.ca_file, "CA certificates to verify the backend with")
      ->type_name("FILE")
      ->check(existing_file);
  probe->add_option("target", target, "Backend to probe: a name, an IP, or [IPv6]:PORT")
      ->type_name("HOST[:PORT]")
      ->required();
  CLI::App* status = app.add_subcommand("status", "Show the running daemon's view of the pool");
  status->add_flag("--json", options.status.json, "Print the raw JSON");
  status
      ->add_option("--url", options.status.url,
                   "Status URL (default: http://ADDRESS:PORT/status from http.listen)")
      ->type_name("URL");

  app.footer(footer);  // after the subcommands, which would inherit it

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "poolwatch: " << e.what() << "\nRun 'poolwatch --help' for usage.\n";
    return 2;
  }

  try {
    if (dovemon_option->count() > 0) {
      if (config_option->count() > 0) {
        err << "poolwatch: --config and --dovemon-config exclude each other\n";
        return 2;
      }
      auto dovemon = load_dovemon_config(dovemon_config, dovemon_accounts);
      options.config = std::move(dovemon.config);
      options.foreground = options.foreground || dovemon.foreground;
      options.warnings = std::move(dovemon.warnings);
      options.config_path = dovemon_config;
    } else {
      options.config = load_config(config_path, config_option->count() > 0, options.config_path);
    }
  } catch (const ConfigError& e) {
    err << "poolwatch: " << e.what() << "\n";
    return 2;
  }

  std::map<CLI::Option*, std::size_t> used;
  for (CLI::Option* option : app.parse_order()) {
    auto apply = overrides.find(option);
    if (apply == overrides.end()) continue;
    const std::string& value = option->results().at(used[option]++);
    try {
      apply->second(options.config, value);
    } catch (const ConfigError& e) {
      if (option == set_option)
        err << "poolwatch: " << e.what() << "\n";
      else
        err << "poolwatch: " << option->get_name() << " " << value << ": " << e.what() << "\n";
      return 2;
    }
  }
  try {
    validate(options.config);
  } catch (const ConfigError& e) {
    err << "poolwatch: " << e.what() << "\n";
    return 2;
  }
  if (options.debug) options.foreground = true;

  if (probe->parsed()) {
    options.command = Command::probe;
    if (!protocol_name.empty()) {
      for (auto& c : protocol_name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      options.probe.protocol = protocol_from_string(protocol_name);
    }
    if (tls_flag->count()) options.probe.tls = TlsMode::implicit;
    if (starttls_flag->count()) options.probe.tls = TlsMode::starttls;
    if (port_option->count()) options.probe.port = probe_port;
    std::string error;
    if (!split_target(target, options.probe, error)) {
      err << "poolwatch: probe: " << error << "\n";
      return 2;
    }
  } else if (status->parsed()) {
    options.command = Command::status;
  }
  return options;
}

}  // namespace poolwatch
