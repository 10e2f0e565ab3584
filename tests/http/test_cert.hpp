#pragma once
// Test-time TLS material: a temporary directory and a fresh self-signed P-256 certificate
// for "localhost" made with the OpenSSL 3 API, so no key or certificate is checked in.
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

}  // namespace cg::http::testing
