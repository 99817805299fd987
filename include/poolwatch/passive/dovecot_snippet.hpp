#pragma once
// The dovecot.conf lines that point a director's stats process at poolwatch's events
// endpoint: what `poolwatch dovecot-config` prints and the e2e lab appends.

#include <string>
#include <string_view>

namespace poolwatch::passive {

// The path the endpoint accepts posts on.
inline constexpr std::string_view kEventsPath = "/dovecot-events";

// `host_port` is where the director reaches poolwatch ("127.0.0.1:9168", "[::1]:9168").
std::string dovecot_config_snippet(std::string_view host_port);

}  // namespace poolwatch::passive
