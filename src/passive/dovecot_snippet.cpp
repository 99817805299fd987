#include "poolwatch/passive/dovecot_snippet.hpp"

#include <fmt/format.h>

namespace poolwatch::passive {

std::string dovecot_config_snippet(std::string_view host_port) {
  // One metric per event kind the classification reads; the LMTP ones are limited to
  // the lmtp category, or the director's other SMTP clients would post theirs too.
  return fmt::format(
      R"(# poolwatch passive health (docs/passive.md): the director's proxies tell poolwatch
# at once when users cannot reach a backend. Include this in the director's dovecot.conf
# and run `doveadm reload`.
event_exporter poolwatch {{
  format = json
  format_args = time-rfc3339
  transport = http-post
  transport_args = http://{0}{1}
  transport_timeout = 1s
}}
metric poolwatch_proxy_finished {{
  exporter = poolwatch
  filter = event=proxy_session_finished
}}
metric poolwatch_lmtp_transaction {{
  exporter = poolwatch
  filter = event=smtp_client_transaction_finished AND category=lmtp
}}
metric poolwatch_lmtp_recipient {{
  exporter = poolwatch
  filter = event=smtp_client_transaction_rcpt_finished AND category=lmtp
}}
)",
      host_port, kEventsPath);
}

}  // namespace poolwatch::passive
