#include "gateway/security/signing_key.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gateway/security/openssl_handles.hpp"

namespace cg::gateway {
namespace {

constexpr std::size_t kMaxPemBytes = 64 * 1024;

Error io_error(const char* what, const std::filesystem::path& path) {
  return Error::internal(std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::internal(std::string("writing the key: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

// Writes `bytes` to a new file with a unique name beside `target` (mkostemp: O_EXCL, mode
// 0600 from the first byte whatever the umask) and syncs it. Returns its path; on failure
// nothing is left behind.
Result<std::filesystem::path> write_private_temporary(const std::filesystem::path& target,
                                                      std::string_view bytes) {
  std::string name = target.string() + ".XXXXXX";
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return io_error("cannot create a file beside", target);
  Status written = ::fchmod(fd, 0600) == 0 ? write_all(fd, bytes) : io_error("cannot chmod", name);
  if (written && ::fsync(fd) != 0) written = io_error("cannot sync", name);
  if (::close(fd) != 0 && written) written = io_error("cannot close", name);
  if (!written) {
    ::unlink(name.c_str());
    return written.take_error();
  }
  return std::filesystem::path(name);
}

Status read_all(int fd, std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::internal(std::string("reading the key: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

Result<std::string> read_private_file(const std::filesystem::path& path) {
  // O_NONBLOCK: a FIFO put where the key should be must not hang the start.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT) return Error::not_found("no key file at " + path.string());
  if (fd < 0) return io_error("cannot open", path);
  struct stat st {};
  std::string text;
  Status status = ok_status();
  if (::fstat(fd, &st) != 0) {
    status = io_error("cannot stat", path);
  } else if (!S_ISREG(st.st_mode) || st.st_size > static_cast<off_t>(kMaxPemBytes)) {
    status = Error::invalid("the key file " + path.string() + " is not a small regular file");
  } else if ((st.st_mode & 077) != 0) {
    status = Error::invalid("the key file " + path.string() +
                            " is readable by group or others; chmod 600 it");
  } else {
    text.resize(static_cast<std::size_t>(st.st_size));
    status = read_all(fd, text);
  }
  ::close(fd);
  if (!status) {
    OPENSSL_cleanse(text.data(), text.size());
    return status.take_error();
  }
  return text;
}

// Makes a new name in the directory survive a power cut. Best effort: the key is written.
void sync_directory_of(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

int refuse_passphrase(char*, int, int, void*) {
  return 0;  // an encrypted key would need a prompt; the daemon has nobody to ask
}

}  // namespace

SigningKey::SigningKey(std::shared_ptr<EVP_PKEY> key, VerifyingKey pub)
    : key_(std::move(key)), public_(std::move(pub)) {}

Result<SigningKey> SigningKey::from_private(std::shared_ptr<EVP_PKEY> key) {
  auto jwk = public_jwk_of(key.get());
  if (!jwk) return jwk.take_error();
  // Through the JWK, so what we publish is exactly what verifies our tokens.
  auto pub = VerifyingKey::from_jwk(*jwk);
  if (!pub)
    return Error::internal("the key's public part does not round-trip: " + pub.error().message);
  return SigningKey(std::move(key), std::move(*pub));
}

Result<SigningKey> SigningKey::generate(JwsAlgorithm alg) {
  EVP_PKEY* raw = nullptr;
  switch (alg) {
    case JwsAlgorithm::kEs256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case JwsAlgorithm::kEs384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case JwsAlgorithm::kRs384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
      break;
  }
  if (!raw) return Error::internal("OpenSSL could not generate a key");
  return from_private(ossl::share(raw));
}

Result<SigningKey> SigningKey::from_pem(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return Error::invalid("the PEM text is too large");
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw =
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr) : nullptr;
  if (!raw) return Error::invalid("not an unencrypted PEM private key");
  auto key = from_private(ossl::share(raw));
  if (!key) return Error::invalid(key.error().message);
  return key;
}

Result<SigningKey> SigningKey::load_pem_file(const std::filesystem::path& path) {
  auto text = read_private_file(path);
  if (!text) return text.take_error();
  auto key = from_pem(*text);
  OPENSSL_cleanse(text->data(), text->size());
  return key;
}

Status SigningKey::save_pem_file(const std::filesystem::path& path) const {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Error::internal("OpenSSL could not encode the key");
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  std::string_view pem(data, static_cast<std::size_t>(size));
  // Written beside the target and linked into place: link() never replaces an existing key,
  // and a crash leaves at worst a stray 0600 temporary file, never a half-written key.
  if (::access(path.c_str(), F_OK) == 0) return Error::conflict(path.string() + " already exists");
  auto temporary = write_private_temporary(path, pem);
  if (!temporary) return temporary.take_error();
  Status status = ok_status();
  if (::link(temporary->c_str(), path.c_str()) != 0) {
    status = errno == EEXIST ? Error::conflict(path.string() + " already exists")
                             : io_error("cannot link", path);
  }
  ::unlink(temporary->c_str());
  if (status) sync_directory_of(path);
  return status;
}

Result<SigningKey> SigningKey::load_or_generate(const std::filesystem::path& path) {
  auto loaded = load_pem_file(path);
  if (loaded || loaded.error().kind != ErrorKind::kNotFound) return loaded;
  auto fresh = generate(JwsAlgorithm::kEs256);
  if (!fresh) return fresh;
  auto saved = fresh->save_pem_file(path);
  if (!saved && saved.error().kind == ErrorKind::kConflict) return load_pem_file(path);  // a race
  if (!saved) return saved.take_error();
  return fresh;
}

}  // namespace cg::gateway
