#pragma once
// Scriptable fake IMAP/POP3/LMTP backends on 127.0.0.1, port 0, plain, implicit TLS or
// STARTTLS, answering like Dovecot 2.3 or misbehaving on purpose. Each server runs on
// its own thread and io_context, so the code under test can use its own.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "poolwatch/config/account.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/probe/probe_outcome.hpp"

namespace poolwatch::testing {

enum class FakeBehaviour {
  normal,
  reject_password,           // IMAP NO [AUTHENTICATIONFAILED], POP3 -ERR [AUTH], LMTP RCPT 550
  temp_auth_failure,         // IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP], LMTP RCPT 451
  preauth,                   // IMAP "* PREAUTH" greeting (POP3/LMTP: like bye)
  bye,                       // "* BYE", "-ERR", "421" instead of a greeting
  garbage_after_greeting,    // a normal greeting, then binary junk as every reply
  endless_line,              // an unterminated greeting that never ends
  slow_drip,                 // the greeting one byte per drip_interval
  never_answer,              // accept, then silence (no greeting, no TLS handshake)
  reset_mid_dialogue,        // greeting, then a TCP RST on the first command
  no_starttls,               // STARTTLS/STLS neither advertised nor accepted
  login_disabled,            // IMAP LOGINDISABLED; POP3 "Plaintext authentication disallowed"
  auth_wait_notice,          // IMAP "* OK Waiting for authentication process..." first
  injection_after_starttls,  // extra plaintext bytes right after the STARTTLS reply
  reject_append,             // IMAP APPEND answered NO [OVERQUOTA]
  flood_untagged,            // IMAP: flood_bytes of untagged lines before every reply
  // Every command line comes back: IMAP "* BAD Echo: <line>" before each reply, and the
  // login answered NO quoting the line that carried the secret; POP3 PASS and the AUTH
  // response answered -ERR quoting it, AUTH's initial response quoted in a "+" request.
  echo_commands,
};

// The test account's INBOX, shared by every connection (and by several fakes when they
// are given the same one): IMAP APPEND/SEARCH/STORE/EXPUNGE, POP3 LIST/TOP/RETR/DELE and
// LMTP DATA act on it. Thread-safe.
class FakeMailbox {
 public:
  struct Message {
    std::uint32_t uid = 0;
    std::string text;  // CRLF line ends
    bool deleted = false;
  };
  std::uint32_t add(std::string text);
  std::vector<Message> messages() const;
  std::size_t size() const;
  // Messages whose Subject contains `needle` (case-insensitive), as IMAP SEARCH SUBJECT.
  std::vector<std::uint32_t> search_subject(std::string_view needle) const;
  void flag_deleted(const std::vector<std::uint32_t>& uids);
  // Removes the \Deleted messages; only those among `uids` when given (UID EXPUNGE).
  void expunge(const std::optional<std::vector<std::uint32_t>>& uids);
  void remove(const std::vector<std::uint32_t>& uids);  // POP3 QUIT after DELE
  // Messages whose Subject starts with "poolwatch-probe".
  std::size_t probe_messages() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Message> messages_;
  std::uint32_t next_uid_ = 1;
};

// The Subject header value of a message, or "".
std::string subject_of(std::string_view message);

struct FakeMailServerOptions {
  Protocol protocol = Protocol::imap;
  TlsMode tls = TlsMode::plain;
  FakeBehaviour behaviour = FakeBehaviour::normal;
  // > 0: close the connection instead of sending reply number n (1 = the greeting).
  int close_at_exchange = 0;
  bool wrong_certificate = false;        // serve the certificate named wrong.example
  bool short_lived_certificate = false;  // serve one that expires in 10 days (test_certs)
  bool sasl_ir = true;                   // IMAP: advertise SASL-IR
  bool capability_in_greeting = true;    // IMAP: [CAPABILITY ...] in the greeting
  std::string user = "probe";
  std::string password = "probepass";
  std::string master_user = "master";
  std::string master_password = "masterpass";
  std::chrono::milliseconds drip_interval{100};
  // Where to listen: a backend is known by its IP, so a pool of fakes shares one port
  // on several loopback addresses (127.0.0.0/8 is all local on Linux).
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;    // 0: any free port
  bool literal_plus = true;  // IMAP: advertise LITERAL+
  bool uidplus = true;       // IMAP: advertise UIDPLUS after login
  // FakeBehaviour::flood_untagged: the bytes of flood_line lines before each reply.
  std::size_t flood_bytes = 1 << 20;
  std::string flood_line = "* OK Still here, still busy";
  // The account's INBOX; the server creates an empty one when not given.
  std::shared_ptr<FakeMailbox> mailbox;
};

// What a protocol responder wants done after its reply.
struct FakeReply {
  enum class Then { nothing, start_tls, close };
  std::string text;  // CRLF-terminated lines; empty: send nothing
  Then then = Then::nothing;
};

// The sans-io half of a fake: greeting and replies per protocol and behaviour.
class FakeResponder {
 public:
  explicit FakeResponder(const FakeMailServerOptions& options) : options_(options) {}
  std::string greeting() const;
  FakeReply reply_to(std::string_view line);

 private:
  FakeReply imap(std::string_view line);
  FakeReply pop3(std::string_view line);
  FakeReply lmtp(std::string_view line);
  // The hostile behaviours (fake_mail_server_hostile.cpp).
  std::string untagged_flood() const;
  FakeReply imap_echo(std::string_view line);
  FakeReply pop3_echo(std::string_view line);
  std::string imap_capabilities() const;
  bool check_plain(std::string_view base64) const;
  bool tls_offered() const;

  const FakeMailServerOptions& options_;
  bool tls_active_ = false;
  std::string pending_auth_tag_;  // IMAP AUTHENTICATE / POP3 AUTH awaiting its response line
  bool pending_pop3_auth_ = false;
  bool user_ok_ = false;
  FakeReply imap_mailbox(std::string_view tag, std::string_view command, std::string_view args);
  FakeReply imap_append_line(std::string_view line);
  FakeReply pop3_mailbox(std::string_view command, std::string_view args);
  FakeReply lmtp_data_line(std::string_view line);
  // IMAP APPEND literal being received: its tag, the bytes still due, the text so far.
  std::string append_tag_;
  std::optional<std::size_t> append_remaining_;
  std::string append_text_;
  // POP3: the maildrop as of the first mailbox command, and the DELE'd numbers.
  std::optional<std::vector<FakeMailbox::Message>> pop3_maildrop_;
  std::vector<std::uint32_t> pop3_deleted_;
  // LMTP: inside DATA, the message so far.
  std::optional<std::string> lmtp_data_;
};

class FakeMailServer {
 public:
  explicit FakeMailServer(FakeMailServerOptions options);
  ~FakeMailServer();
  FakeMailServer(const FakeMailServer&) = delete;
  FakeMailServer& operator=(const FakeMailServer&) = delete;

  std::uint16_t port() const { return port_; }
  const FakeMailServerOptions& options() const { return options_; }
  // Every line received, over all connections, in arrival order.
  std::vector<std::string> received() const;
  std::size_t connections() const;
  // The address the last accepted connection came from; "" before the first.
  std::string last_peer_address() const;
  std::size_t tls_handshakes() const;
  std::size_t tls_resumed() const;
  FakeMailbox& mailbox() const { return *options_.mailbox; }

  struct Impl;

 private:
  FakeMailServerOptions options_;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// A ProbeConfig probing `server`'s port only, verifying TLS against the test CA.
ProbeConfig probe_config_for(const FakeMailServer& server);

// The account every fake accepts by default.
Account fake_account();

// Options of a fake that speaks `protocol` over `tls` and behaves as `behaviour`.
FakeMailServerOptions fake_options(Protocol protocol,
                                   FakeBehaviour behaviour = FakeBehaviour::normal,
                                   TlsMode tls = TlsMode::plain);

// Whether a line of the probe's transcript contains `text`.
bool transcript_mentions(const ProbeOutcome& outcome, std::string_view text);

// Runs one probe of `server` on a private io_context and returns its outcome.
ProbeOutcome probe_once(const FakeMailServer& server, const ProbeConfig& config,
                        const std::optional<Account>& account, Seconds timeout = Seconds{5});

// probe_once with the config of `server`'s own port (probe_config_for).
ProbeOutcome probe_server(const FakeMailServer& server,
                          const std::optional<Account>& account = fake_account(),
                          Seconds timeout = Seconds{5});

}  // namespace poolwatch::testing
