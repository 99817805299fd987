#pragma once
// bench/probe_floor --tls (issue 15): fake backends that serve implicit TLS (session
// tickets and the server session cache on, as OpenSSL has them by default) and the TLS
// floor, the same connects, OpenSSL handshakes and dialogues from one epoll thread
// with a per-backend SSL_SESSION cache and nothing else.

#include <cstddef>
#include <vector>

#include "floor_rig.hpp"

namespace poolwatch::bench {

// GreetingBackends' children serving implicit TLS with the tests' server certificate
// (support/test_certs.hpp). Counts the finished handshakes and those that resumed in
// ChildCounters.
// Call test_certificates() before the fork, so that the children share its files.
ServeHosts tls_serve_hosts();

// As run_floor(), every probe over implicit TLS: connect, handshake (offering the
// target's last session when `resumption`), the dialogue, then the same quiet close as
// poolwatch's (no close_notify; the socket shut down). With `resumption`, one round over
// every target comes first, unmeasured, so that each holds a session as in poolwatch's
// steady state; without it no session is kept and no ticket asked for, as
// probe.tls.session_resumption: false. FloorFigures::resumed counts the handshakes that
// resumed.
FloorFigures run_tls_floor(std::size_t hosts, const std::vector<BackendPort>& ports, double rate,
                           double seconds, bool resumption);

}  // namespace poolwatch::bench
