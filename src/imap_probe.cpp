// The IMAP probe dialogue: greeting, STARTTLS, LOGIN or AUTHENTICATE PLAIN, optional
// LIST/SELECT, LOGOUT.

#include <fmt/format.h>

#include "poolwatch/imap_protocol.hpp"
#include "poolwatch/probe.hpp"

namespace poolwatch::detail {

namespace {

using boost::asio::awaitable;
using imap::LineKind;
using imap::ResponseLine;
using imap::Status;

bool contains_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

class ImapSession {
 public:
  ImapSession(Transport& transport, const DialogueParams& params)
      : transport_(transport), params_(params) {}

  // g++ 12 miscompiles co_await inside an if condition: every co_await here is a
  // statement or an initializer, never a condition.
  awaitable<void> run() {
    const auto& config = params_.config;
    const bool log_in = params_.account && config.login;
    bool ok = co_await greeting();
    if (ok && params_.tls == TlsMode::starttls) ok = co_await starttls();
    if (ok && log_in) ok = co_await login(*params_.account);
    if (ok && log_in && config.imap_list) ok = co_await expect_ok("LIST \"\" \"%\"");
    if (ok && log_in && config.imap_select) ok = co_await expect_ok("SELECT INBOX");
    if (ok) co_await logout();
  }

 private:
  awaitable<bool> greeting() {
    transport_.set_step("greeting");
    for (;;) {
      const auto line = co_await transport_.read_line();
      if (!line) co_return false;
      const auto response = imap::parse_response_line(*line);
      switch (imap::classify_greeting(response)) {
        case imap::GreetingKind::auth_wait:
          continue;
        case imap::GreetingKind::ok:
          if (auto caps = imap::capabilities_of(response)) capabilities_ = std::move(*caps);
          co_return true;
        case imap::GreetingKind::preauth:
          co_return transport_.fail(
              FailureClass::protocol_error,
              "server greeted with PREAUTH (already authenticated): " + imap::describe(response));
        case imap::GreetingKind::bye:
          co_return transport_.fail(FailureClass::protocol_error,
                                    "server refused the connection: " + imap::describe(response));
        case imap::GreetingKind::malformed:
          co_return transport_.fail(FailureClass::protocol_error,
                                    "unexpected greeting: " + printable_excerpt(*line));
      }
    }
  }

  // Reads up to the tagged reply of `tag`, keeping capabilities the server announces.
  // A continuation request ends the wait when `continuation_ok`.
  awaitable<std::optional<ResponseLine>> await_reply(const std::string& tag, bool continuation_ok,
                                                     bool bye_expected) {
    for (;;) {
      const auto line = co_await transport_.read_line();
      if (!line) co_return std::nullopt;
      auto response = imap::parse_response_line(*line);
      if (auto caps = imap::capabilities_of(response)) capabilities_ = std::move(*caps);
      switch (response.kind) {
        case LineKind::untagged:
          if (response.status == Status::bye && !bye_expected) {
            transport_.fail(FailureClass::protocol_error,
                            fmt::format("server said {} while waiting for {}",
                                        imap::describe(response), transport_.step()));
            co_return std::nullopt;
          }
          continue;
        case LineKind::continuation:
          if (continuation_ok) co_return response;
          break;
        case LineKind::tagged:
          if (response.tag == tag) co_return response;
          break;
        case LineKind::malformed:
          break;
      }
      transport_.fail(FailureClass::protocol_error,
                      fmt::format("unexpected reply while waiting for {}: {}", transport_.step(),
                                  printable_excerpt(*line)));
      co_return std::nullopt;
    }
  }

  std::string next_tag() { return fmt::format("pw{}", ++tag_counter_); }

  // Sends `tag command`; `shown` replaces the command in the transcript.
  awaitable<std::optional<ResponseLine>> command(std::string_view command,
                                                 std::string_view shown = {}) {
    const auto tag = next_tag();
    const auto verb = command.substr(0, command.find(' '));
    transport_.set_step(fmt::format("{} reply", verb));
    const auto line = fmt::format("{} {}", tag, command);
    const auto shown_line = shown.empty() ? line : fmt::format("{} {}", tag, shown);
    const bool sent = co_await transport_.write_line(line, shown_line);
    if (!sent) co_return std::nullopt;
    co_return co_await await_reply(tag, false, verb == "LOGOUT");
  }

  awaitable<bool> expect_ok(std::string_view text) {
    const auto reply = co_await command(text);
    if (!reply) co_return false;
    if (reply->status != Status::ok)
      co_return transport_.fail(FailureClass::protocol_error,
                                fmt::format("{} failed: {}", text, imap::describe(*reply)));
    co_return true;
  }

  awaitable<bool> ensure_capabilities() {
    if (!capabilities_.empty()) co_return true;
    const bool listed = co_await expect_ok("CAPABILITY");
    if (!listed) co_return false;
    if (capabilities_.empty())
      co_return transport_.fail(FailureClass::protocol_error, "server sent no CAPABILITY list");
    co_return true;
  }

  awaitable<bool> starttls() {
    const bool have_capabilities = co_await ensure_capabilities();
    if (!have_capabilities) co_return false;
    if (!imap::has_capability(capabilities_, "STARTTLS"))
      co_return transport_.fail(FailureClass::config_error, "server does not advertise STARTTLS");
    const auto reply = co_await command("STARTTLS");
    if (!reply) co_return false;
    if (reply->status != Status::ok)
      co_return transport_.fail(
          reply->status == Status::no ? FailureClass::config_error : FailureClass::protocol_error,
          "STARTTLS refused: " + imap::describe(*reply));
    const bool secured = co_await transport_.start_tls();
    if (!secured) co_return false;
    capabilities_.clear();  // RFC 3501: capabilities before STARTTLS are void
    co_return true;
  }

  awaitable<bool> login(const Account& account) {
    const bool have_capabilities = co_await ensure_capabilities();
    if (!have_capabilities) co_return false;
    if (imap::has_capability(capabilities_, "LOGINDISABLED"))
      co_return transport_.fail(
          FailureClass::config_error,
          "server advertises LOGINDISABLED: plaintext login refused (use TLS or "
          "login_trusted_networks)");
    const auto& password = account.password.reveal();
    const auto quoted_user = imap::quote_string(account.user);
    const auto quoted_password = imap::quote_string(password);
    const bool use_plain = params_.config.auth == AuthMechanism::plain ||
                           !account.master_user.empty() || !quoted_user || !quoted_password;
    std::optional<ResponseLine> reply;
    if (use_plain) {
      reply = co_await authenticate_plain(account);
    } else {
      const auto line = fmt::format("LOGIN {} {}", *quoted_user, *quoted_password);
      const auto shown = fmt::format("LOGIN {} <redacted>", *quoted_user);
      reply = co_await command(line, shown);
    }
    if (!reply) co_return false;
    if (reply->status != Status::ok)
      co_return transport_.fail(imap::classify_login_failure(*reply),
                                "login failed: " + imap::describe(*reply));
    co_return true;
  }

  awaitable<std::optional<ResponseLine>> authenticate_plain(const Account& account) {
    if (!imap::has_capability(capabilities_, "AUTH=PLAIN")) {
      transport_.fail(FailureClass::config_error,
                      "server does not offer AUTH=PLAIN (needed for a master user or a "
                      "non-ASCII user or password)");
      co_return std::nullopt;
    }
    const auto& password = account.password.reveal();
    if (contains_nul(account.user) || contains_nul(account.master_user) || contains_nul(password)) {
      transport_.fail(FailureClass::config_error, "user or password contains a NUL byte");
      co_return std::nullopt;
    }
    const bool master = !account.master_user.empty();
    const auto response =
        sasl_plain_response(master ? account.user : std::string_view{},
                            master ? account.master_user : account.user, password);
    if (imap::has_capability(capabilities_, "SASL-IR")) {
      const auto line = "AUTHENTICATE PLAIN " + response;
      co_return co_await command(line, "AUTHENTICATE PLAIN <redacted>");
    }
    const auto tag = next_tag();
    transport_.set_step("AUTHENTICATE reply");
    const auto line = tag + " AUTHENTICATE PLAIN";
    const bool sent = co_await transport_.write_line(line);
    if (!sent) co_return std::nullopt;
    auto reply = co_await await_reply(tag, true, false);
    if (!reply || reply->kind != LineKind::continuation) co_return reply;
    const bool answered = co_await transport_.write_line(response, "<redacted>");
    if (!answered) co_return std::nullopt;
    co_return co_await await_reply(tag, false, false);
  }

  awaitable<void> logout() {
    const auto reply = co_await command("LOGOUT");
    if (reply && reply->status != Status::ok)
      transport_.fail(FailureClass::protocol_error, "LOGOUT failed: " + imap::describe(*reply));
  }

  Transport& transport_;
  const DialogueParams& params_;
  std::vector<std::string> capabilities_;
  int tag_counter_ = 0;
};

}  // namespace

awaitable<void> imap_dialogue(Transport& transport, const DialogueParams& params) {
  ImapSession session(transport, params);
  co_await session.run();
}

}  // namespace poolwatch::detail
