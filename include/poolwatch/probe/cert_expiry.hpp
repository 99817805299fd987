#pragma once
// The earliest notAfter of the certificate chain a backend presented, as Prometheus'
// blackbox_exporter reports it (probe_ssl_earliest_cert_expiry): the chain stops
// verifying when its first link runs out, leaf or intermediate.

#include <openssl/types.h>

#include <cstdint>
#include <optional>

namespace poolwatch {

// An ASN1 UTCTime/GeneralizedTime as unix seconds; nullopt when it is null or malformed.
std::optional<std::int64_t> asn1_time_unix(const ASN1_TIME* time);

// The earliest notAfter among the peer's certificates after a handshake; nullopt when the
// peer sent none.
std::optional<std::int64_t> earliest_cert_expiry(const SSL* ssl);

}  // namespace poolwatch
