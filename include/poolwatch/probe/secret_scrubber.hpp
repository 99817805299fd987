#pragma once
// The password a probe sends, in every form it goes on the wire, taken back out of what
// a backend returns. A backend (or a proxy in front of it) that echoes commands, as
// "* BAD unknown command: ..." or "-ERR ...", would otherwise carry the password into
// the transcript, the failure reason and from there into logs, the event log, /status
// and `poolwatch probe`. The protocol parsers still see the line as it came: a short
// password that happens to be "OK" or "PLAIN" must not change what a reply means.

#include <string>
#include <string_view>
#include <vector>

namespace poolwatch {

class SecretScrubber {
 public:
  static constexpr std::string_view kRedacted = "<redacted>";

  SecretScrubber() = default;  // scrubs nothing: a probe without a login

  // Every form the dialogues send `password` in: as is (POP3 PASS), inside an IMAP
  // quoted string with `"` and `\` escaped (LOGIN), and the base64 SASL PLAIN response,
  // of a normal login and of a master-user login, as an initial response or on a
  // continuation line (IMAP AUTHENTICATE, POP3 AUTH).
  static SecretScrubber for_login(std::string_view user, std::string_view master_user,
                                  std::string_view password);

  void add(std::string_view form);  // an empty form is ignored
  bool empty() const { return forms_.empty(); }

  // `text` with every form replaced by kRedacted, ASCII case-insensitively (an upper-
  // cased echo is still the password). Reasons quote peer text cut at 200 bytes and
  // ending in "..." before they get here, which can leave the start of a form in front
  // of the "...": that start is redacted too.
  std::string scrub(std::string_view text) const;

 private:
  std::size_t match_at(std::string_view text, std::size_t at) const;
  void redact_cut_forms(std::string& text) const;
  std::size_t longest_form_start_before(std::string_view text, std::size_t end) const;

  std::vector<std::string> forms_;  // longest first, so the widest match wins
};

}  // namespace poolwatch
