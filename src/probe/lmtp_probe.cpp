// The LMTP probe dialogue: greeting, LHLO, STARTTLS (then LHLO again), optional
// MAIL FROM:<lmtp_from> + RCPT TO:<lmtp_to or the probe user> + RSET, or the lmtp_deliver
// deep check (the same envelope, then DATA with a poolwatch test message), QUIT.
//
// lmtp_deliver adds a message to the account's INBOX on every probe: pair it with
// pop3_dele or imap_append_expunge on the same account, whose cleanup removes every
// message whose Subject starts with deep_check::probe_subject_prefix. The config does not
// enforce this pairing.

#include <fmt/format.h>

#include "poolwatch/probe/deep_check.hpp"
#include "poolwatch/probe/lmtp_protocol.hpp"
#include "poolwatch/probe/probe_runner.hpp"

namespace poolwatch::detail {

namespace {

using boost::asio::awaitable;

class LmtpSession {
 public:
  LmtpSession(Transport& transport, const DialogueParams& params)
      : transport_(transport), params_(params) {}

  awaitable<void> run() {
    transport_.set_step("greeting");
    const auto greeting = co_await read_reply();
    if (!greeting) co_return;
    if (greeting->code != 220) {
      transport_.fail(FailureClass::protocol_error,
                      "server refused the connection: " + lmtp::describe(*greeting));
      co_return;
    }
    // g++ 12: see CONTRIBUTING.md (no co_await in a condition).
    const auto hello = co_await lhlo();
    bool ok = hello.has_value();
    if (ok && params_.tls == TlsMode::starttls) {
      ok = co_await starttls(*hello);
      if (ok) {
        const auto secured_hello = co_await lhlo();
        ok = secured_hello.has_value();
      }
    }
    const bool deliver = params_.config.lmtp_deliver;
    const std::string recipient = this->recipient();
    if (ok && !recipient.empty() && (params_.config.lmtp_rcpt || deliver))
      ok = co_await check_recipient(recipient, deliver);
    if (!ok) co_return;
    const auto bye = co_await command("QUIT");
    if (bye && bye->code != 221)
      transport_.fail(FailureClass::protocol_error, "QUIT failed: " + lmtp::describe(*bye));
  }

 private:
  // poolmon's --lmtp-to names one recipient for every backend; without it the backend's
  // probe user is the natural one, since it exists there.
  std::string recipient() const {
    if (!params_.lmtp_recipient.empty()) return std::string(params_.lmtp_recipient);
    if (params_.account) return params_.account->user;
    return {};
  }

  awaitable<std::optional<lmtp::Reply>> read_reply() {
    lmtp::ReplyParser parser;
    for (;;) {
      const auto line = co_await transport_.read_line();
      if (!line) co_return std::nullopt;
      switch (parser.feed(*line)) {
        case lmtp::ReplyParser::Result::incomplete:
          continue;
        case lmtp::ReplyParser::Result::complete:
          co_return parser.reply();
        case lmtp::ReplyParser::Result::malformed:
          transport_.fail(FailureClass::protocol_error,
                          fmt::format("unexpected reply while waiting for {}: {}",
                                      transport_.step(), printable_excerpt(*line)));
          co_return std::nullopt;
      }
    }
  }

  awaitable<std::optional<lmtp::Reply>> command(std::string_view line) {
    const auto verb = line.substr(0, line.find_first_of(" :"));
    transport_.set_reply_step(verb);
    const bool sent = co_await transport_.write_line(line);
    if (!sent) co_return std::nullopt;
    co_return co_await read_reply();
  }

  awaitable<std::optional<lmtp::Reply>> expect_positive(std::string_view line) {
    auto reply = co_await command(line);
    if (reply && !reply->positive()) {
      transport_.fail(FailureClass::protocol_error,
                      fmt::format("{} failed: {}", line, lmtp::describe(*reply)));
      co_return std::nullopt;
    }
    co_return reply;
  }

  awaitable<std::optional<lmtp::Reply>> lhlo() {
    const auto line = std::string("LHLO ").append(params_.local_name);
    co_return co_await expect_positive(line);
  }

  awaitable<bool> starttls(const lmtp::Reply& hello) {
    if (!lmtp::has_extension(hello, "STARTTLS"))
      co_return transport_.fail(FailureClass::config_error, "server does not advertise STARTTLS");
    const auto reply = co_await command("STARTTLS");
    if (!reply) co_return false;
    if (reply->code != 220)
      co_return transport_.fail(FailureClass::config_error,
                                "STARTTLS refused: " + lmtp::describe(*reply));
    co_return co_await transport_.start_tls();
  }

  awaitable<bool> check_recipient(const std::string& user, bool deliver) {
    if (user.find_first_of(std::string_view("\r\n\0<> ", 6)) != std::string::npos)
      co_return transport_.fail(
          FailureClass::config_error,
          "user cannot be an LMTP recipient (contains CR, LF, NUL, <, > or space)");
    const auto sender = fmt::format("MAIL FROM:<{}>", params_.config.lmtp_from);
    const auto mail = co_await expect_positive(sender);
    if (!mail) co_return false;
    const auto rcpt = fmt::format("RCPT TO:<{}>", user);
    const auto reply = co_await command(rcpt);
    if (!reply) co_return false;
    if (reply->permanent_failure())
      co_return transport_.fail(FailureClass::auth_rejected,
                                "recipient rejected: " + lmtp::describe(*reply));
    if (reply->transient_failure())
      co_return transport_.fail(FailureClass::auth_temporary,
                                "recipient temporarily rejected: " + lmtp::describe(*reply));
    if (!reply->positive())
      co_return transport_.fail(FailureClass::protocol_error,
                                "unexpected RCPT reply: " + lmtp::describe(*reply));
    if (deliver) {
      const bool delivered = co_await deliver_message(user);
      co_return delivered;
    }
    const auto reset = co_await expect_positive("RSET");
    co_return reset.has_value();
  }

  // DATA with one recipient: 354, the message (no line starts with '.', so no dot
  // stuffing), ".", then exactly one reply (RFC 2033: one per accepted recipient).
  awaitable<bool> deliver_message(const std::string& user) {
    const auto go_ahead = co_await command("DATA");
    if (!go_ahead) co_return false;
    if (go_ahead->code != 354)
      co_return transport_.fail(FailureClass::protocol_error,
                                "DATA refused: " + lmtp::describe(*go_ahead));
    const std::string marker(params_.deep_check_marker);
    const auto message = deep_check::make_message(marker, user, params_.unix_time);
    const auto body = std::string_view(message).substr(0, message.size() - 2);  // CRLF re-added
    const auto shown = fmt::format("<{}-byte test message \"{}\">", message.size(), marker);
    transport_.set_step("DATA delivery reply");
    const bool sent = co_await transport_.write_line(body, shown);
    if (!sent) co_return false;
    const bool ended = co_await transport_.write_line(".");
    if (!ended) co_return false;
    const auto reply = co_await read_reply();
    if (!reply) co_return false;
    if (!reply->positive())
      co_return transport_.fail(FailureClass::protocol_error,
                                "delivery failed: " + lmtp::describe(*reply));
    co_return true;
  }

  Transport& transport_;
  const DialogueParams& params_;
};

}  // namespace

awaitable<void> lmtp_dialogue(Transport& transport, const DialogueParams& params) {
  LmtpSession session(transport, params);
  co_await session.run();
}

}  // namespace poolwatch::detail
