#include "protocols/http/gzip.hpp"

#include <doctest/doctest.h>

#include <random>

namespace cg::http {

TEST_CASE("compressed text inflates back to the original") {
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "{\"resourceType\":\"Patient\",\"id\":\"" + std::to_string(i) + "\"}";
  auto compressed = gzip_compress(text);
  REQUIRE(compressed.ok());
  CHECK(compressed->size() < text.size() / 5);
  CHECK(static_cast<unsigned char>((*compressed)[0]) == 0x1f);  // gzip magic
  auto inflated = gzip_inflate(*compressed, text.size());
  REQUIRE(inflated.ok());
  CHECK(*inflated == text);
}

TEST_CASE("incompressible and empty inputs round-trip") {
  std::mt19937 rng(42);  // fixed seed: hermetic
  std::string noise(100'000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  auto compressed = gzip_compress(noise);
  REQUIRE(compressed.ok());
  auto inflated = gzip_inflate(*compressed, noise.size());
  REQUIRE(inflated.ok());
  CHECK(*inflated == noise);

  auto empty = gzip_compress("");
  REQUIRE(empty.ok());
  auto back = gzip_inflate(*empty, 0);
  REQUIRE(back.ok());
  CHECK(back->empty());
}

TEST_CASE("a gzip bomb stops at the limit with kTooLarge") {
  const std::string zeros(10 * 1024 * 1024, '\0');
  auto bomb = gzip_compress(zeros, 9);
  REQUIRE(bomb.ok());
  CHECK(bomb->size() < 20 * 1024);
  auto inflated = gzip_inflate(*bomb, 1024 * 1024);
  REQUIRE_FALSE(inflated.ok());
  CHECK(inflated.error().kind == ErrorKind::kTooLarge);
  CHECK(gzip_inflate(*bomb, zeros.size()).ok());  // exactly at the limit is fine
}

TEST_CASE("corrupt, truncated and trailing-garbage streams are kInvalid") {
  auto good = gzip_compress(std::string(5000, 'a') + "tail");
  REQUIRE(good.ok());
  SUBCASE("not gzip at all") {
    auto r = gzip_inflate("plain text, not gzip", 1000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalid);
  }
  SUBCASE("truncated") {
    auto r = gzip_inflate(std::string_view(*good).substr(0, good->size() / 2), 100'000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalid);
  }
  SUBCASE("flipped CRC") {
    std::string bad = *good;
    bad[bad.size() - 6] ^= 0x55;
    auto r = gzip_inflate(bad, 100'000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalid);
  }
  SUBCASE("garbage after the member") {
    auto r = gzip_inflate(*good + "xyz", 100'000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::kInvalid);
  }
  SUBCASE("empty body") {
    CHECK_FALSE(gzip_inflate("", 100).ok());
  }
}

TEST_CASE("concatenated gzip members inflate to the concatenated text") {
  auto a = gzip_compress("first,");
  auto b = gzip_compress("second");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto r = gzip_inflate(*a + *b, 100);
  REQUIRE(r.ok());
  CHECK(*r == "first,second");
}

}  // namespace cg::http
