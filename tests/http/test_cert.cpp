#include "tests/http/test_cert.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace cg::http::testing {
namespace {

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileClose>;

bool write_pem(const std::filesystem::path& path, EVP_PKEY* key, X509* cert) {
  File file(std::fopen(path.c_str(), "w"));
  if (!file) return false;
  if (key != nullptr) {
    return PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  }
  return PEM_write_X509(file.get(), cert) == 1;
}

X509* make_certificate(EVP_PKEY* key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (X509_sign(cert, key, EVP_sha256()) == 0) {
    X509_free(cert);
    return nullptr;
  }
  return cert;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cg_http_test_XXXXXX").string();
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

CertificateFiles make_self_signed(const std::filesystem::path& dir, const char* stem) {
  CertificateFiles files{dir / (std::string(stem) + ".crt"), dir / (std::string(stem) + ".key")};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return {};
  X509* cert = make_certificate(key);
  const bool written = cert != nullptr && write_pem(files.key, key, nullptr) &&
                       write_pem(files.chain, nullptr, cert);
  X509_free(cert);
  EVP_PKEY_free(key);
  return written ? files : CertificateFiles{};
}

}  // namespace cg::http::testing
