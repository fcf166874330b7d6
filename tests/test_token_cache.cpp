// Token cache files: round trip at both id widths, the on-disk layout checked byte by byte with
// an independent decoder (zlib's crc32), and a clear error for every kind of corruption.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bilin/core/random.hpp"
#include "bilin/data/token_cache.hpp"
#include "test_support.hpp"

using namespace bilin::data;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
fs::path test_dir() {
  const fs::path d = fs::temp_directory_path() / "bilin_test_token_cache";
  fs::create_directories(d);
  return d;
}
std::uint64_t le(const std::string& s, std::size_t off, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(s[off + i])} << (8 * i);
  return v;
}
void set_le(std::string& s, std::size_t off, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s[off + i] = static_cast<char>(v >> (8 * i));
}
std::uint32_t zcrc(const std::string& s, std::size_t off, std::size_t n) {
  return static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(s.data() + off), static_cast<uInt>(n)));
}
// Re-seal a hand-edited file: recompute the payload and header CRCs as a correct writer would.
void reseal(std::string& s) {
  set_le(s, 32, zcrc(s, 64, s.size() - 64), 4);
  set_le(s, 36, zcrc(s, 0, 36), 4);
}
std::vector<token_t> random_ids(std::size_t n, std::uint64_t vocab, std::uint64_t seed) {
  bilin::Generator g(seed);
  std::vector<token_t> v(n);
  for (auto& x : v) x = static_cast<token_t>(g.randint(vocab));
  return v;
}
}  // namespace

TEST_CASE("token cache round trip at uint16 and uint32 widths; layout matches the contract", "[token_cache]") {
  const std::string path = (test_dir() / "rt.tok").string();
  for (std::uint64_t vocab : {std::uint64_t{1}, std::uint64_t{4096}, std::uint64_t{65536}, std::uint64_t{65537},
                              std::uint64_t{1} << 32}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{70000}, std::size_t{200003}}) {
      INFO("vocab " << vocab << " n " << n);
      auto ids = random_ids(n, vocab, vocab + n);
      if (n > 0) ids[n - 1] = static_cast<token_t>(vocab - 1);  // the largest legal id
      write_token_cache(path, ids, vocab);

      const std::string raw = bilin_test::slurp(path);
      const unsigned w = vocab <= 65536 ? 2 : 4;
      REQUIRE(raw.size() == 64 + n * w);
      CHECK(raw.substr(0, 8) == "BILINTOK");
      CHECK(le(raw, 8, 4) == 1);
      CHECK(le(raw, 12, 4) == w);
      CHECK(le(raw, 16, 8) == vocab);
      CHECK(le(raw, 24, 8) == n);
      CHECK(le(raw, 32, 4) == zcrc(raw, 64, n * w));
      CHECK(le(raw, 36, 4) == zcrc(raw, 0, 36));
      CHECK(raw.substr(40, 24) == std::string(24, '\0'));
      bool payload_ok = true;
      for (std::size_t i = 0; i < n; ++i) payload_ok = payload_ok && le(raw, 64 + i * w, static_cast<int>(w)) == ids[i];
      CHECK(payload_ok);

      const auto cache = TokenCache::open(path);
      CHECK(cache.size() == n);
      CHECK(cache.vocab_size() == vocab);
      CHECK(cache.id_bytes() == w);
      CHECK(cache.to_vector() == ids);
      if (n > 10) {
        CHECK(cache[n / 2] == ids[n / 2]);
        std::vector<token_t> part(7);
        cache.copy(3, 7, part.data());
        CHECK(part == std::vector<token_t>(ids.begin() + 3, ids.begin() + 10));
      }
      CHECK_THROWS_WITH(cache[n], Contains("out of range"));
      std::uint64_t v = 0;
      CHECK(read_token_cache(path, &v) == ids);
      CHECK(v == vocab);
    }
  }
  // Moving keeps the mapping alive.
  write_token_cache(path, std::vector<token_t>{1, 2, 3}, 10);
  TokenCache a = TokenCache::open(path);
  TokenCache b = std::move(a);
  CHECK(b.to_vector() == std::vector<token_t>{1, 2, 3});
  fs::remove(path);
}

TEST_CASE("writing is atomic and refuses ids outside the vocabulary", "[token_cache]") {
  const fs::path dir = test_dir() / "atomic";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "c.tok").string();
  write_token_cache(path, std::vector<token_t>{5, 6}, 100);
  CHECK_THROWS_WITH(write_token_cache(path, std::vector<token_t>{1, 2, 100}, 100),
                    Contains("write_token_cache") && Contains("token 2 is 100 >= vocab_size 100"));
  CHECK(read_token_cache(path) == std::vector<token_t>{5, 6});  // the old file is untouched
  write_token_cache(path, std::vector<token_t>{7}, 100);        // replaces it
  CHECK(read_token_cache(path) == std::vector<token_t>{7});
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  CHECK(files == 1);  // no temporary left behind
  CHECK_THROWS_WITH(write_token_cache(path, std::vector<token_t>{}, 0), Contains("vocab_size 0"));
  CHECK_THROWS_WITH(write_token_cache((dir / "no/such/dir/x.tok").string(), std::vector<token_t>{1}, 5),
                    Contains("no/such/dir"));
  fs::remove_all(dir);
}

TEST_CASE("corrupt token caches are rejected with the file, the byte offset and the reason", "[token_cache]") {
  const std::string path = (test_dir() / "bad.tok").string();
  const auto ids = random_ids(1000, 4096, 5);
  write_token_cache(path, ids, 4096);
  const std::string good = bilin_test::slurp(path);

  auto expect = [&](const std::string& bytes, const std::vector<std::string>& pieces) {
    bilin_test::spit(path, bytes);
    try {
      TokenCache::open(path);
      FAIL("no error");
    } catch (const bilin::Error& e) {
      INFO(e.what());
      CHECK(e.op() == "load_token_cache");
      CHECK_THAT(e.what(), Contains(path));
      for (const auto& p : pieces) CHECK_THAT(e.what(), Contains(p));
    }
  };
  std::string s;

  expect("", {"shorter than the 64-byte header"});
  expect(good.substr(0, 40), {"byte offset 40", "shorter than the 64-byte header"});
  s = good;
  s[0] = 'X';
  expect(s, {"byte offset 0", "bad magic"});
  expect(std::string(100, '\0'), {"bad magic"});
  s = good;
  set_le(s, 8, 2, 4);
  expect(s, {"byte offset 8", "unsupported format version 2"});
  s = good;
  set_le(s, 12, 3, 4);
  expect(s, {"byte offset 12", "bytes per id is 3"});
  s = good;
  set_le(s, 12, 4, 4);
  expect(s, {"byte offset 12", "vocab_size 4096 needs 2"});
  s = good;
  s[50] = 1;
  expect(s, {"byte offset 50", "reserved"});
  s = good;
  set_le(s, 16, 4000, 8);  // header edited without fixing its CRC
  expect(s, {"byte offset 0", "header checksum mismatch"});
  expect(good.substr(0, good.size() - 1), {"truncated", "1000 tokens", "2063 bytes"});
  expect(good.substr(0, 64 + 500 * 2), {"byte offset 1064", "truncated"});
  expect(good + "xy", {"byte offset 2064", "2 trailing bytes"});
  s = good;
  s[64 + 2 * 123] ^= 0x01;  // a flipped bit in token 123
  expect(s, {"byte offset 64", "payload checksum mismatch"});
  s = good;
  set_le(s, 64 + 2 * 777, 5000, 2);  // id >= vocab, but a consistent CRC (a buggy writer)
  reseal(s);
  expect(s, {"byte offset " + std::to_string(64 + 2 * 777), "token 777 is 5000", "vocab_size 4096"});
  s = good;
  set_le(s, 24, 999, 8);  // count one smaller, CRCs consistent: size mismatch
  reseal(s);
  expect(s, {"trailing bytes"});

  CHECK_THROWS_WITH(TokenCache::open(path + ".missing"), Contains("cannot open") && Contains(".missing"));
  CHECK_THROWS_WITH(TokenCache::open(test_dir().string()), Contains("not a regular file"));
  fs::remove(path);
}
