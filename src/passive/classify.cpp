#include "poolwatch/passive/classify.hpp"

#include <array>

namespace poolwatch::passive {

namespace {

struct Phrase {
  std::string_view text;
  std::string_view why;
};

// login-proxy.c's errors when the backend is the problem (LOGIN_PROXY_FAILURE_TYPE_CONNECT,
// _REMOTE, _PROTOCOL). Matched anywhere in the error: Dovecot prefixes some of them
// ("Aborting due to remote server: ", "Remote server sent invalid input: ").
constexpr std::array kBackendPhrases{
    Phrase{"failed: Connection refused", "connect refused"},
    Phrase{"failed: Connection timed out", "connect timed out"},
    Phrase{"failed: No route to host", "no route to host"},
    Phrase{"failed: Network is unreachable", "network unreachable"},
    Phrase{"Disconnected by server", "backend closed the connection"},
    Phrase{"Login timed out", "backend did not answer the login in time"},
    Phrase{"connect timed out", "connect timed out"},
    Phrase{"Remote server sent invalid input", "backend sent invalid input"},
    Phrase{"Aborting due to remote server", "backend failed the login"},
};

// The backend's own replies to a login it refused for the user's sake. Note
// [UNAVAILABLE] is absent: Dovecot answers it for a backend it cannot reach too, but
// then the error is the connect failure above.
constexpr std::array kUserPhrases{
    Phrase{"[AUTHENTICATIONFAILED]", "authentication failed"},
    Phrase{"[AUTH] Authentication failed", "authentication failed"},
    Phrase{"[AUTHORIZATIONFAILED]", "authorization failed"},
    Phrase{"[EXPIRED]", "password expired"},
};

bool contains(std::string_view text, std::string_view phrase) {
  return text.find(phrase) != std::string_view::npos;
}

Classified classify_login(const ProxyEvent& e) {
  if (!e.has_error) {
    // A session ends without an error when the user or the backend closed it after
    // a login: what a healthy backend does (IMAP LOGOUT ends by the server).
    if (e.has_bytes) return {EventClass::success, "session proxied"};
    return {EventClass::ignored, "no login proxied"};
  }
  for (const auto& p : kUserPhrases)
    if (contains(e.error, p.text)) return {EventClass::user_fault, p.why};
  for (const auto& p : kBackendPhrases)
    if (contains(e.error, p.text)) return {EventClass::backend_fault, p.why};
  return {EventClass::ignored, "error not about the backend"};
}

// lib-smtp's smtp-client.h: the codes from 9000 are the client's own.
Classified classify_lmtp_transaction(const ProxyEvent& e) {
  if (!e.status_code) return {EventClass::ignored, "no status"};
  const auto code = *e.status_code;
  if (code >= 200 && code < 300) return {EventClass::success, "message delivered"};
  switch (code) {
    case 421:
      return {EventClass::backend_fault, "backend closed the connection"};
    case 9002:
      return {EventClass::backend_fault, "connect failed"};
    case 9004:
      return {EventClass::backend_fault, "connection lost"};
    case 9005:
      return {EventClass::backend_fault, "backend sent a bad reply"};
    case 9007:
      return {EventClass::backend_fault, "backend timed out"};
    default:
      // 9000 (aborted: every recipient refused), 4xx/5xx of the message itself.
      return {EventClass::ignored, "transaction not delivered for another reason"};
  }
}

Classified classify_lmtp_recipient(const ProxyEvent& e) {
  if (!e.status_code) return {EventClass::ignored, "no status"};
  const auto code = *e.status_code;
  if (code >= 500 && code < 600) return {EventClass::user_fault, "recipient refused"};
  // Success and the 9000s are told once more by the transaction's own event.
  return {EventClass::ignored, "recipient"};
}

}  // namespace

std::string_view to_string(EventClass c) {
  switch (c) {
    case EventClass::backend_fault:
      return "backend_fault";
    case EventClass::user_fault:
      return "user_fault";
    case EventClass::success:
      return "success";
    case EventClass::ignored:
      return "ignored";
  }
  return "ignored";
}

Classified classify(const ProxyEvent& event) {
  if (!event.dest_ip) return {EventClass::ignored, "no backend address"};
  if (event.name == "proxy_session_finished") return classify_login(event);
  if (event.lmtp && event.name == "smtp_client_transaction_finished")
    return classify_lmtp_transaction(event);
  if (event.lmtp && event.name == "smtp_client_transaction_rcpt_finished")
    return classify_lmtp_recipient(event);
  return {EventClass::ignored, "not a proxy event"};
}

}  // namespace poolwatch::passive
