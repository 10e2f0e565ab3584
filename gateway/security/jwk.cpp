#include "gateway/security/jwk.hpp"

#include <openssl/core_names.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>

#include "gateway/security/openssl_handles.hpp"

namespace cg::gateway {
namespace {

constexpr int kMinRsaBits = 2048;
constexpr std::size_t kMaxJwksKeys = 32;
constexpr std::size_t kMaxJwksBytes = 64 * 1024;

struct Curve {
  const char* jwk_name;      // "P-256"
  const char* openssl_name;  // "prime256v1"
  std::size_t bytes;
  JwsAlgorithm alg;
};
constexpr Curve kCurves[] = {{"P-256", "prime256v1", 32, JwsAlgorithm::kEs256},
                             {"P-384", "secp384r1", 48, JwsAlgorithm::kEs384}};

const Curve* curve_for(JwsAlgorithm alg) {
  for (const Curve& c : kCurves) {
    if (c.alg == alg) return &c;
  }
  return nullptr;
}

std::string bn_bytes(const BIGNUM* bn, std::size_t pad) {
  std::string out(pad ? pad : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  return out;
}

std::string bn_param_b64(EVP_PKEY* key, const char* name, std::size_t pad = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  ossl::Bignum bn(raw);
  return base64url_encode(bn_bytes(bn.get(), pad));
}

// The members RFC 7638 hashes, in its lexicographic order: the JWK thumbprint's input and
// the start of every public JWK we publish.
boost::json::object required_members(EVP_PKEY* key, JwsAlgorithm alg) {
  boost::json::object jwk;
  if (const Curve* curve = curve_for(alg)) {
    jwk["crv"] = curve->jwk_name;
    jwk["kty"] = "EC";
    jwk["x"] = bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, curve->bytes);
    jwk["y"] = bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, curve->bytes);
  } else {
    jwk["e"] = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_E);
    jwk["kty"] = "RSA";
    jwk["n"] = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_N);
  }
  return jwk;
}

// Which algorithm a key serves; kInvalid for keys no algorithm here uses.
Result<JwsAlgorithm> algorithm_of(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
      return Error::invalid("RSA keys must have at least 2048 bits");
    }
    return JwsAlgorithm::kRs384;
  }
  char group[64] = {};
  if (EVP_PKEY_is_a(key, "EC") &&
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     nullptr) == 1) {
    for (const Curve& c : kCurves) {
      if (std::strcmp(group, c.openssl_name) == 0) return c.alg;
    }
  }
  return Error::invalid("only EC P-256, EC P-384 and RSA keys are supported");
}

Result<std::string> string_member(const boost::json::object& jwk, const char* name) {
  const auto* member = jwk.if_contains(name);
  if (!member || !member->is_string()) {
    return Error::invalid(std::string("the JWK has no ") + name + " string", name);
  }
  return std::string(member->get_string());
}

Result<std::string> bytes_member(const boost::json::object& jwk, const char* name) {
  auto text = string_member(jwk, name);
  if (!text) return text;
  auto bytes = base64url_decode(*text);
  if (!bytes || bytes->empty()) {
    return Error::invalid(std::string("the JWK's ") + name + " is not base64url", name);
  }
  return std::move(*bytes);
}

// A public key from OpenSSL parameters, checked (point on the curve, sane RSA exponent).
Result<ossl::SharedPkey> public_key_from(const char* type, OSSL_PARAM_BLD* build) {
  ossl::Params params(OSSL_PARAM_BLD_to_param(build));
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Error::invalid("the JWK does not describe a valid public key");
  }
  ossl::SharedPkey key = ossl::share(raw);
  ossl::PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Error::invalid("the JWK does not describe a valid public key");
  }
  return key;
}

Result<ossl::SharedPkey> ec_key_from_jwk(const boost::json::object& jwk, const Curve& curve) {
  auto x = bytes_member(jwk, "x");
  if (!x) return x.take_error();
  auto y = bytes_member(jwk, "y");
  if (!y) return y.take_error();
  if (x->size() != curve.bytes || y->size() != curve.bytes) {
    return Error::invalid("the JWK's x and y do not have the curve's size");
  }
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  ossl::ParamBuild build(OSSL_PARAM_BLD_new());
  if (!build ||
      OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.openssl_name,
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Error::internal("OpenSSL could not build EC parameters");
  }
  return public_key_from("EC", build.get());
}

Result<ossl::SharedPkey> rsa_key_from_jwk(const boost::json::object& jwk) {
  auto n = bytes_member(jwk, "n");
  if (!n) return n.take_error();
  auto e = bytes_member(jwk, "e");
  if (!e) return e.take_error();
  if (n->size() > 1024 || e->size() > 8) {
    return Error::invalid("the JWK's RSA key is larger than 8192 bits");
  }
  const auto* nb = reinterpret_cast<const unsigned char*>(n->data());
  const auto* eb = reinterpret_cast<const unsigned char*>(e->data());
  ossl::Bignum bn_n(BN_bin2bn(nb, static_cast<int>(n->size()), nullptr));
  ossl::Bignum bn_e(BN_bin2bn(eb, static_cast<int>(e->size()), nullptr));
  ossl::ParamBuild build(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !build ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Error::internal("OpenSSL could not build RSA parameters");
  }
  return public_key_from("RSA", build.get());
}

Result<ossl::SharedPkey> key_from_jwk(const boost::json::object& jwk) {
  auto kty = string_member(jwk, "kty");
  if (!kty) return kty.take_error();
  if (*kty == "RSA") return rsa_key_from_jwk(jwk);
  if (*kty != "EC") return Error::invalid("the JWK's kty is neither EC nor RSA", "kty");
  auto crv = string_member(jwk, "crv");
  if (!crv) return crv.take_error();
  for (const Curve& c : kCurves) {
    if (*crv == c.jwk_name) return ec_key_from_jwk(jwk, c);
  }
  return Error::invalid("the JWK's crv is neither P-256 nor P-384", "crv");
}

// "use", "key_ops", "alg" and private members: what a JWK says about itself must allow
// verifying with `alg`.
Status check_jwk_intent(const boost::json::object& jwk, JwsAlgorithm alg) {
  if (jwk.contains("d"))
    return Error::invalid("the JWK holds a private key; register its public part");
  const auto* use = jwk.if_contains("use");
  if (use && !(use->is_string() && use->get_string() == "sig")) {
    return Error::invalid("the JWK's use is not sig", "use");
  }
  if (const auto* ops = jwk.if_contains("key_ops")) {
    bool verify = false;
    if (ops->is_array()) {
      for (const auto& op : ops->get_array())
        verify |= op.is_string() && op.get_string() == "verify";
    }
    if (!verify) return Error::invalid("the JWK's key_ops do not include verify", "key_ops");
  }
  const auto* named = jwk.if_contains("alg");
  if (named && !(named->is_string() && named->get_string() == to_string(alg))) {
    return Error::invalid(std::string("the JWK's alg does not match its key, which serves ") +
                              std::string(to_string(alg)),
                          "alg");
  }
  return ok_status();
}

}  // namespace

VerifyingKey::VerifyingKey(std::shared_ptr<EVP_PKEY> key, JwsAlgorithm alg, std::string kid)
    : key_(std::move(key)), algorithm_(alg), kid_(std::move(kid)) {}

Result<VerifyingKey> VerifyingKey::from_jwk(const boost::json::object& jwk) {
  auto key = key_from_jwk(jwk);
  if (!key) return key.take_error();
  auto alg = algorithm_of(key->get());
  if (!alg) return alg.take_error();
  if (auto intent = check_jwk_intent(jwk, *alg); !intent) return intent.take_error();
  std::string kid;
  if (const auto* named = jwk.if_contains("kid")) {
    if (!named->is_string()) return Error::invalid("the JWK's kid is not a string", "kid");
    kid = named->get_string();
  } else {
    kid = *jwk_thumbprint(required_members(key->get(), *alg));
  }
  return VerifyingKey(std::move(*key), *alg, std::move(kid));
}

boost::json::object VerifyingKey::public_jwk() const {
  boost::json::object jwk = required_members(key_.get(), algorithm_);
  jwk["kid"] = kid_;
  jwk["use"] = "sig";
  jwk["alg"] = to_string(algorithm_);
  return jwk;
}

Result<std::string> jwk_thumbprint(const boost::json::object& jwk) {
  auto kty = string_member(jwk, "kty");
  if (!kty) return kty.take_error();
  static constexpr std::array<const char*, 4> kEc = {"crv", "kty", "x", "y"};
  static constexpr std::array<const char*, 3> kRsa = {"e", "kty", "n"};
  std::span<const char* const> names;
  if (*kty == "EC") {
    names = kEc;
  } else if (*kty == "RSA") {
    names = kRsa;
  } else {
    return Error::invalid("the JWK's kty is neither EC nor RSA", "kty");
  }
  boost::json::object canonical;  // keeps insertion order: the lexicographic one above
  for (const char* name : names) {
    auto value = string_member(jwk, name);
    if (!value) return value.take_error();
    canonical[name] = *value;
  }
  std::string text = boost::json::serialize(canonical);
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(digest), len));
}

Result<std::vector<VerifyingKey>> parse_jwks(const boost::json::value& jwks) {
  const auto* keys = jwks.is_object() ? jwks.get_object().if_contains("keys") : nullptr;
  if (!keys || !keys->is_array()) return Error::invalid("a JWK Set needs a keys array", "keys");
  if (keys->get_array().size() > kMaxJwksKeys)
    return Error::invalid("the JWK Set has too many keys");
  std::vector<VerifyingKey> out;
  for (const auto& item : keys->get_array()) {
    if (!item.is_object()) return Error::invalid("a JWK Set's keys must be objects", "keys");
    const auto& jwk = item.get_object();
    const auto* kty = jwk.if_contains("kty");
    const auto* use = jwk.if_contains("use");
    bool ours =
        kty && kty->is_string() && (kty->get_string() == "EC" || kty->get_string() == "RSA");
    if (!ours || (use && use->is_string() && use->get_string() != "sig")) continue;
    auto key = VerifyingKey::from_jwk(jwk);
    if (!key) return key.take_error();
    out.push_back(std::move(*key));
  }
  if (out.empty()) return Error::invalid("the JWK Set has no signature-verifying key");
  return out;
}

Result<std::vector<VerifyingKey>> parse_jwks(std::string_view json) {
  if (json.size() > kMaxJwksBytes) return Error::invalid("the JWK Set is larger than 64 KiB");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec) return Error::invalid("the JWK Set is not JSON");
  return parse_jwks(v);
}

boost::json::object jwks_document(std::span<const VerifyingKey> keys) {
  boost::json::array list;
  for (const VerifyingKey& key : keys) list.push_back(key.public_jwk());
  return boost::json::object{{"keys", std::move(list)}};
}

Result<boost::json::object> public_jwk_of(EVP_PKEY* key) {
  auto alg = algorithm_of(key);
  if (!alg) return alg.take_error();
  return required_members(key, *alg);
}

}  // namespace cg::gateway
