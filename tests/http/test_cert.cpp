#include "tests/http/test_cert.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;

bool write_pem(const std::filesystem::path& path, EVP_PKEY* key, X509* cert) {
  File file(std::fopen(path.c_str(), "w"));
  if (!file) return false;
  if (key != nullptr) {
    return PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  }
  return PEM_write_X509(file.get(), cert) == 1;
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (extension == nullptr) return false;
  const bool added = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return added;
}

// Signed by `issuer_key` as `issuer_cert`; both null means self-signed.
Certificate make_certificate(EVP_PKEY* key, const char* common_name, bool ca,
                             EVP_PKEY* issuer_key = nullptr, X509* issuer_cert = nullptr) {
  static long serial = 0;
  Certificate cert(X509_new(), &X509_free);
  X509* c = cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 24 * 3600);
  X509_set_pubkey(c, key);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(c, issuer_cert != nullptr ? X509_get_subject_name(issuer_cert) : name);
  if (ca && (!add_extension(c, c, NID_basic_constraints, "critical,CA:TRUE") ||
             !add_extension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"))) {
    return {nullptr, &X509_free};
  }
  if (X509_sign(c, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return {nullptr, &X509_free};
  }
  return cert;
}

CertificateFiles write_files(const std::filesystem::path& dir, const char* stem, EVP_PKEY* key,
                             X509* cert) {
  CertificateFiles files{dir / (std::string(stem) + ".crt"), dir / (std::string(stem) + ".key")};
  const bool written = cert != nullptr && write_pem(files.key, key, nullptr) &&
                       write_pem(files.chain, nullptr, cert);
  return written ? files : CertificateFiles{};
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
  Key key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) return {};
  Certificate cert = make_certificate(key.get(), "localhost", /*ca=*/false);
  return write_files(dir, stem, key.get(), cert.get());
}

CertificateFiles make_certificate_authority(const std::filesystem::path& dir, const char* stem,
                                            const char* common_name) {
  Key key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) return {};
  Certificate cert = make_certificate(key.get(), common_name, /*ca=*/true);
  return write_files(dir, stem, key.get(), cert.get());
}

CertificateFiles make_issued(const std::filesystem::path& dir, const char* stem,
                             const char* common_name, const CertificateFiles& issuer) {
  File issuer_key_file(std::fopen(issuer.key.c_str(), "r"));
  File issuer_cert_file(std::fopen(issuer.chain.c_str(), "r"));
  if (!issuer_key_file || !issuer_cert_file) return {};
  Key issuer_key(PEM_read_PrivateKey(issuer_key_file.get(), nullptr, nullptr, nullptr),
                 &EVP_PKEY_free);
  Certificate issuer_cert(PEM_read_X509(issuer_cert_file.get(), nullptr, nullptr, nullptr),
                          &X509_free);
  Key key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!issuer_key || !issuer_cert || !key) return {};
  Certificate cert =
      make_certificate(key.get(), common_name, /*ca=*/false, issuer_key.get(), issuer_cert.get());
  return write_files(dir, stem, key.get(), cert.get());
}

}  // namespace cg::http::testing
