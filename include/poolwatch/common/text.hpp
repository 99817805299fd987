#pragma once
// Text helpers shared by every subsystem: the one way peer text is made safe for logs,
// error messages and terminals, ASCII case folding for protocol keywords, and the clock
// value the state file and event log store.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace poolwatch {

// Peer bytes made printable for a log line, an error message, JSON, a page or a
// terminal: every C0 control byte and DEL becomes '?' (a tab too when keep_tabs is
// false), so do the C1 controls U+0080..U+009F, the bidirectional controls and the line
// and paragraph separators (U+061C, U+200E/F, U+2028..U+202E, U+2066..U+2069), and every
// byte that is not part of well-formed UTF-8 (overlong forms, surrogates, truncated
// sequences, past U+10FFFF) becomes U+FFFD; valid UTF-8 ("müller") is kept. Text longer than
// max_length bytes is cut, never inside a character, and ends in "...". A backend, the director or
// an HTTP client can then neither forge log lines nor drive the operator's terminal, and a JSON
// encoder never meets invalid UTF-8. Every network-sourced string goes through this one
// function before it is shown anywhere.
std::string printable_excerpt(std::string_view text, std::size_t max_length = 200,
                              bool keep_tabs = true);

// The length of the well-formed UTF-8 sequence that starts at text[i] (1 for ASCII), or 0
// when none does: an overlong form, a surrogate, a code point past U+10FFFF, a stray
// continuation byte or a sequence cut short by the end of text.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// Whether a protocol line carries a control byte other than a tab (or DEL): a peer
// that sends one is not speaking IMAP, POP3 or LMTP.
bool has_control_bytes(std::string_view line);

char ascii_upper(char c);
std::string ascii_upper(std::string_view text);
bool iequals(std::string_view a, std::string_view b);  // ASCII case-insensitive

// Seconds since the epoch by the system clock: the wall-clock time the state file, the
// event log and /status show. Decisions use an injected clock, never this.
std::int64_t unix_now();
// Whole days from `now` to `then` (unix seconds), rounded down also below zero: an hour
// past `then` is -1, not 0 (a certificate that has just expired does not read "0 days").
std::int64_t days_until(std::int64_t then, std::int64_t now);

// What an exception caught at a coroutine's spawn site says: its what(), or a fixed
// text for one that is not a std::exception. Empty for a null pointer.
std::string exception_message(std::exception_ptr error);

}  // namespace poolwatch
