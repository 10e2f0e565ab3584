#include "gateway/security/signing_key.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

using namespace cg;
using namespace cg::gateway;
namespace fs = std::filesystem;

namespace {

std::size_t entries(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {}));
}

// A private temporary directory, removed at scope end.
class KeyDir {
 public:
  KeyDir() {
    std::string pattern = (fs::temp_directory_path() / "cg-signing-key-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  KeyDir(const KeyDir&) = delete;
  KeyDir& operator=(const KeyDir&) = delete;
  ~KeyDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const char* name) const { return path_ / name; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write(const fs::path& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  fs::permissions(path, static_cast<fs::perms>(mode));
}

SigningKey fresh_key(JwsAlgorithm alg = JwsAlgorithm::kEs256) {
  auto key = SigningKey::generate(alg);
  REQUIRE(key.ok());
  return *key;
}

// `key` signs, `other` verifies: true when `other` holds the same key.
bool same_key(const SigningKey& key, const SigningKey& other) {
  auto token = sign_jwt({{"sub", "x"}}, key);
  REQUIRE(token.ok());
  auto jws = parse_jwt(*token);
  REQUIRE(jws.ok());
  return verify_jwt(*jws, other.verifying_key()).ok();
}

}  // namespace

TEST_CASE("the gateway key is ES256 on P-256 and publishes a public JWK named by its thumbprint") {
  SigningKey key = fresh_key();
  CHECK(key.algorithm() == JwsAlgorithm::kEs256);
  auto jwk = key.public_jwk();
  CHECK(jwk.at("kty") == "EC");
  CHECK(jwk.at("crv") == "P-256");
  CHECK(jwk.at("x").as_string().size() == 43);  // 32 bytes, unpadded
  CHECK(jwk.at("y").as_string().size() == 43);
  CHECK(jwk.at("use") == "sig");
  CHECK(jwk.at("alg") == "ES256");
  CHECK_FALSE(jwk.contains("d"));
  CHECK(jwk.at("kid").as_string() == key.kid());
  CHECK(jwk_thumbprint(jwk).value() == key.kid());
  CHECK(fresh_key().kid() != key.kid());
}

TEST_CASE("the key file is created with mode 0600 whatever the umask, and loads back") {
  KeyDir dir;
  SigningKey key = fresh_key();
  const mode_t old_umask = ::umask(0);  // the most permissive umask must not widen the mode
  Status saved = key.save_pem_file(dir / "gateway-key.pem");
  ::umask(old_umask);
  REQUIRE(saved.ok());
  CHECK(mode_of(dir / "gateway-key.pem") == 0600);
  CHECK(read(dir / "gateway-key.pem").starts_with("-----BEGIN PRIVATE KEY-----"));
  CHECK(entries(dir.path()) == 1);  // no temporary file left behind

  auto loaded = SigningKey::load_pem_file(dir / "gateway-key.pem");
  REQUIRE(loaded.ok());
  CHECK(loaded->kid() == key.kid());
  CHECK(same_key(key, *loaded));
  CHECK(same_key(*loaded, key));
}

TEST_CASE("an existing key file is never overwritten") {
  KeyDir dir;
  SigningKey first = fresh_key();
  REQUIRE(first.save_pem_file(dir / "key.pem").ok());
  const std::string before = read(dir / "key.pem");
  auto again = fresh_key().save_pem_file(dir / "key.pem");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::kConflict);
  CHECK(read(dir / "key.pem") == before);
  CHECK(entries(dir.path()) == 1);
}

TEST_CASE("a key file that group or others may read is refused") {
  KeyDir dir;
  SigningKey key = fresh_key();
  REQUIRE(key.save_pem_file(dir / "key.pem").ok());
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    CAPTURE(mode);
    fs::permissions(dir / "key.pem", static_cast<fs::perms>(mode));
    auto loaded = SigningKey::load_pem_file(dir / "key.pem");
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.error().kind == ErrorKind::kInvalid);
    CHECK(loaded.error().message.find("chmod 600") != std::string::npos);
  }
  fs::permissions(dir / "key.pem", static_cast<fs::perms>(0400));
  CHECK(SigningKey::load_pem_file(dir / "key.pem").ok());
}

TEST_CASE("missing, garbage, encrypted and directory key files are refused with their kind") {
  KeyDir dir;
  auto missing = SigningKey::load_pem_file(dir / "absent.pem");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kNotFound);

  write(dir / "garbage.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        0600);
  CHECK(SigningKey::load_pem_file(dir / "garbage.pem").error().kind == ErrorKind::kInvalid);
  CHECK(SigningKey::load_pem_file(dir.path()).error().kind == ErrorKind::kInvalid);
  REQUIRE(::mkfifo((dir / "fifo.pem").c_str(), 0600) == 0);  // refused, without hanging
  CHECK(SigningKey::load_pem_file(dir / "fifo.pem").error().kind == ErrorKind::kInvalid);

  // An encrypted key would need a passphrase prompt: refused, never prompted for.
  SigningKey key = fresh_key();
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio, key.native(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                        const_cast<char*>("pass")) == 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string encrypted(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  CHECK(encrypted.find("ENCRYPTED") != std::string::npos);
  CHECK(SigningKey::from_pem(encrypted).error().kind == ErrorKind::kInvalid);
}

TEST_CASE("a PEM key of a kind no algorithm here serves is refused") {
  EVP_PKEY* ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  REQUIRE(ed);
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, ed, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(ed);
  auto key = SigningKey::from_pem(pem);
  REQUIRE_FALSE(key.ok());
  CHECK(key.error().kind == ErrorKind::kInvalid);
}

TEST_CASE("load_or_generate creates the key on first start and reuses it afterwards") {
  KeyDir dir;
  auto first = SigningKey::load_or_generate(dir / "node.pem");
  REQUIRE(first.ok());
  CHECK(first->algorithm() == JwsAlgorithm::kEs256);
  CHECK(mode_of(dir / "node.pem") == 0600);
  auto second = SigningKey::load_or_generate(dir / "node.pem");
  REQUIRE(second.ok());
  CHECK(second->kid() == first->kid());

  fs::permissions(dir / "node.pem", static_cast<fs::perms>(0644));
  auto unsafe = SigningKey::load_or_generate(dir / "node.pem");  // not silently replaced
  REQUIRE_FALSE(unsafe.ok());
  CHECK(unsafe.error().kind == ErrorKind::kInvalid);
}

TEST_CASE("RS384 and ES384 keys save and load too (test clients' keys)") {
  KeyDir dir;
  for (auto alg : {JwsAlgorithm::kEs384, JwsAlgorithm::kRs384}) {
    SigningKey key = fresh_key(alg);
    fs::path path = dir / (alg == JwsAlgorithm::kRs384 ? "rsa.pem" : "ec384.pem");
    REQUIRE(key.save_pem_file(path).ok());
    auto loaded = SigningKey::load_pem_file(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->algorithm() == alg);
    CHECK(same_key(key, *loaded));
  }
}
