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

// One parse of the command line, phase by phase: define the options, parse argv, read
// the config file (or dovemon's), apply the overrides in the order given, validate, and
// fill in the subcommand's arguments. SIGHUP runs all of it again on the saved argv.
class CommandLine {
 public:
  CommandLine() : app_{description, "poolwatch"} {
    define_global_options();
    define_setting_options();
    define_poolmon_options();
    define_probe_command();
    define_status_command();
    dovecot_config_ = app_.add_subcommand(
        "dovecot-config",
        "Print the dovecot.conf lines that send the director's proxy events to passive.listen");
    app_.footer(footer);  // after the subcommands, which would inherit it
  }

  // Each phase returns an exit code when it ends the run (help, version, an error).
  std::variant<CliOptions, int> run(int argc, const char* const* argv, std::ostream& out,
                                    std::ostream& err) {
    if (auto exit = parse(argc, argv, out, err)) return *exit;
    if (auto exit = load_config_source(err)) return *exit;
    if (auto exit = apply_overrides(err)) return *exit;
    try {
      validate(options_.config);
    } catch (const ConfigError& e) {
      err << "poolwatch: " << e.what() << "\n";
      return 2;
    }
    if (options_.debug) options_.foreground = true;
    if (auto exit = finish_subcommand(err)) return *exit;
    return std::move(options_);
  }

 private:
  using Apply = std::function<void(Config&, const std::string&)>;

  void define_global_options() {
    app_.fallthrough();  // global options may follow the subcommand
    app_.set_version_flag("--version", "poolwatch " POOLWATCH_VERSION,
                          "Print the version and exit");
    app_.require_subcommand(0, 1);
    config_option_ = app_.add_option("-c,--config", config_path_,
                                     "YAML config file (a missing default file means "
                                     "built-in defaults)")
                         ->type_name("FILE")
                         ->capture_default_str();
    dovemon_option_ =
        app_.add_option("--dovemon-config", dovemon_config_,
                        "Read dovemon's dovemon.config.yml as it is instead of a poolwatch "
                        "config; keys it cannot honour are reported")
            ->type_name("FILE");
    app_.add_option("--dovemon-testaccounts", dovemon_accounts_,
                    "dovemon's test accounts file (with --dovemon-config)")
        ->type_name("FILE");
    app_.add_flag("-f,--foreground", options_.foreground,
                  "Stay in the foreground, do not daemonize");
    app_.add_flag("-d,--debug", options_.debug,
                  "Debug logging, also to stderr (implies --foreground)");
    app_.add_flag("--once", options_.once,
                  "One scan: print the pool and every probe result, send nothing, exit 0 "
                  "healthy, 1 unhealthy, 2 error");
  }

  // An option whose every occurrence is applied, in order, after the file is read.
  CLI::Option* override_option(const std::string& name, const std::string& type,
                               const std::string& help, Apply apply) {
    CLI::Option* option = app_.add_option(name, help)
                              ->type_name(type)
                              ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    overrides_[option] = std::move(apply);
    return option;
  }

  void setting(const std::string& name, const std::string& type, const std::string& help,
               const std::string& key) {
    override_option(name, type, help,
                    [key](Config& c, const std::string& value) { apply_setting(c, key, value); });
  }

  void define_setting_options() {
    set_option_ = override_option(
        "--set", "KEY=VALUE", "Set any config key, e.g. --set health.retry_count=5 (repeatable)",
        [](Config& c, const std::string& assignment) {
          auto equals = assignment.find('=');
          if (equals == std::string::npos || equals == 0)
            throw ConfigError("--set '" + assignment + "': expected KEY=VALUE");
          apply_setting(c, assignment.substr(0, equals), assignment.substr(equals + 1));
        });
    CLI::Option* dry_run =
        app_.add_flag("-n,--dry-run")
            ->description("Log the director commands instead of sending them (dry_run)");
    overrides_[dry_run] = [](Config& c, const std::string& value) {
      apply_setting(c, "dry_run", flag_value(value));
    };
  }

  // The first --port or --ssl replaces the configured ports; further ones add to them.
  void port_option(const std::string& name, const std::string& help, TlsMode tls) {
    override_option(name, "SPEC", help, [this, tls](Config& c, const std::string& value) {
      PortSpec port = parse_port_spec(value, tls);
      if (!ports_replaced_) c.probe.ports.clear();
      ports_replaced_ = true;
      c.probe.ports.push_back(port);
    });
  }

  // poolmon's options, and the maintained poolmon fork's, with their meaning.
  void define_poolmon_options() {
    setting("-S,--socket", "PATH", "director-admin socket (director.socket)", "director.socket");
    setting("-i,--interval", "SECS", "Seconds between scans (health.interval)", "health.interval");
    setting("-t,--timeout", "SECS", "Deadline of one probe dialogue (health.timeout)",
            "health.timeout");
    port_option("-p,--port",
                "Port to check: 143, IMAP:143, POP3:110 or LMTP:24 (repeatable; replaces "
                "probe.ports)",
                TlsMode::plain);
    port_option("-s,--ssl", "Implicit-TLS port to check, e.g. IMAP:993 (repeatable)",
                TlsMode::implicit);
    setting("--credfile", "FILE",
            "poolmon credential file: user, then password (credentials.credfile)",
            "credentials.credfile");
    setting("--lmtp-from", "ADDR",
            "LMTP envelope sender; default the null sender <> (probe.lmtp_from)",
            "probe.lmtp_from");
    // poolmon checked an LMTP recipient only when --lmtp-to was given.
    override_option("--lmtp-to", "ADDR", "LMTP recipient to check on every backend (probe.lmtp_to)",
                    [](Config& c, const std::string& value) {
                      apply_setting(c, "probe.lmtp_to", value);
                      apply_setting(c, "probe.lmtp_rcpt", "true");
                    });
    override_option("-l,--logfile", "FILE|syslog",
                    "Log to FILE, or to syslog with the word syslog (log.target)",
                    [](Config& c, const std::string& value) {
                      if (value == "syslog" || value == "stderr") {
                        apply_setting(c, "log.target", value);
                      } else {
                        apply_setting(c, "log.file", value);
                        apply_setting(c, "log.target", "file");
                      }
                    });
    // --lockfile: the maintained poolmon fork and dovemon call the same file a lock file.
    setting("-k,--pidfile,--lockfile", "FILE", "Pidfile, locked with flock (pidfile)", "pidfile");
    // The poolmon fork spells it -v 1, --ssl-verify 0 or --ssl-verify=1; alone it means on.
    override_option("-v,--ssl-verify", "[0|1]",
                    "Verify backend certificates; 0 turns it off (probe.tls.verify_peer)",
                    [](Config& c, const std::string& value) {
                      apply_setting(c, "probe.tls.verify_peer",
                                    value.empty() ? "true" : flag_value(value));
                    })
        ->expected(0, 1);
    setting("--state-file", "FILE", "Where health state survives restarts (state_file)",
            "state_file");
  }

  void define_probe_command() {
    app_.add_subcommand("run", "Monitor the pool (the default command)");
    probe_ = app_.add_subcommand(
        "probe", "Probe one backend once with the configured checks and print the dialogue");
    auto& args = options_.probe;
    probe_->add_option("--protocol", protocol_name_, "Protocol to speak (default: from the port)")
        ->type_name("PROTOCOL")
        ->check(CLI::IsMember({"imap", "pop3", "lmtp"}, CLI::ignore_case));
    tls_flag_ = probe_->add_flag("--tls")->description("Implicit TLS (imaps, pop3s)");
    starttls_flag_ =
        probe_->add_flag("--starttls")->description("Plain connection upgraded with STARTTLS");
    tls_flag_->excludes(starttls_flag_);
    probe_port_option_ =
        probe_->add_option("--port", probe_port_, "Port, 1..65535 (default: the protocol's)")
            ->type_name("N")
            ->check(CLI::Validator(CLI::Range(1, 65535)).description(""));
    const auto existing_file = CLI::Validator(CLI::ExistingFile).description("");
    probe_->add_option("--user", args.user, "Log in as this user")->type_name("USER");
    probe_
        ->add_option("--password-file", args.password_file,
                     "Read the password from the first line of this file")
        ->type_name("FILE")
        ->check(existing_file);
    probe_->add_option("--master-user", args.master_user, "Log in as USER through this master user")
        ->type_name("MASTER");
    probe_->add_option("--ca", args.ca_file, "CA certificates to verify the backend with")
        ->type_name("FILE")
        ->check(existing_file);
    probe_->add_option("target", target_, "Backend to probe: a name, an IP, or [IPv6]:PORT")
        ->type_name("HOST[:PORT]")
        ->required();
  }

  void define_status_command() {
    status_ = app_.add_subcommand("status", "Show the running daemon's view of the pool");
    status_->add_flag("--json", options_.status.json, "Print the raw JSON");
    status_
        ->add_option("--url", options_.status.url,
                     "Status URL (default: http://ADDRESS:PORT/status from http.listen)")
        ->type_name("URL");
    status_->add_flag("--watch", options_.status.watch,
                      "Redraw the table every --interval until interrupted");
    status_->add_option("--interval", options_.status.interval_seconds, "Seconds between redraws")
        ->type_name("SECONDS")
        ->check(CLI::Validator(CLI::Range(0.2, 3600.0)).description(""));
  }

  std::optional<int> parse(int argc, const char* const* argv, std::ostream& out,
                           std::ostream& err) {
    try {
      app_.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app_.exit(e, out, err);
    } catch (const CLI::CallForAllHelp& e) {
      return app_.exit(e, out, err);
    } catch (const CLI::CallForVersion& e) {
      return app_.exit(e, out, err);
    } catch (const CLI::ParseError& e) {
      err << "poolwatch: " << e.what() << "\nRun 'poolwatch --help' for usage.\n";
      return 2;
    }
    return std::nullopt;
  }

  // The poolwatch config file, or dovemon's files as they are.
  std::optional<int> load_config_source(std::ostream& err) {
    try {
      if (dovemon_option_->count() == 0) {
        options_.config =
            load_config(config_path_, config_option_->count() > 0, options_.config_path);
        return std::nullopt;
      }
      if (config_option_->count() > 0) {
        err << "poolwatch: --config and --dovemon-config exclude each other\n";
        return 2;
      }
      auto dovemon = load_dovemon_config(dovemon_config_, dovemon_accounts_);
      options_.config = std::move(dovemon.config);
      options_.foreground = options_.foreground || dovemon.foreground;
      options_.warnings = std::move(dovemon.warnings);
      options_.config_path = dovemon_config_;
    } catch (const ConfigError& e) {
      err << "poolwatch: " << e.what() << "\n";
      return 2;
    }
    return std::nullopt;
  }

  // In the order given on the command line, so the last word on a key wins.
  std::optional<int> apply_overrides(std::ostream& err) {
    std::map<CLI::Option*, std::size_t> used;
    for (CLI::Option* option : app_.parse_order()) {
      auto apply = overrides_.find(option);
      if (apply == overrides_.end()) continue;
      const std::string& value = option->results().at(used[option]++);
      try {
        apply->second(options_.config, value);
      } catch (const ConfigError& e) {
        if (option == set_option_)
          err << "poolwatch: " << e.what() << "\n";
        else
          err << "poolwatch: " << option->get_name() << " " << value << ": " << e.what() << "\n";
        return 2;
      }
    }
    return std::nullopt;
  }

  std::optional<int> finish_subcommand(std::ostream& err) {
    if (status_->parsed()) options_.command = Command::status;
    if (dovecot_config_->parsed()) options_.command = Command::dovecot_config;
    if (!probe_->parsed()) return std::nullopt;
    options_.command = Command::probe;
    auto& args = options_.probe;
    if (!protocol_name_.empty()) {
      for (auto& c : protocol_name_)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      args.protocol = protocol_from_string(protocol_name_);
    }
    if (tls_flag_->count()) args.tls = TlsMode::implicit;
    if (starttls_flag_->count()) args.tls = TlsMode::starttls;
    if (probe_port_option_->count()) args.port = probe_port_;
    std::string error;
    if (!split_target(target_, args, error)) {
      err << "poolwatch: probe: " << error << "\n";
      return 2;
    }
    return std::nullopt;
  }

  CLI::App app_;
  CliOptions options_;
  std::string config_path_ = default_config_path;
  std::string dovemon_config_, dovemon_accounts_;
  CLI::Option* config_option_ = nullptr;
  CLI::Option* dovemon_option_ = nullptr;
  CLI::Option* set_option_ = nullptr;
  std::map<CLI::Option*, Apply> overrides_;
  bool ports_replaced_ = false;
  CLI::App* probe_ = nullptr;
  CLI::App* status_ = nullptr;
  CLI::App* dovecot_config_ = nullptr;
  CLI::Option* tls_flag_ = nullptr;
  CLI::Option* starttls_flag_ = nullptr;
  CLI::Option* probe_port_option_ = nullptr;
  std::string protocol_name_, target_;
  std::uint16_t probe_port_ = 0;
};

}  // namespace

std::variant<CliOptions, int> parse_command_line(int argc, const char* const* argv,
                                                 std::ostream& out, std::ostream& err) {
  CommandLine command_line;
  return command_line.run(argc, argv, out, err);
}

}  // namespace poolwatch
