#pragma once
// One event as Dovecot's stats process posts it (event_exporter, format = json): the
// director's login proxies' `proxy_session_finished` (IMAP, POP3) and its LMTP proxy's
// `smtp_client_transaction_finished` / `smtp_client_transaction_rcpt_finished`. Only the
// fields the classification needs are kept, each capped; the rest of the object is
// skipped without being stored. docs/passive.md lists what Dovecot sends.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "poolwatch/common/ip_address.hpp"

namespace poolwatch::passive {

// Text fields longer than this are cut: Dovecot's error strings are well under it.
inline constexpr std::size_t kMaxEventText = 512;
// Nesting beyond this ends the parse: Dovecot's objects are three levels deep.
inline constexpr std::size_t kMaxEventDepth = 4;

struct ProxyEvent {
  std::string name;     // "proxy_session_finished", ...
  std::string service;  // "imap", "pop3"; empty for LMTP (its category says lmtp)
  bool lmtp = false;    // the categories name "lmtp"
  std::optional<IpAddress> dest_ip;
  std::optional<std::uint16_t> dest_port;
  std::string error;  // empty: the event has no error field
  bool has_error = false;
  std::string disconnect_side;              // "client", "server", "proxy", "self"
  std::optional<std::int64_t> status_code;  // LMTP: the SMTP code, or Dovecot's 9000s
  bool has_bytes = false;                   // bytes_in was present: the session was proxied
  // Personal data: never logged above debug, never a metric label.
  std::string user;
};

struct EventParse {
  std::optional<ProxyEvent> event;  // set when the body is one JSON object
  std::string error;                // why not, printable and short
};

// Parses one POST body; never throws, touches each byte once and stores at most the
// capped fields, so hostile input costs bounded memory and time.
EventParse parse_dovecot_event(std::string_view body);

}  // namespace poolwatch::passive
