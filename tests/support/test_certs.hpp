#pragma once
// Throw-away TLS certificates made with the OpenSSL API when a test first asks for them:
// a CA, a server certificate for IP 127.0.0.1 (and DNS localhost / backend1.test), and
// one with a wrong name, one that expires in 10 days, written as PEM files into a fresh temporary
// directory.

#include <cstdint>
#include <string>

namespace poolwatch::testing {

struct TestCertificates {
  std::string dir;               // unique temporary directory holding the files below
  std::string ca_file;           // CA certificate, PEM
  std::string server_cert_file;  // SAN IP:127.0.0.1, DNS:localhost, DNS:backend1.test
  std::string server_key_file;
  std::string wrong_cert_file;  // SAN DNS:wrong.example, IP:127.0.0.2; same CA
  std::string wrong_key_file;
  std::string soon_cert_file;  // as server_cert_file, but it expires in 10 days
  std::string soon_key_file;
  std::int64_t not_after_unix = 0;       // the expiry of the CA and the certificates above
  std::int64_t soon_not_after_unix = 0;  // soon_cert_file's
};

// Generated once per test process (key generation is the slow part).
const TestCertificates& test_certificates();

}  // namespace poolwatch::testing
