#include "gateway/security/jwk.hpp"

#include <doctest/doctest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/security/signing_key.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {

// RFC 7638 §3.1, whose thumbprint the RFC gives.
constexpr std::string_view kRfc7638Jwk =
    R"({"kty":"RSA","e":"AQAB","alg":"RS256","kid":"2011-04-29","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQm)"
    R"(bXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-)"
    R"(5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHz)"
    R"(u6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1j)"
    R"(F44-csFCur-kEgU8awapJzKnqDKgw"})";
constexpr std::string_view kRfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

// RFC 7515 A.3's key, with its private member "d".
constexpr std::string_view kEcJwk =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})";

boost::json::object object(std::string_view json) {
  return boost::json::parse(json).as_object();
}

boost::json::object public_ec_jwk() {
  auto jwk = object(kEcJwk);
  jwk.erase("d");
  return jwk;
}

boost::json::object rfc_rsa_jwk_without(std::initializer_list<const char*> names) {
  auto jwk = object(kRfc7638Jwk);
  for (const char* name : names) jwk.erase(name);
  return jwk;
}

std::string refusal(const boost::json::object& jwk) {
  auto key = VerifyingKey::from_jwk(jwk);
  REQUIRE_FALSE(key.ok());
  CHECK(key.error().kind == ErrorKind::kInvalid);
  return key.error().message;
}

}  // namespace

TEST_CASE("the RFC 7638 RSA example has the RFC's thumbprint, whatever optional members it has") {
  auto jwk = object(kRfc7638Jwk);
  CHECK(jwk_thumbprint(jwk).value() == kRfc7638Thumbprint);
  CHECK(jwk_thumbprint(rfc_rsa_jwk_without({"alg", "kid"})).value() == kRfc7638Thumbprint);
  CHECK_FALSE(jwk_thumbprint(rfc_rsa_jwk_without({"n"})).ok());
  CHECK_FALSE(jwk_thumbprint(object(R"({"kty":"oct","k":"AAAA"})")).ok());
}

TEST_CASE("an RSA JWK becomes an RS384 key; without a kid its thumbprint names it") {
  auto key = VerifyingKey::from_jwk(rfc_rsa_jwk_without({"alg", "kid"}));
  REQUIRE(key.ok());
  CHECK(key->algorithm() == JwsAlgorithm::kRs384);
  CHECK(key->kid() == kRfc7638Thumbprint);
  auto named = VerifyingKey::from_jwk(rfc_rsa_jwk_without({"alg"}));
  REQUIRE(named.ok());
  CHECK(named->kid() == "2011-04-29");
  auto exported = named->public_jwk();
  CHECK(exported.at("kty") == "RSA");
  CHECK(exported.at("alg") == "RS384");
  CHECK(exported.at("use") == "sig");
  CHECK(exported.at("n") == object(kRfc7638Jwk).at("n"));
  CHECK(exported.at("e") == "AQAB");
}

TEST_CASE("a JWK that names another algorithm than its key serves is refused") {
  // The RFC's key says RS256: this gateway verifies RSA keys only with RS384.
  CHECK(refusal(object(kRfc7638Jwk)).find("alg") != std::string::npos);
  auto ec = public_ec_jwk();
  ec["alg"] = "ES384";
  refusal(ec);
  ec["alg"] = "ES256";
  CHECK(VerifyingKey::from_jwk(ec).ok());
}

TEST_CASE("an EC P-256 JWK becomes an ES256 key; a private JWK is refused") {
  CHECK(refusal(object(kEcJwk)).find("private") != std::string::npos);
  auto key = VerifyingKey::from_jwk(public_ec_jwk());
  REQUIRE(key.ok());
  CHECK(key->algorithm() == JwsAlgorithm::kEs256);
  auto exported = key->public_jwk();
  CHECK(exported.at("x") == public_ec_jwk().at("x"));
  CHECK(exported.at("y") == public_ec_jwk().at("y"));
  CHECK(exported.at("crv") == "P-256");
  CHECK_FALSE(exported.contains("d"));
}

TEST_CASE("EC JWKs with a point off the curve, wrong sizes or another curve are refused") {
  auto off_curve = public_ec_jwk();
  std::string y(off_curve.at("y").as_string());
  y[5] = y[5] == 'A' ? 'B' : 'A';
  off_curve["y"] = y;
  refusal(off_curve);

  auto short_x = public_ec_jwk();
  short_x["x"] = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE";  // 31 bytes
  refusal(short_x);

  auto p521 = public_ec_jwk();
  p521["crv"] = "P-521";
  CHECK(refusal(p521).find("crv") != std::string::npos);
  auto no_y = public_ec_jwk();
  no_y.erase("y");
  refusal(no_y);
  auto padded = public_ec_jwk();
  padded["x"] = std::string(padded.at("x").as_string()) + "=";
  refusal(padded);
}

TEST_CASE("use, key_ops and kty must allow signature verification") {
  auto enc = public_ec_jwk();
  enc["use"] = "enc";
  CHECK(refusal(enc).find("use") != std::string::npos);
  auto sign_only = public_ec_jwk();
  sign_only["key_ops"] = boost::json::array{"sign"};
  CHECK(refusal(sign_only).find("key_ops") != std::string::npos);
  auto verify = public_ec_jwk();
  verify["key_ops"] = boost::json::array{"verify"};
  verify["use"] = "sig";
  CHECK(VerifyingKey::from_jwk(verify).ok());
  CHECK(refusal(object(R"({"kty":"oct","k":"c2VjcmV0"})")).find("kty") != std::string::npos);
  refusal(object(R"({"crv":"P-256"})"));
  auto kid = public_ec_jwk();
  kid["kid"] = 5;
  refusal(kid);
}

TEST_CASE("RSA keys under 2048 bits are refused") {
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024});
  REQUIRE(small);
  BIGNUM* n = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(small, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
  std::string n_bytes(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(n_bytes.data()));
  BN_free(n);
  EVP_PKEY_free(small);
  boost::json::object jwk{{"kty", "RSA"}, {"e", "AQAB"}, {"n", base64url_encode(n_bytes)}};
  CHECK(refusal(jwk).find("2048") != std::string::npos);
}

TEST_CASE("a JWK Set keeps its signature keys and skips what it cannot use") {
  auto ec = public_ec_jwk();
  ec["kid"] = "ec-1";
  auto rsa = rfc_rsa_jwk_without({"alg"});
  auto enc = public_ec_jwk();
  enc["use"] = "enc";
  boost::json::object set{
      {"keys",
       boost::json::array{ec, object(R"({"kty":"OKP","crv":"Ed25519","x":"AA"})"), rsa, enc}}};
  auto keys = parse_jwks(boost::json::serialize(set));
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].kid() == "ec-1");
  CHECK((*keys)[0].algorithm() == JwsAlgorithm::kEs256);
  CHECK((*keys)[1].kid() == "2011-04-29");
  CHECK((*keys)[1].algorithm() == JwsAlgorithm::kRs384);
}

TEST_CASE("a JWK Set with a broken key, no usable key or too many keys is refused") {
  auto broken = public_ec_jwk();
  broken["x"] = "AAAA";
  for (const boost::json::value& bad : {
           boost::json::value(
               boost::json::object{{"keys", boost::json::array{public_ec_jwk(), broken}}}),
           boost::json::value(boost::json::object{{"keys", boost::json::array{}}}),
           boost::json::value(boost::json::object{{"keys", public_ec_jwk()}}),
           boost::json::value(boost::json::object{{"keys", boost::json::array{1}}}),
           boost::json::value(boost::json::array{public_ec_jwk()}),
           boost::json::value(boost::json::object{
               {"keys", boost::json::array(33, boost::json::value(public_ec_jwk()))}}),
       }) {
    CAPTURE(boost::json::serialize(bad));
    auto keys = parse_jwks(bad);
    REQUIRE_FALSE(keys.ok());
    CHECK(keys.error().kind == ErrorKind::kInvalid);
  }
  CHECK_FALSE(parse_jwks(std::string_view("{\"keys\":[")).ok());
  CHECK_FALSE(parse_jwks(std::string_view(std::string(70 * 1024, ' '))).ok());
}

TEST_CASE("the JWKS document serves every key and parses back to the same keys") {
  auto es256 = SigningKey::generate();
  auto es384 = SigningKey::generate(JwsAlgorithm::kEs384);
  REQUIRE(es256.ok());
  REQUIRE(es384.ok());
  std::vector<VerifyingKey> keys{es256->verifying_key(), es384->verifying_key()};
  boost::json::object document = jwks_document(keys);
  REQUIRE(document.at("keys").as_array().size() == 2);
  auto parsed = parse_jwks(boost::json::serialize(document));
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK((*parsed)[i].kid() == keys[i].kid());
    CHECK((*parsed)[i].algorithm() == keys[i].algorithm());
    CHECK((*parsed)[i].public_jwk() == keys[i].public_jwk());
  }
}
