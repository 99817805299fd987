#pragma once
// The client TLS context every probe shares, built once from TlsConfig, and the TLS
// session cache that lets repeated probes of one backend resume instead of paying a
// full handshake each time.

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "poolwatch/common/ip_address.hpp"
#include "poolwatch/config/config.hpp"
#include "poolwatch/config/name_template.hpp"

namespace poolwatch {

// Sessions are cached per backend endpoint.
struct TlsSessionKey {
  IpAddress address;
  std::uint16_t port = 0;
  friend bool operator==(const TlsSessionKey&, const TlsSessionKey&) = default;
  friend bool operator<(const TlsSessionKey& a, const TlsSessionKey& b) {
    return a.address < b.address || (a.address == b.address && a.port < b.port);
  }
};

class TlsContextCache {
 public:
  // Throws ConfigError when min_version is unknown or the CA file/dir cannot be loaded.
  explicit TlsContextCache(const TlsConfig& config);
  ~TlsContextCache();
  TlsContextCache(const TlsContextCache&) = delete;
  TlsContextCache& operator=(const TlsContextCache&) = delete;

  boost::asio::ssl::context& context() { return context_; }
  const TlsConfig& config() const { return config_; }

  // The name the certificate must carry for verify_name none/ip/hostname (empty for
  // none). verify_name ptr needs a reverse lookup, which the transport does.
  std::string expected_name(const IpAddress& address, std::string_view host_name) const;

  // name_template expanded as every template of the config is (%{backend_host} is
  // host_name, or the address when the host has no name; %{backend_ip}, %%); host_name
  // itself when there is no template.
  std::string expand_name_template(const IpAddress& address, std::string_view host_name) const;

  // Sets up one connection's SSL object before its handshake: SNI, peer verification
  // against verify_name (an IP literal or a DNS name), and the cached session of
  // *key, if any. *key must outlive ssl: new sessions are stored under it.
  void prepare(SSL* ssl, const TlsSessionKey* key, const std::string& verify_name);

  // Records whether a finished handshake resumed a cached session.
  void note_handshake(SSL* ssl);

  // Drops the cached session of a backend whose handshake failed.
  void forget(const TlsSessionKey& key);

  std::size_t cached_sessions() const { return sessions_.size(); }
  std::size_t full_handshakes() const { return full_handshakes_; }
  std::size_t resumed_handshakes() const { return resumed_handshakes_; }

 private:
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  void store(const TlsSessionKey& key, SSL_SESSION* session);

  TlsConfig config_;
  NameTemplate name_template_;  // config_.name_template, parsed once
  boost::asio::ssl::context context_;
  std::map<TlsSessionKey, SSL_SESSION*> sessions_;
  std::size_t full_handshakes_ = 0;
  std::size_t resumed_handshakes_ = 0;
};

}  // namespace poolwatch
