// The POP3 probe dialogue: greeting, STLS, USER/PASS or AUTH PLAIN, optional STAT, the
// optional DELE deep check (removes the messages the LMTP deep check delivered), QUIT.

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

#include "poolwatch/probe/deep_check.hpp"
#include "poolwatch/probe/pop3_protocol.hpp"
#include "poolwatch/probe/probe_runner.hpp"
#include "poolwatch/probe/sasl.hpp"

namespace poolwatch::detail {

namespace {

using boost::asio::awaitable;
using pop3::ReplyKind;

bool has_line_breaks(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

class Pop3Session {
 public:
  Pop3Session(Transport& transport, const DialogueParams& params)
      : transport_(transport), params_(params) {}

  awaitable<void> run() {
    transport_.set_step("greeting");
    const auto greeting = co_await read_reply();
    if (!greeting) co_return;
    if (greeting->kind != ReplyKind::ok) {
      transport_.fail(FailureClass::protocol_error,
                      "server refused the connection: " + pop3::describe(*greeting));
      co_return;
    }
    // g++ 12: see CONTRIBUTING.md (no co_await in a condition).
    const bool log_in = params_.account && params_.config.login;
    bool ok = true;
    if (params_.tls == TlsMode::starttls) ok = co_await stls();
    if (ok && log_in) ok = co_await login(*params_.account);
    if (ok && log_in && params_.config.pop3_stat) ok = co_await stat();
    if (ok && log_in && params_.config.pop3_dele) ok = co_await delete_probe_messages();
    if (!ok) co_return;
    const auto bye = co_await command("QUIT");
    if (bye && bye->kind != ReplyKind::ok)
      transport_.fail(FailureClass::protocol_error, "QUIT failed: " + pop3::describe(*bye));
  }

 private:
  awaitable<std::optional<pop3::Reply>> read_reply() {
    const auto line = co_await transport_.read_line();
    if (!line) co_return std::nullopt;
    auto reply = pop3::parse_reply(*line);
    if (!reply)
      transport_.fail(FailureClass::protocol_error,
                      fmt::format("unexpected reply while waiting for {}: {}", transport_.step(),
                                  printable_excerpt(*line)));
    co_return reply;
  }

  awaitable<std::optional<pop3::Reply>> command(std::string_view line,
                                                std::string_view shown = {}) {
    transport_.set_reply_step(line.substr(0, line.find(' ')));
    const bool sent = co_await transport_.write_line(line, shown.empty() ? line : shown);
    if (!sent) co_return std::nullopt;
    co_return co_await read_reply();
  }

  awaitable<bool> stls() {
    const auto reply = co_await command("STLS");
    if (!reply) co_return false;
    if (reply->kind != ReplyKind::ok)
      co_return transport_.fail(FailureClass::config_error,
                                "STLS refused: " + pop3::describe(*reply));
    co_return co_await transport_.start_tls();
  }

  bool login_failed(const pop3::Reply& reply) {
    return transport_.fail(reply.kind == ReplyKind::err ? pop3::classify_auth_failure(reply)
                                                        : FailureClass::protocol_error,
                           "login failed: " + pop3::describe(reply));
  }

  awaitable<bool> login(const Account& account) {
    const auto& password = account.password.reveal();
    if (params_.config.auth == AuthMechanism::plain || !account.master_user.empty())
      co_return co_await auth_plain(account);
    if (has_line_breaks(account.user) || has_line_breaks(password))
      co_return transport_.fail(FailureClass::config_error,
                                "user or password contains CR, LF or NUL");
    const auto user_line = "USER " + account.user;
    const auto user_reply = co_await command(user_line);
    if (!user_reply) co_return false;
    if (user_reply->kind != ReplyKind::ok) co_return login_failed(*user_reply);
    const auto pass_line = "PASS " + password;
    const auto pass_reply = co_await command(pass_line, "PASS <redacted>");
    if (!pass_reply) co_return false;
    if (pass_reply->kind != ReplyKind::ok) co_return login_failed(*pass_reply);
    co_return true;
  }

  awaitable<bool> auth_plain(const Account& account) {
    const auto& password = account.password.reveal();
    const auto nul = std::string_view("\0", 1);
    if (account.user.find(nul) != std::string::npos ||
        account.master_user.find(nul) != std::string::npos ||
        password.find(nul) != std::string::npos)
      co_return transport_.fail(FailureClass::config_error, "user or password contains a NUL byte");
    const bool master = !account.master_user.empty();
    const auto response =
        sasl_plain_response(master ? account.user : std::string_view{},
                            master ? account.master_user : account.user, password);
    // RFC 5034 initial response; a server that wants it separately answers "+ ".
    const auto line = "AUTH PLAIN " + response;
    auto reply = co_await command(line, "AUTH PLAIN <redacted>");
    if (reply && reply->kind == ReplyKind::continuation) {
      const bool sent = co_await transport_.write_line(response, "<redacted>");
      if (!sent) co_return false;
      reply = co_await read_reply();
    }
    if (!reply) co_return false;
    if (reply->kind != ReplyKind::ok) co_return login_failed(*reply);
    co_return true;
  }

  awaitable<bool> stat() {
    const auto reply = co_await command("STAT");
    if (!reply) co_return false;
    if (!pop3::parse_stat(*reply))
      co_return transport_.fail(FailureClass::protocol_error,
                                "STAT failed: " + pop3::describe(*reply));
    co_return true;
  }

  // The next line of a multi-line reply, unstuffed; nullopt at its "." end or on a
  // failure (transport_.failed() tells which). Lines are looked at one at a time and
  // not kept: a reply as long as probe.max_bytes allows costs one line of memory.
  awaitable<std::optional<std::string>> next_multiline_line() {
    auto line = co_await transport_.read_line();
    if (!line || *line == ".") co_return std::nullopt;
    if (!line->empty() && line->front() == '.') line->erase(0, 1);
    co_return line;
  }

  awaitable<bool> start_multiline(const std::string& line) {
    const auto reply = co_await command(line);
    if (!reply) co_return false;
    if (reply->kind != ReplyKind::ok)
      co_return transport_.fail(FailureClass::protocol_error,
                                fmt::format("{} failed: {}", line, pop3::describe(*reply)));
    co_return true;
  }

  // The message numbers LIST gives, the first kMaxExamined of them.
  awaitable<std::optional<std::vector<std::uint32_t>>> list_messages() {
    const std::string list_command = "LIST";
    const bool listing = co_await start_multiline(list_command);
    if (!listing) co_return std::nullopt;
    std::vector<std::uint32_t> numbers;
    for (;;) {
      const auto entry = co_await next_multiline_line();
      if (!entry) break;
      std::uint32_t number = 0;
      const auto [end, error] =
          std::from_chars(entry->data(), entry->data() + entry->size(), number);
      if (error != std::errc{} || number == 0) {
        transport_.fail(FailureClass::protocol_error,
                        "malformed LIST line: " + printable_excerpt(*entry));
        co_return std::nullopt;
      }
      if (numbers.size() < kMaxExamined) numbers.push_back(number);
    }
    if (transport_.failed()) co_return std::nullopt;
    co_return numbers;
  }

  // Whether message `number` is a probe message, by its header (TOP n 0).
  awaitable<std::optional<bool>> is_probe_message(std::uint32_t number) {
    const auto top = fmt::format("TOP {} 0", number);
    const bool started = co_await start_multiline(top);
    if (!started) co_return std::nullopt;
    std::optional<bool> probe;  // the first Subject line decides
    for (;;) {
      const auto line = co_await next_multiline_line();
      if (!line) break;
      if (!probe) probe = deep_check::probe_subject(*line);
    }
    if (transport_.failed()) co_return std::nullopt;
    co_return probe.value_or(false);
  }

  // DELE only the messages whose Subject marks them as poolwatch test messages (read
  // with TOP n 0); QUIT then commits the deletions. At most kMaxExamined per probe: the
  // next probes clean up the rest.
  awaitable<bool> delete_probe_messages() {
    const auto numbers = co_await list_messages();
    if (!numbers) co_return false;
    for (const auto number : *numbers) {
      const auto probe = co_await is_probe_message(number);
      if (!probe) co_return false;
      if (!*probe) continue;
      const auto dele = fmt::format("DELE {}", number);
      const auto reply = co_await command(dele);
      if (!reply) co_return false;
      if (reply->kind != ReplyKind::ok)
        co_return transport_.fail(FailureClass::protocol_error,
                                  fmt::format("{} failed: {}", dele, pop3::describe(*reply)));
    }
    co_return true;
  }

  static constexpr std::size_t kMaxExamined = 1000;
  Transport& transport_;
  const DialogueParams& params_;
};

}  // namespace

awaitable<void> pop3_dialogue(Transport& transport, const DialogueParams& params) {
  Pop3Session session(transport, params);
  co_await session.run();
}

}  // namespace poolwatch::detail
