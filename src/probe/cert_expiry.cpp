#include "poolwatch/probe/cert_expiry.hpp"

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>

namespace poolwatch {

std::optional<std::int64_t> asn1_time_unix(const ASN1_TIME* time) {
  // ASN1_TIME_to_tm reads a null time as "now": that would be a wrong expiry, not none.
  if (time == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::optional<std::int64_t> earliest_cert_expiry(const SSL* ssl) {
  std::optional<std::int64_t> earliest;
  const auto consider = [&earliest](const X509* cert) {
    const auto not_after = asn1_time_unix(X509_get0_notAfter(cert));
    if (not_after && (!earliest || *not_after < *earliest)) earliest = not_after;
  };
  // On a client the chain includes the leaf; the leaf is read as well in case a
  // resumed session kept only it.
  if (const X509* leaf = SSL_get0_peer_certificate(ssl)) consider(leaf);
  if (const STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl))
    for (int i = 0; i < sk_X509_num(chain); ++i) consider(sk_X509_value(chain, i));
  return earliest;
}

}  // namespace poolwatch
