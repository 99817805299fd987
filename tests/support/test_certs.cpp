#include "support/test_certs.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace poolwatch::testing {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what + " failed");
}

Key make_key() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  check(key != nullptr, "EC key generation");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// issuer == nullptr: self-signed CA.
Cert make_cert(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
               const char* subject_alt_names, long serial, std::time_t not_after) {
  Cert cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  check(ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) != nullptr, "notAfter");
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer) {
    add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), signer, NID_subject_alt_name, subject_alt_names);
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  check(static_cast<bool>(out), "writing a PEM file");
}

std::string pem_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

std::string pem_of(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

TestCertificates generate() {
  std::string pattern = "/tmp/poolwatch-certs-XXXXXX";
  check(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
  TestCertificates out;
  out.dir = pattern;
  out.ca_file = out.dir + "/ca.pem";
  out.server_cert_file = out.dir + "/server.pem";
  out.server_key_file = out.dir + "/server.key";
  out.wrong_cert_file = out.dir + "/wrong.pem";
  out.wrong_key_file = out.dir + "/wrong.key";
  out.soon_cert_file = out.dir + "/soon.pem";
  out.soon_key_file = out.dir + "/soon.key";
  const std::time_t now = std::time(nullptr);
  out.not_after_unix = now + 30L * 24 * 3600;
  out.soon_not_after_unix = now + 10L * 24 * 3600;

  const auto ca_key = make_key();
  const auto ca = make_cert(ca_key.get(), "poolwatch test CA", nullptr, ca_key.get(), nullptr, 1,
                            out.not_after_unix);
  const auto server_key = make_key();
  const auto server =
      make_cert(server_key.get(), "backend1.test", ca.get(), ca_key.get(),
                "IP:127.0.0.1,DNS:localhost,DNS:backend1.test", 2, out.not_after_unix);
  const auto wrong = make_cert(server_key.get(), "wrong.example", ca.get(), ca_key.get(),
                               "DNS:wrong.example,IP:127.0.0.2", 3, out.not_after_unix);
  const auto soon = make_cert(server_key.get(), "backend1.test", ca.get(), ca_key.get(),
                              "IP:127.0.0.1,DNS:localhost,DNS:backend1.test", 4,
                              static_cast<std::time_t>(out.soon_not_after_unix));
  write_file(out.ca_file, pem_of(ca.get()));
  write_file(out.server_cert_file, pem_of(server.get()));
  write_file(out.server_key_file, pem_of(server_key.get()));
  write_file(out.wrong_cert_file, pem_of(wrong.get()));
  write_file(out.wrong_key_file, pem_of(server_key.get()));
  write_file(out.soon_cert_file, pem_of(soon.get()));
  write_file(out.soon_key_file, pem_of(server_key.get()));
  return out;
}

struct CertificatesOnDisk {
  TestCertificates certs = generate();
  ~CertificatesOnDisk() {
    for (const auto* file :
         {&certs.ca_file, &certs.server_cert_file, &certs.server_key_file, &certs.wrong_cert_file,
          &certs.wrong_key_file, &certs.soon_cert_file, &certs.soon_key_file})
      std::remove(file->c_str());
    std::remove(certs.dir.c_str());
  }
};

}  // namespace

const TestCertificates& test_certificates() {
  static const CertificatesOnDisk on_disk;
  return on_disk.certs;
}

}  // namespace poolwatch::testing
