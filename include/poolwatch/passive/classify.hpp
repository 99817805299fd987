#pragma once
// What one proxy event says about the backend it names: the table in docs/passive.md,
// built from the strings the real Dovecot 2.3.19.1 director posted in tests/e2e
// (tests/unit/passive/recorded_events.hpp holds them).

#include <string_view>

#include "poolwatch/passive/proxy_event.hpp"

namespace poolwatch::passive {

// backend_fault: the backend refused, closed, timed out or broke the dialogue.
// user_fault: the backend answered, and what it said is about the user (password,
// unknown user, a recipient refused). success: a session proxied or a message
// delivered. ignored: nothing about the backend (an established session, a client that
// left, a local error of the proxy, an event of another kind).
enum class EventClass { backend_fault, user_fault, success, ignored };
std::string_view to_string(EventClass c);

struct Classified {
  EventClass cls = EventClass::ignored;
  std::string_view why;  // a fixed phrase for the debug log ("connect refused", ...)
};

Classified classify(const ProxyEvent& event);

}  // namespace poolwatch::passive
