#include "poolwatch/probe/tls_context.hpp"

#include <fmt/format.h>
#include <openssl/x509v3.h>

#include <boost/system/error_code.hpp>

namespace poolwatch {

namespace {

// Where the cache and the session key hang off OpenSSL objects for on_new_session.
int context_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int connection_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int protocol_version(const std::string& name) {
  if (name == "1.0") return TLS1_VERSION;
  if (name == "1.1") return TLS1_1_VERSION;
  if (name == "1.2") return TLS1_2_VERSION;
  if (name == "1.3") return TLS1_3_VERSION;
  throw ConfigError(
      fmt::format("probe.tls.min_version: must be one of 1.0, 1.1, 1.2, 1.3 (got \"{}\")", name));
}

// A bound on cached sessions so a pool that churns addresses cannot grow the cache
// without limit; a few thousand backends x ports fit well below it.
constexpr std::size_t max_cached_sessions = 65536;

}  // namespace

TlsContextCache::TlsContextCache(const TlsConfig& config)
    : config_(config),
      name_template_(NameTemplate::parse(config.name_template)),
      context_(boost::asio::ssl::context::tls_client) {
  SSL_CTX* ctx = context_.native_handle();
  if (SSL_CTX_set_min_proto_version(ctx, protocol_version(config_.min_version)) != 1)
    throw ConfigError("probe.tls.min_version: not supported by this OpenSSL");
  context_.set_options(boost::asio::ssl::context::default_workarounds |
                       boost::asio::ssl::context::no_compression);
  boost::system::error_code ec;
  if (config_.verify_peer) {
    context_.set_verify_mode(boost::asio::ssl::verify_peer, ec);
    if (!config_.ca_file.empty()) context_.load_verify_file(config_.ca_file, ec);
    if (ec)
      throw ConfigError(
          fmt::format("probe.tls.ca_file: cannot load {}: {}", config_.ca_file, ec.message()));
    if (!config_.ca_dir.empty()) context_.add_verify_path(config_.ca_dir, ec);
    if (ec)
      throw ConfigError(
          fmt::format("probe.tls.ca_dir: cannot use {}: {}", config_.ca_dir, ec.message()));
    if (config_.ca_file.empty() && config_.ca_dir.empty()) context_.set_default_verify_paths(ec);
    if (ec)
      throw ConfigError(fmt::format("probe.tls: cannot load the system CAs: {}", ec.message()));
  } else {
    context_.set_verify_mode(boost::asio::ssl::verify_none, ec);
  }
  SSL_CTX_set_ex_data(ctx, context_index(), this);
  if (config_.session_resumption) {
    // Sessions are kept here, per backend, not in OpenSSL's own cache: OpenSSL's client
    // cache has no lookup by peer. The callback also catches TLS 1.3 tickets, which
    // arrive after the handshake.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &TlsContextCache::on_new_session);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  }
}

TlsContextCache::~TlsContextCache() {
  SSL_CTX_sess_set_new_cb(context_.native_handle(), nullptr);
  for (auto& [key, session] : sessions_) SSL_SESSION_free(session);
}

std::string TlsContextCache::expand_name_template(const IpAddress& address,
                                                  std::string_view host_name) const {
  const std::string host = host_name.empty() ? address.to_string() : std::string(host_name);
  if (name_template_.empty()) return host;
  return name_template_.expand(address, host);
}

std::string TlsContextCache::expected_name(const IpAddress& address,
                                           std::string_view host_name) const {
  switch (config_.verify_name) {
    case VerifyName::none:
      return {};
    case VerifyName::ip:
      return address.to_string();
    case VerifyName::hostname:
      return expand_name_template(address, host_name);
    case VerifyName::ptr:
      return {};
  }
  return {};
}

void TlsContextCache::prepare(SSL* ssl, const TlsSessionKey* key, const std::string& verify_name) {
  const bool name_is_ip = !verify_name.empty() && IpAddress::parse(verify_name).has_value();
  // SNI never carries an IP literal (RFC 6066).
  std::string sni = config_.sni;
  if (sni.empty() && !name_is_ip) sni = verify_name;
  // SSL_set_tlsext_host_name() is a macro with an old-style cast.
  if (!sni.empty())
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(sni.c_str()));

  if (config_.verify_peer && !verify_name.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (name_is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), verify_name.size());
    }
  }
  if (!config_.session_resumption) return;
  SSL_set_ex_data(ssl, connection_index(), const_cast<TlsSessionKey*>(key));
  if (auto found = sessions_.find(*key); found != sessions_.end())
    SSL_set_session(ssl, found->second);
}

void TlsContextCache::note_handshake(SSL* ssl) {
  if (SSL_session_reused(ssl))
    ++resumed_handshakes_;
  else
    ++full_handshakes_;
}

void TlsContextCache::forget(const TlsSessionKey& key) {
  if (auto found = sessions_.find(key); found != sessions_.end()) {
    SSL_SESSION_free(found->second);
    sessions_.erase(found);
  }
}

void TlsContextCache::store(const TlsSessionKey& key, SSL_SESSION* session) {
  auto [it, inserted] = sessions_.try_emplace(key, session);
  if (!inserted) {
    SSL_SESSION_free(it->second);
    it->second = session;
  } else if (sessions_.size() > max_cached_sessions) {
    forget(sessions_.begin()->first == key ? std::next(sessions_.begin())->first
                                           : sessions_.begin()->first);
  }
}

int TlsContextCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* cache =
      static_cast<TlsContextCache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
  auto* key = static_cast<TlsSessionKey*>(SSL_get_ex_data(ssl, connection_index()));
  if (!cache || !key || !SSL_SESSION_is_resumable(session)) return 0;
  cache->store(*key, session);
  return 1;  // we own the reference now
}

}  // namespace poolwatch
