#pragma once
// What the in-process daemon tests share: fake backends on their own loopback address
// and a config whose timings find a dead backend in well under a second.

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>

#include "poolwatch/config.hpp"
#include "support/fake_director.hpp"
#include "support/fake_mail_server.hpp"

namespace poolwatch::test {

// A fake IMAP backend on `address`. Backends are known by IP, so a pool of fakes shares
// one port (0: any free port).
testing::FakeMailServerOptions fake_backend_at(const boost::asio::ip::address& address,
                                               std::uint16_t port);

// IMAP on imap_port without login, 0.2 s interval, 2 failures then a rapid round of 2
// that must both fail; no HTTP; the state file in state_dir.
Config fast_daemon_config(const testing::FakeDirector& director, std::uint16_t imap_port,
                          const std::string& state_dir);

}  // namespace poolwatch::test
