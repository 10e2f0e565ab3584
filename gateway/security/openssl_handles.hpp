#pragma once
// Owning handles for the OpenSSL objects the security code creates, so every early return
// frees them. Internal to gateway/security/*.cpp; not part of any module API.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

namespace cg::gateway::ossl {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using ParamBuild = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;

// Keys are shared: a SigningKey and the VerifyingKeys copied from it may outlive each other.
// EVP_PKEY is safe to use from several threads at once as long as nobody modifies it.
using SharedPkey = std::shared_ptr<EVP_PKEY>;
inline SharedPkey share(EVP_PKEY* key) {
  return SharedPkey(key, EVP_PKEY_free);
}

}  // namespace cg::gateway::ossl
