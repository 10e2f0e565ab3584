#pragma once
// Test-time TLS material: a temporary directory and fresh P-256 certificates made with the
// OpenSSL 3 API (self-signed for "localhost", or a small CA and the certificates it issues,
// for client-certificate tests), so no key or certificate is checked in.
// Not thread-safe; one per test.

#include <filesystem>

namespace cg::http::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CertificateFiles {
  std::filesystem::path chain;  // PEM certificate
  std::filesystem::path key;    // PEM private key
};

// Writes `<stem>.crt` and `<stem>.key` into `dir`; each call makes a new key pair.
// Returns empty paths when OpenSSL fails (the caller REQUIREs them).
CertificateFiles make_self_signed(const std::filesystem::path& dir, const char* stem = "server");

// A self-signed CA certificate (basicConstraints CA:TRUE) with subject CN=<common_name>.
CertificateFiles make_certificate_authority(const std::filesystem::path& dir, const char* stem,
                                            const char* common_name);

// A certificate with subject CN=<common_name> issued (signed) by `issuer`, files made by
// make_certificate_authority.
CertificateFiles make_issued(const std::filesystem::path& dir, const char* stem,
                             const char* common_name, const CertificateFiles& issuer);

}  // namespace cg::http::testing
