#include "poolwatch/cli/probe_command.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "poolwatch/config/credentials.hpp"
#include "poolwatch/probe/probe_runner.hpp"

namespace poolwatch {

namespace asio = boost::asio;

namespace {

std::uint16_t default_port(Protocol protocol, TlsMode tls) {
  switch (protocol) {
    case Protocol::imap:
      return tls == TlsMode::implicit ? 993 : 143;
    case Protocol::pop3:
      return tls == TlsMode::implicit ? 995 : 110;
    case Protocol::lmtp:
      return 24;
  }
  return 143;
}

asio::awaitable<ProbeOutcome> probe_once(ProbeRunner& runner, ProbeTarget target,
                                         std::optional<Account> account, Seconds timeout) {
  co_return co_await runner.run(std::move(target), std::move(account), timeout);
}

}  // namespace

int run_probe_command(const CliOptions& options, std::ostream& out, std::ostream& err) {
  const auto& args = options.probe;
  const auto address = IpAddress::parse(args.target);
  if (!address) {
    // Backends are addressed by IP in the director, and poolwatch never resolves names
    // in the probe path.
    err << "poolwatch probe: " << args.target << " is not an IP address\n";
    return 2;
  }
  ProbeConfig config = options.config.probe;
  const Protocol protocol = args.protocol.value_or(Protocol::imap);
  PortSpec port{protocol, args.port.value_or(default_port(protocol, args.tls)), args.tls};
  config.ports = {port};
  if (!args.ca_file.empty()) {
    config.tls.ca_file = args.ca_file;
    config.tls.verify_peer = true;
  }

  std::optional<Account> account;
  if (!args.user.empty()) {
    if (args.password_file.empty() && protocol != Protocol::lmtp) {
      err << "poolwatch probe: --user needs --password-file for " << to_string(protocol)
          << " (a file only you can read, password on its first line)\n";
      return 2;
    }
    CredentialsConfig creds;
    creds.default_user = args.user;
    creds.default_password_file = args.password_file;
    creds.master_user = args.master_user;
    if (args.password_file.empty()) {
      account = Account{args.user, Secret{}, args.master_user};
    } else {
      try {
        account = CredentialStore::load(creds).account_for(*address, args.target);
      } catch (const ConfigError& e) {
        err << "poolwatch probe: " << e.what() << "\n";
        return 2;
      }
    }
  }

  asio::io_context io(1);
  std::optional<ProbeRunner> runner;
  try {
    runner.emplace(io.get_executor(), config);
  } catch (const ConfigError& e) {
    err << "poolwatch probe: " << e.what() << "\n";
    return 2;
  }
  ProbeOutcome outcome;
  bool done = false;
  asio::co_spawn(io,
                 probe_once(*runner, ProbeTarget{*address, args.target, port}, account,
                            options.config.health.timeout),
                 [&](std::exception_ptr e, ProbeOutcome o) {
                   if (e) {
                     outcome.failure = FailureClass::io_error;
                     outcome.reason = "internal error";
                   } else {
                     outcome = std::move(o);
                   }
                   done = true;
                 });
  io.run();
  if (!done) return 2;

  for (const auto& line : outcome.transcript) out << "  " << line << "\n";
  out << fmt::format("{} {}:{} ({}): {} in {:.1f} ms{}{}\n", to_string(protocol), args.target,
                     port.port, to_string(port.tls), outcome.ok() ? "OK" : "FAIL",
                     static_cast<double>(outcome.latency.count()) / 1000.0,
                     outcome.ok() ? "" : " - ", outcome.ok() ? "" : outcome.reason);
  return outcome.ok() ? 0 : 1;
}

}  // namespace poolwatch
