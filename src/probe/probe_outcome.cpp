#include "poolwatch/probe/probe_outcome.hpp"

#include <cerrno>

namespace poolwatch {

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::imap:
      return "imap";
    case Protocol::pop3:
      return "pop3";
    case Protocol::lmtp:
      return "lmtp";
  }
  return "?";
}

std::string_view to_string(TlsMode m) {
  switch (m) {
    case TlsMode::plain:
      return "plain";
    case TlsMode::implicit:
      return "tls";
    case TlsMode::starttls:
      return "starttls";
  }
  return "?";
}

std::string_view to_string(FailureClass f) {
  switch (f) {
    case FailureClass::none:
      return "ok";
    case FailureClass::connect_refused:
      return "connect refused";
    case FailureClass::connect_timeout:
      return "connect timeout";
    case FailureClass::tls_handshake:
      return "tls handshake failure";
    case FailureClass::tls_verify:
      return "tls verify failure";
    case FailureClass::protocol_error:
      return "protocol error";
    case FailureClass::auth_rejected:
      return "auth rejected";
    case FailureClass::auth_temporary:
      return "auth temporary failure";
    case FailureClass::timeout:
      return "timeout";
    case FailureClass::io_error:
      return "io error";
    case FailureClass::config_error:
      return "config error";
    case FailureClass::local_resource:
      return "local resource exhausted";
  }
  return "?";
}

std::optional<Protocol> protocol_from_string(std::string_view s) {
  std::string lower(s);
  for (auto& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "imap") return Protocol::imap;
  if (lower == "pop3") return Protocol::pop3;
  if (lower == "lmtp") return Protocol::lmtp;
  return std::nullopt;
}

bool is_local_resource_error(int error_number) {
  switch (error_number) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
    case EADDRNOTAVAIL:
      return true;
    default:
      return false;
  }
}

}  // namespace poolwatch
