#include "gateway/security/jwt.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/security/jwk.hpp"
#include "gateway/security/signing_key.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {

// RFC 7515 Appendix A.3: ES256 over {"iss":"joe", "exp":1300819380, ...}.
constexpr std::string_view kRfcEs256Token =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlf"
    "Q"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr std::string_view kRfcEs256Jwk =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";

// Client assertions signed outside this code base, with the openssl CLI:
//   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem
//   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384.pem
//   openssl dgst -sha384 -sign <key> input   (the ECDSA DER output turned into r||s)
// Payload: {"iss":"backend-client","sub":"backend-client",
//           "aud":"https://gateway.example/auth/token","exp":1700000300,"jti":"kat-1"}
constexpr std::string_view kPayload =
    "eyJpc3MiOiJiYWNrZW5kLWNsaWVudCIsInN1YiI6ImJhY2tlbmQtY2xpZW50IiwiYXVkIjoiaHR0cHM6Ly9nYXRld2F5"
    "LmV4YW1wbGUvYXV0aC90b2tlbiIsImV4cCI6MTcwMDAwMDMwMCwianRpIjoia2F0LTEifQ";
constexpr std::string_view kRs384Header = "eyJhbGciOiJSUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImthdCJ9";
constexpr std::string_view kRs384Signature =
    "FuWvqKJI1hEnxafIVCcIQcRKlfrxlop_iI4WLN34A9jjAlh8B-4ln4JF7RUxKqn7K6QmfZhsgR6F__jPn-tKPfjGcJS_k0"
    "20pW4bJuuOx1ecOEXfZ0bSbuNDrSSWQVX_1vtEpRQ4nqDV6xyQYyKqW-BFRA-FMkNne-uDWeNupsCoDBBXE-c2CH-jQ8jU"
    "YMcO4WPvTWEr6kojlph5IY4XY1q8Q71uujLm0YJPNSp0fVCXPhv40SqJ0fSRGZQ_-YA417uStX8qMVF4QlxwTd4rkYbDSI"
    "lgz9XhWSpvlWSA3Pkk3CnOAFrG4-BGTVid_I251GmBirkYo09V7Cv_TUSE5Q";
constexpr std::string_view kRs384Jwk =
    R"({"kty":"RSA","kid":"kat","e":"AQAB","n":"ntND3OwZWcUIw2D8CFvkrUozy4-vd2gTzV_U5GSuhX7cgo51ppKI)"
    R"(ndll8yblYfQctt-G-sbA8IopuLHqh2PaoiUnH2rpBZ1_mw-8jJhjb1T-N1eyVNRp8RQ5OnAlVJyjWxs8n6Y2XLBe1u1tEN)"
    R"(4wDnB-mnRFV3ErExA9xQUfA7VFQfc2C-e6Njxku7R2Pk9OXPN4QAvablT2tmv4k6zdeJ6JIg3yyne45SkhQOSA-AIrzb1h)"
    R"(Gh5u5SGHu2l3yoRXrXFXJ_LUcGKuC6b72D_TJK15n8Pob46bws3sVeKRX_m9m-OeNkwa2nFMqIeUmyAhls0dDdzFJDbHW_)"
    R"(Tit2hRBw"})";
constexpr std::string_view kEs384Header = "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImthdCJ9";
constexpr std::string_view kEs384Signature =
    "7UXz34hmKUam2i7WoYDlP7ChWGZf7xdYluZd1J3T-rPwaxgcXu2HXzScbrof7tfsxKlP-497xAligFL_0mOC6UbRgrdh0p"
    "w4D6iqnSM_5x8DPdK_wOEkMHm2CdqXsUai";
constexpr std::string_view kEs384Jwk =
    R"({"kty":"EC","crv":"P-384","kid":"kat",
        "x":"_T1zhUhvAIjTs4Odi7ppCU1VdgYvsQTKritz6xuF7xZx_WZ8ckCt_pHEJzketDB4",
        "y":"hdaw7vkhaUAQnp1_kmx5sHqBhm59VkPdSQ4LoU9QdbP8jGftazP7mNV4wlvZYAs9"})";

std::string join(std::string_view header, std::string_view payload, std::string_view sig) {
  return std::string(header) + "." + std::string(payload) + "." + std::string(sig);
}

VerifyingKey key_from(std::string_view jwk_json) {
  auto key = VerifyingKey::from_jwk(boost::json::parse(jwk_json).as_object());
  REQUIRE(key.ok());
  return *key;
}

std::string encoded(std::string_view json) {
  return base64url_encode(json);
}

// A well-signed token whose header is replaced: the signature no longer covers it.
std::string with_header(std::string_view header_json) {
  return join(encoded(header_json), kPayload, kRs384Signature);
}

std::string refusal(std::string_view token) {
  auto parsed = parse_jwt(token);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().kind == ErrorKind::kUnauthorized);
  return parsed.error().message;
}

SigningKey fresh_key(JwsAlgorithm alg = JwsAlgorithm::kEs256) {
  auto key = SigningKey::generate(alg);
  REQUIRE(key.ok());
  return *key;
}

}  // namespace

TEST_CASE("the RFC 7515 A.3 ES256 example parses and verifies") {
  auto jws = parse_jwt(kRfcEs256Token);
  REQUIRE(jws.ok());
  CHECK(jws->algorithm == JwsAlgorithm::kEs256);
  CHECK(jws->payload.at("iss") == "joe");
  CHECK(jws->payload.at("exp") == 1300819380);
  CHECK(jws->signature.size() == 64);
  CHECK(jws->signing_input == kRfcEs256Token.substr(0, kRfcEs256Token.rfind('.')));
  CHECK(verify_jwt(*jws, key_from(kRfcEs256Jwk)).ok());
}

TEST_CASE("client assertions signed by the openssl CLI verify: RS384 and ES384") {
  auto rs = parse_jwt(join(kRs384Header, kPayload, kRs384Signature));
  REQUIRE(rs.ok());
  CHECK(rs->algorithm == JwsAlgorithm::kRs384);
  CHECK(verify_jwt(*rs, key_from(kRs384Jwk)).ok());
  auto es = parse_jwt(join(kEs384Header, kPayload, kEs384Signature));
  REQUIRE(es.ok());
  CHECK(es->algorithm == JwsAlgorithm::kEs384);
  CHECK(es->signature.size() == 96);
  CHECK(verify_jwt(*es, key_from(kEs384Jwk)).ok());
  CHECK(es->payload.at("aud") == "https://gateway.example/auth/token");
}

TEST_CASE("a token signed with the gateway key verifies with its public key, and carries its kid") {
  SigningKey key = fresh_key();
  boost::json::object claims{{"sub", "nurse-1"}, {"exp", 1700000000}, {"scope", "user/*.rs"}};
  auto token = sign_jwt(claims, key, "at+jwt");
  REQUIRE(token.ok());
  auto jws = parse_jwt(*token);
  REQUIRE(jws.ok());
  CHECK(jws->header.at("alg") == "ES256");
  CHECK(jws->header.at("typ") == "at+jwt");
  CHECK(jws->header.at("kid").as_string() == key.kid());
  CHECK(jws->payload == claims);
  CHECK(verify_jwt(*jws, key.verifying_key()).ok());
  CHECK_FALSE(verify_jwt(*jws, fresh_key().verifying_key()).ok());  // someone else's key
}

TEST_CASE("ES384 and RS384 signing keys (for test clients) round-trip") {
  for (auto alg : {JwsAlgorithm::kEs384, JwsAlgorithm::kRs384}) {
    SigningKey key = fresh_key(alg);
    auto token = sign_jwt({{"iss", "c"}}, key);
    REQUIRE(token.ok());
    auto jws = parse_jwt(*token);
    REQUIRE(jws.ok());
    CHECK(jws->algorithm == alg);
    CHECK(verify_jwt(*jws, key.verifying_key()).ok());
  }
}

TEST_CASE("a tampered signature, payload or header does not verify") {
  const VerifyingKey rfc_key = key_from(kRfcEs256Jwk);
  std::string token(kRfcEs256Token);
  const auto last_dot = token.rfind('.');

  std::string sig_flipped = token;
  sig_flipped[last_dot + 5] = sig_flipped[last_dot + 5] == 'A' ? 'B' : 'A';
  auto a = parse_jwt(sig_flipped);
  REQUIRE(a.ok());
  CHECK(verify_jwt(*a, rfc_key).error().kind == ErrorKind::kUnauthorized);

  std::string payload_changed =
      join("eyJhbGciOiJFUzI1NiJ9", encoded(R"({"iss":"joe","exp":9999999999})"),
           token.substr(last_dot + 1));
  auto b = parse_jwt(payload_changed);
  REQUIRE(b.ok());
  CHECK_FALSE(verify_jwt(*b, rfc_key).ok());

  std::string header_changed =
      join(encoded(R"({"alg":"ES256","kid":"x"})"),
           token.substr(token.find('.') + 1, last_dot - token.find('.') - 1),
           token.substr(last_dot + 1));
  auto c = parse_jwt(header_changed);
  REQUIRE(c.ok());
  CHECK_FALSE(verify_jwt(*c, rfc_key).ok());

  std::string short_signature =
      token.substr(0, last_dot + 1) + encoded(std::string(63, '\x01'));  // not 64 bytes
  auto d = parse_jwt(short_signature);
  REQUIRE(d.ok());
  CHECK_FALSE(verify_jwt(*d, rfc_key).ok());
}

TEST_CASE("alg confusion: a key verifies only tokens of its own algorithm") {
  auto es256 = parse_jwt(kRfcEs256Token);
  REQUIRE(es256.ok());
  auto wrong = verify_jwt(*es256, key_from(kRs384Jwk));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.find("alg") != std::string::npos);
  CHECK_FALSE(verify_jwt(*es256, key_from(kEs384Jwk)).ok());

  // Relabelled: the ES256 signature bytes presented as an RS384 token.
  std::string token(kRfcEs256Token);
  std::string relabelled =
      join(encoded(R"({"alg":"RS384"})"),
           token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1),
           token.substr(token.rfind('.') + 1));
  auto rs = parse_jwt(relabelled);
  REQUIRE(rs.ok());
  CHECK_FALSE(verify_jwt(*rs, key_from(kRfcEs256Jwk)).ok());
  CHECK_FALSE(verify_jwt(*rs, key_from(kRs384Jwk)).ok());
}

TEST_CASE("with a key set, the kid and the algorithm pick the key") {
  SigningKey a = fresh_key(), b = fresh_key(JwsAlgorithm::kEs384);
  std::vector<VerifyingKey> keys{b.verifying_key(), a.verifying_key()};
  auto token = sign_jwt({{"iss", "c"}}, a);
  REQUIRE(token.ok());
  auto jws = parse_jwt(*token);
  REQUIRE(jws.ok());
  CHECK(verify_jwt(*jws, keys).ok());
  CHECK_FALSE(verify_jwt(*jws, std::span(keys).first(1)).ok());
  jws->header["kid"] = b.kid();  // the header names another key of the set
  CHECK_FALSE(verify_jwt(*jws, keys).ok());
  jws->header.erase("kid");  // no kid: every key of the token's algorithm is tried
  CHECK(verify_jwt(*jws, keys).ok());
}

TEST_CASE("unsigned, HMAC and unknown algorithms are refused at parse time") {
  CHECK(refusal(with_header(R"({"alg":"none"})")).find("none") != std::string::npos);
  CHECK(refusal(join(encoded(R"({"alg":"none"})"), kPayload, "")).find("none") !=
        std::string::npos);
  CHECK(refusal(with_header(R"({"alg":"HS256"})")).find("HMAC") != std::string::npos);
  CHECK(refusal(with_header(R"({"alg":"HS384"})")).find("HMAC") != std::string::npos);
  for (std::string_view header :
       {R"({"alg":"RS256"})", R"({"alg":"PS384"})", R"({"alg":"es256"})", R"({"alg":"ES512"})",
        R"({"alg":""})", R"({"typ":"JWT"})", R"({"alg":256})", R"({"alg":["ES256"]})"}) {
    CAPTURE(header);
    refusal(with_header(header));
  }
}

TEST_CASE("crit extensions and non-string kid or typ are refused") {
  CHECK(refusal(with_header(R"({"alg":"RS384","crit":["exp"],"exp":1})")).find("crit") !=
        std::string::npos);
  refusal(with_header(R"({"alg":"RS384","kid":7})"));
  refusal(with_header(R"({"alg":"RS384","typ":null})"));
}

TEST_CASE("malformed tokens are refused: parts, base64url, JSON objects") {
  const std::string good = join(kRs384Header, kPayload, kRs384Signature);
  REQUIRE(parse_jwt(good).ok());
  for (const std::string& bad : {
           std::string(),
           std::string("."),
           std::string(".."),
           join(kRs384Header, kPayload, ""),                         // no signature
           std::string(kRs384Header) + "." + std::string(kPayload),  // two parts
           good + ".x",                                              // four parts
           join(std::string(kRs384Header) + "=", kPayload, kRs384Signature),
           join(kRs384Header, std::string(kPayload) + "==", kRs384Signature),
           join(kRs384Header, kPayload, std::string(kRs384Signature) + "="),
           join(kRs384Header, std::string(kPayload).insert(10, " "), kRs384Signature),
           join(kRs384Header, encoded("[1,2]"), kRs384Signature),     // payload not an object
           join(kRs384Header, encoded("{\"a\":1"), kRs384Signature),  // not JSON
           join(kRs384Header, encoded("{\"a\":1} x"), kRs384Signature),
           join(kRs384Header, encoded("{\"a\":\"\xff\"}"), kRs384Signature),  // not UTF-8
           join(kRs384Header, "", kRs384Signature),
           join(encoded("\"RS384\""), kPayload, kRs384Signature),  // header not an object
           "Bearer " + good,
       }) {
    CAPTURE(bad);
    refusal(bad);
  }
}

TEST_CASE("oversized and deeply nested tokens are refused") {
  std::string filler(20 * 1024, 'a');
  std::string big = join(kRs384Header, encoded(R"({"x":")" + filler + R"("})"), kRs384Signature);
  CHECK(refusal(big).find("longer than 16384") != std::string::npos);
  CHECK(parse_jwt(big, JwtLimits{.max_token_bytes = 64 * 1024}).ok());

  std::string deep = std::string(40, '[') + std::string(40, ']');
  refusal(join(kRs384Header, encoded(R"({"x":)" + deep + "}"), kRs384Signature));
  std::string shallow = std::string(5, '[') + std::string(5, ']');
  CHECK(parse_jwt(join(kRs384Header, encoded(R"({"x":)" + shallow + "}"), kRs384Signature)).ok());
}

TEST_CASE("algorithm names map both ways and nothing else is recognised") {
  for (auto alg : {JwsAlgorithm::kEs256, JwsAlgorithm::kEs384, JwsAlgorithm::kRs384}) {
    CHECK(jws_algorithm_from_name(to_string(alg)) == alg);
  }
  CHECK_FALSE(jws_algorithm_from_name("none").has_value());
  CHECK_FALSE(jws_algorithm_from_name("HS256").has_value());
}
