#include "loyalty/hq/crypto.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <vector>

namespace loyalty::hq {
namespace {

template <auto F>
struct Deleter {
  template <class T>
  void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("TLS material: " + what); }

PKey newKey() {
  PKey key(EVP_EC_gen("P-256"));
  if (!key) fail("cannot generate a P-256 key");
  return key;
}

std::string toPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) fail("cannot write key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string toPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) fail("cannot write certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

PKey keyFromPem(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail("cannot read the private key");
  return key;
}

Cert certFromPem(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail("cannot read the certificate");
  return cert;
}

void addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || !X509_add_ext(cert, ext.get(), -1)) fail("cannot add extension " + value);
}

Cert newCert(EVP_PKEY* key, const std::string& cn, std::chrono::system_clock::time_point from,
             std::chrono::system_clock::time_point to) {
  Cert cert(X509_new());
  if (!cert) fail("out of memory");
  X509_set_version(cert.get(), 2);
  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) fail("no randomness");
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, Deleter<BN_free>> bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  const auto secs = [](std::chrono::system_clock::time_point t) {
    return static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  };
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), secs(from)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), secs(to))) {
    fail("cannot set validity");
  }
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("loyalty-hq"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

bool isIp(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr)) fail("SHA-256 failed");
  std::string out(len * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), md, len);
  out.resize(len * 2);
  return out;
}

std::string randomToken(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(bytes)) != 1) fail("no randomness");
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes, kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(), kVariant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string randomCode() {
  static constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::array<unsigned char, 20> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) fail("no randomness");
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += kCrockford[raw[i] & 31];
  }
  return out;
}

std::string publicKeyPin(const std::string& certPem) {
  Cert cert = certFromPem(certPem);
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
  if (len <= 0) fail("cannot encode the public key");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdLen = 0;
  const bool ok = EVP_Digest(der, static_cast<std::size_t>(len), md, &mdLen, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) fail("SHA-256 failed");
  std::string b64(4 * ((mdLen + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), md, static_cast<int>(mdLen));
  b64.resize(static_cast<std::size_t>(n));
  return "sha256//" + b64;
}

KeyAndCert makeCertificateAuthority(const std::string& commonName, int days) {
  PKey key = newKey();
  const auto now = std::chrono::system_clock::now();
  Cert cert = newCert(key.get(), commonName, now - kCertificateBackdate, now + std::chrono::hours(24) * days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  addExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  addExt(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  addExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) fail("cannot sign the CA certificate");
  return {toPem(key.get()), toPem(cert.get())};
}

namespace {

KeyAndCert issueForKey(const KeyAndCert& ca, const std::vector<std::string>& hosts, std::chrono::system_clock::time_point notBefore,
                       std::chrono::system_clock::time_point notAfter, PKey key) {
  if (hosts.empty()) fail("at least one host name is needed");
  PKey caKey = keyFromPem(ca.keyPem);
  Cert caCert = certFromPem(ca.certPem);
  if (X509_check_private_key(caCert.get(), caKey.get()) != 1) fail("the CA key does not belong to the CA certificate");
  Cert cert = newCert(key.get(), hosts.front(), notBefore, notAfter);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(caCert.get()));
  std::string san;
  for (const auto& h : hosts) {
    if (h.empty() || h.find_first_of(", \t\r\n") != std::string::npos) fail("bad host name \"" + h + "\"");
    if (!san.empty()) san += ',';
    san += (isIp(h) ? "IP:" : "DNS:") + h;
  }
  addExt(cert.get(), caCert.get(), NID_subject_alt_name, san);
  addExt(cert.get(), caCert.get(), NID_basic_constraints, "critical,CA:FALSE");
  addExt(cert.get(), caCert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  addExt(cert.get(), caCert.get(), NID_ext_key_usage, "serverAuth");
  addExt(cert.get(), caCert.get(), NID_subject_key_identifier, "hash");
  addExt(cert.get(), caCert.get(), NID_authority_key_identifier, "keyid:always");
  if (!X509_sign(cert.get(), caKey.get(), EVP_sha256())) fail("cannot sign the server certificate");
  return {toPem(key.get()), toPem(cert.get())};
}

}  // namespace

KeyAndCert issueServerCertificate(const KeyAndCert& ca, const std::vector<std::string>& hosts,
                                  std::chrono::system_clock::time_point notBefore,
                                  std::chrono::system_clock::time_point notAfter) {
  return issueForKey(ca, hosts, notBefore, notAfter, newKey());
}

KeyAndCert issueServerCertificate(const KeyAndCert& ca, const std::vector<std::string>& hosts,
                                  std::chrono::system_clock::time_point notBefore,
                                  std::chrono::system_clock::time_point notAfter, const std::string& keyPem) {
  return issueForKey(ca, hosts, notBefore, notAfter, keyFromPem(keyPem));
}

std::vector<std::string> certificateHosts(const std::string& certPem) {
  Cert cert = certFromPem(certPem);
  std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> hosts;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type == GEN_DNS) {
      const ASN1_STRING* s = n->d.dNSName;
      hosts.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = n->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text)) hosts.emplace_back(text);
    }
  }
  return hosts;
}

}  // namespace loyalty::hq
