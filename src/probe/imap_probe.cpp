// The IMAP probe dialogue: greeting, STARTTLS, LOGIN or AUTHENTICATE PLAIN, optional
// LIST/SELECT, the optional APPEND+EXPUNGE deep check, LOGOUT.

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "poolwatch/probe/deep_check.hpp"
#include "poolwatch/probe/imap_protocol.hpp"
#include "poolwatch/probe/probe_runner.hpp"
#include "poolwatch/probe/sasl.hpp"

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

  // g++ 12: see CONTRIBUTING.md (no co_await in a condition).
  awaitable<void> run() {
    const auto& config = params_.config;
    const bool log_in = params_.account && config.login;
    bool ok = co_await greeting();
    if (ok && params_.tls == TlsMode::starttls) ok = co_await starttls();
    if (ok && log_in) ok = co_await login(*params_.account);
    if (ok && log_in && config.imap_list) ok = co_await expect_ok("LIST \"\" \"%\"");
    if (ok && log_in && config.imap_select) ok = co_await expect_ok("SELECT INBOX");
    if (ok && log_in && config.imap_append_expunge) ok = co_await append_expunge();
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
      if (searching_)
        if (auto found = imap::search_result(response)) keep_searched(*found);
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

  std::string next_tag() { return "pw" + std::to_string(++tag_counter_); }

  static std::string tagged(std::string_view tag, std::string_view command) {
    std::string line;
    line.reserve(tag.size() + 1 + command.size());
    line.append(tag).append(1, ' ').append(command);
    return line;
  }

  // Sends `tag command`; `shown` replaces the command in the transcript.
  awaitable<std::optional<ResponseLine>> command(std::string_view command,
                                                 std::string_view shown = {}) {
    const auto tag = next_tag();
    const auto verb = command.substr(0, command.find(' '));
    transport_.set_reply_step(verb);
    const auto line = tagged(tag, command);
    const auto shown_line = shown.empty() ? std::string() : tagged(tag, shown);
    const std::string_view shown_view = shown.empty() ? line : shown_line;
    const bool sent = co_await transport_.write_line(line, shown_view);
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
    if (!capabilities_.contains("STARTTLS"))
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
    if (capabilities_.contains("LOGINDISABLED"))
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
    if (!capabilities_.contains("AUTH=PLAIN")) {
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
    if (capabilities_.contains("SASL-IR")) {
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

  // The deep check, paired so the mailbox never grows: APPEND a marked message, find it,
  // then delete it together with every older probe message (a crash mid-probe, or an
  // LMTP deep check delivery) and only those.
  awaitable<bool> append_expunge() {
    if (!params_.config.imap_select) {
      const bool selected = co_await expect_ok("SELECT INBOX");
      if (!selected) co_return false;
    }
    const std::string marker(params_.deep_check_marker);
    const bool appended = co_await append(marker);
    if (!appended) co_return false;
    const std::string_view marker_text = marker;
    const auto ours = co_await search_subject(marker_text);
    if (!ours) co_return false;
    if (ours->empty())
      co_return transport_.fail(FailureClass::protocol_error,
                                "the appended test message is not found by UID SEARCH");
    const std::string_view prefix = deep_check::probe_subject_prefix;
    const auto probes = co_await search_subject(prefix);
    if (!probes) co_return false;
    auto doomed = *probes;
    for (const auto uid : *ours)
      if (std::find(doomed.begin(), doomed.end(), uid) == doomed.end()) doomed.push_back(uid);
    const auto uids = imap::sequence_set(doomed);
    const auto store = fmt::format("UID STORE {} +FLAGS.SILENT (\\Deleted)", uids);
    const bool flagged = co_await expect_ok(store);
    if (!flagged) co_return false;
    // Without UIDPLUS, EXPUNGE also removes what another client flagged \Deleted: a
    // dedicated probe account is required anyway.
    const auto expunge = capabilities_.contains("UIDPLUS") ? fmt::format("UID EXPUNGE {}", uids)
                                                           : std::string("EXPUNGE");
    const bool expunged = co_await expect_ok(expunge);
    co_return expunged;
  }

  awaitable<bool> append(const std::string& marker) {
    const auto& user = params_.account->user;
    const auto message = deep_check::make_message(marker, user, params_.unix_time);
    const auto body = std::string_view(message).substr(0, message.size() - 2);  // CRLF re-added
    const bool literal_plus = capabilities_.contains("LITERAL+");
    const auto tag = next_tag();
    transport_.set_step("APPEND reply");
    const auto line = fmt::format("{} APPEND INBOX (\\Seen) {{{}{}}}", tag, message.size(),
                                  literal_plus ? "+" : "");
    const bool sent = co_await transport_.write_line(line);
    if (!sent) co_return false;
    if (!literal_plus) {
      const auto go_ahead = co_await await_reply(tag, true, false);
      if (!go_ahead) co_return false;
      if (go_ahead->kind != LineKind::continuation)
        co_return transport_.fail(FailureClass::protocol_error,
                                  "APPEND failed: " + imap::describe(*go_ahead));
    }
    const auto shown = fmt::format("<{}-byte test message \"{}\">", message.size(), marker);
    const bool sent_literal = co_await transport_.write_line(body, shown);
    if (!sent_literal) co_return false;
    const bool ended = co_await transport_.write_line("");
    if (!ended) co_return false;
    const auto reply = co_await await_reply(tag, false, false);
    if (!reply) co_return false;
    if (reply->status != Status::ok)
      co_return transport_.fail(FailureClass::protocol_error,
                                "APPEND failed: " + imap::describe(*reply));
    co_return true;
  }

  awaitable<std::optional<std::vector<std::uint32_t>>> search_subject(std::string_view text) {
    searched_.clear();
    const auto quoted = imap::quote_string(text);
    const auto line = fmt::format("UID SEARCH SUBJECT {}", quoted.value_or("\"\""));
    searching_ = true;
    const bool found = co_await expect_ok(line);
    searching_ = false;
    if (!found) co_return std::nullopt;
    co_return std::move(searched_);
  }

  // Distinct UIDs up to a fixed number: a backend flooding SEARCH results must not grow
  // the probe's memory or its cleanup's sequence set. Probe messages left beyond the
  // cap are removed by the next probes.
  void keep_searched(const std::vector<std::uint32_t>& found) {
    for (const auto uid : found) {
      if (searched_.size() >= kMaxSearchedUids) return;
      if (std::find(searched_.begin(), searched_.end(), uid) == searched_.end())
        searched_.push_back(uid);
    }
  }

  awaitable<void> logout() {
    const auto reply = co_await command("LOGOUT");
    if (reply && reply->status != Status::ok)
      transport_.fail(FailureClass::protocol_error, "LOGOUT failed: " + imap::describe(*reply));
  }

  Transport& transport_;
  const DialogueParams& params_;
  imap::CapabilityList capabilities_;
  int tag_counter_ = 0;
  static constexpr std::size_t kMaxSearchedUids = 1000;
  bool searching_ = false;               // a UID SEARCH is waiting for its tagged reply
  std::vector<std::uint32_t> searched_;  // UIDs of its untagged SEARCH replies
};

}  // namespace

awaitable<void> imap_dialogue(Transport& transport, const DialogueParams& params) {
  ImapSession session(transport, params);
  co_await session.run();
}

}  // namespace poolwatch::detail
