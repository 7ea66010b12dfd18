#pragma once
/// @brief Hashes, random secrets and head office's TLS material (OpenSSL's C API).

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::hq {

/// Lower-case hex SHA-256 (tokens and registration codes are stored only as this).
std::string sha256Hex(std::string_view data);
/// `bytes` random bytes from the OS CSPRNG as unpadded base64url.
std::string randomToken(std::size_t bytes = 32);
/// A code a person can type: groups of Crockford base32 ("7K2M-9QXD-..."), ~100 bits.
std::string randomCode();

struct KeyAndCert {
  std::string keyPem;
  std::string certPem;
};

/// How long before it is made a certificate head office issues (its CA, its server certificate)
/// starts to be valid: a terminal whose clock runs up to two days behind still trusts head office,
/// reaches it and so shows its skew on the fleet page, also right after a certificate renewal.
inline constexpr std::chrono::hours kCertificateBackdate{48};

/// A self-signed CA (P-256, CA:TRUE, keyCertSign) valid from kCertificateBackdate ago for `days`.
KeyAndCert makeCertificateAuthority(const std::string& commonName, int days);

/// A server certificate signed by `ca` for `hosts` (DNS names or IP literals as
/// subjectAltName; the first one is also the CN), valid in [notBefore, notAfter].
KeyAndCert issueServerCertificate(const KeyAndCert& ca, const std::vector<std::string>& hosts,
                                  std::chrono::system_clock::time_point notBefore,
                                  std::chrono::system_clock::time_point notAfter);

/// The same for the server's existing key `keyPem` (a renewed certificate: a public-key pin of
/// the old one stays valid).
KeyAndCert issueServerCertificate(const KeyAndCert& ca, const std::vector<std::string>& hosts,
                                  std::chrono::system_clock::time_point notBefore,
                                  std::chrono::system_clock::time_point notAfter, const std::string& keyPem);

/// The DNS names and IP addresses a PEM certificate is for (its subjectAltName), in order.
std::vector<std::string> certificateHosts(const std::string& certPem);

/// The public-key pin of a PEM certificate as libcurl's CURLOPT_PINNEDPUBLICKEY takes it:
/// "sha256//" + base64(SHA-256(SubjectPublicKeyInfo DER)).
std::string publicKeyPin(const std::string& certPem);

}  // namespace loyalty::hq
