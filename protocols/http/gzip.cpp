#include "protocols/http/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>

namespace cg::http {
namespace {

// zlib's windowBits: 15 = 32 KiB window, +16 = gzip wrapper instead of zlib's.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kMemLevel = 8;
constexpr std::size_t kChunk = 16 * 1024;

// zlib counts in uInt; feed large inputs in slices so nothing is truncated on 64-bit.
uInt clamp_uint(std::size_t n) {
  return static_cast<uInt>(std::min<std::size_t>(n, UINT_MAX));
}

// Owns a z_stream for deflate or inflate and ends it on every exit path.
class ZStream {
 public:
  explicit ZStream(bool deflating) : deflating_(deflating) {}
  ~ZStream() {
    if (!initialised_) return;
    if (deflating_) {
      deflateEnd(&zs_);
    } else {
      inflateEnd(&zs_);
    }
  }
  ZStream(const ZStream&) = delete;
  ZStream& operator=(const ZStream&) = delete;

  bool init(int level) {
    int rc = deflating_ ? deflateInit2(&zs_, level, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                                       Z_DEFAULT_STRATEGY)
                        : inflateInit2(&zs_, kGzipWindowBits);
    initialised_ = rc == Z_OK;
    return initialised_;
  }
  z_stream* get() { return &zs_; }

 private:
  z_stream zs_{};
  bool deflating_;
  bool initialised_ = false;
};

// Points zs at the unread part of `data` (at most UINT_MAX bytes of it).
void feed(z_stream* zs, std::string_view data, std::size_t consumed) {
  zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + consumed));
  zs->avail_in = clamp_uint(data.size() - consumed);
}

}  // namespace

Result<std::string> gzip_compress(std::string_view data, int level) {
  ZStream stream(/*deflating=*/true);
  if (!stream.init(level)) return Error::internal("gzip: deflateInit2 failed");
  z_stream* zs = stream.get();
  std::string out;
  out.reserve(deflateBound(zs, static_cast<uLong>(data.size())));
  std::array<Bytef, kChunk> chunk{};
  std::size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    feed(zs, data, consumed);
    const uInt fed = zs->avail_in;
    const bool last_slice = consumed + fed == data.size();
    zs->next_out = chunk.data();
    zs->avail_out = static_cast<uInt>(chunk.size());
    rc = deflate(zs, last_slice ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_ERROR) return Error::internal("gzip: deflate failed");
    consumed += fed - zs->avail_in;
    out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size() - zs->avail_out);
  }
  return out;
}

Result<std::string> gzip_inflate(std::string_view data, std::size_t limit) {
  ZStream stream(/*deflating=*/false);
  if (!stream.init(0)) return Error::internal("gzip: inflateInit2 failed");
  z_stream* zs = stream.get();
  std::string out;
  std::array<Bytef, kChunk> chunk{};
  std::size_t consumed = 0;
  if (data.empty()) return Error::invalid("gzip body is empty");
  while (true) {
    feed(zs, data, consumed);
    const uInt fed = zs->avail_in;
    zs->next_out = chunk.data();
    zs->avail_out = static_cast<uInt>(chunk.size());
    int rc = inflate(zs, Z_NO_FLUSH);
    consumed += fed - zs->avail_in;
    const std::size_t produced = chunk.size() - zs->avail_out;
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
      return Error::invalid("gzip body is corrupt");
    }
    if (rc == Z_MEM_ERROR) return Error::internal("gzip: out of memory");
    if (produced > limit - out.size()) {
      return Error::too_large("inflated body exceeds the limit of " + std::to_string(limit) +
                              " bytes");
    }
    out.append(reinterpret_cast<const char*>(chunk.data()), produced);
    if (rc == Z_STREAM_END) {
      if (consumed == data.size()) return out;
      // Another member follows (RFC 1952 allows concatenation); anything else is garbage
      // and inflate will reject it as a bad header.
      if (inflateReset(zs) != Z_OK) return Error::internal("gzip: inflateReset failed");
      continue;
    }
    // Z_BUF_ERROR with no input left and no output produced: the stream is truncated.
    if (produced == 0 && consumed == data.size()) return Error::invalid("gzip body is truncated");
  }
}

}  // namespace cg::http
