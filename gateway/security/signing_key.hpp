#pragma once
// SigningKey: the gateway's own private key (ES256 on P-256). It signs the access tokens;
// its public part (verifying_key(), with kid = RFC 7638 thumbprint) is what
// /.well-known/jwks.json publishes through jwks_document() (jwk.hpp).
//
// The key file is PKCS#8 PEM, created with mode 0600 and never readable by others, not even
// while it is being written; loading refuses a file that group or others may read.
// Immutable after construction and safe to share between threads.

#include <openssl/types.h>

#include <boost/json/object.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/security/jwk.hpp"
#include "gateway/security/jwt.hpp"

namespace cg::gateway {

class SigningKey {
 public:
  // A fresh key from the OpenSSL CSPRNG. ES384 and RS384 (2048 bits) exist for tests that
  // play a backend-services client; the gateway itself uses ES256.
  static Result<SigningKey> generate(JwsAlgorithm alg = JwsAlgorithm::kEs256);
  // An unencrypted PKCS#8 / traditional PEM private key. kInvalid when it is not one, is
  // encrypted, or is of a kind VerifyingKey::from_jwk would refuse.
  static Result<SigningKey> from_pem(std::string_view pem);
  // kNotFound when the file does not exist; kInvalid when it is not a regular file, group or
  // others may read it, or from_pem refuses it; kInternal on other I/O errors.
  static Result<SigningKey> load_pem_file(const std::filesystem::path& path);
  // Writes the key as PKCS#8 PEM: a temporary file made with O_EXCL and mode 0600, synced,
  // then linked into place, so the key is never readable by others and never half-written.
  // kConflict when `path` already exists (a key is never overwritten); kInternal on I/O errors.
  Status save_pem_file(const std::filesystem::path& path) const;
  // Loads the key at `path`, or generates and saves one when there is none (first start).
  static Result<SigningKey> load_or_generate(const std::filesystem::path& path);

  JwsAlgorithm algorithm() const { return public_.algorithm(); }
  const std::string& kid() const { return public_.kid(); }  // the RFC 7638 thumbprint
  const VerifyingKey& verifying_key() const { return public_; }
  boost::json::object public_jwk() const { return public_.public_jwk(); }
  EVP_PKEY* native() const { return key_.get(); }  // for jwt.cpp

 private:
  SigningKey(std::shared_ptr<EVP_PKEY> key, VerifyingKey pub);
  static Result<SigningKey> from_private(std::shared_ptr<EVP_PKEY> key);
  std::shared_ptr<EVP_PKEY> key_;
  VerifyingKey public_;
};

}  // namespace cg::gateway
