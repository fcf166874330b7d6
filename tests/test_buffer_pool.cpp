// Tests for bilin/core/buffer_pool.hpp: reuse of released blocks by size, the byte cap and its
// least-recently-released eviction, the sizes it leaves to malloc, thread safety, the
// environment knob, and that tensor storage on reused blocks still honours zeroing.
#include <bilin/bilin.hpp>
#include <bilin/core/buffer_pool.hpp>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using bilin::BufferPool;

namespace {

constexpr std::size_t kMiB = std::size_t(1) << 20;

// Sets an environment variable for a scope and restores the old value.
struct PoolEnvVar {
  std::string name, old;
  bool had;
  PoolEnvVar(const char* n, const char* v) : name(n), had(std::getenv(n) != nullptr) {
    if (had) old = std::getenv(n);
    ::setenv(n, v, 1);
  }
  ~PoolEnvVar() {
    if (had) ::setenv(name.c_str(), old.c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("buffer pool: a released block is handed out again for the same rounded size") {
  BufferPool pool(16 * kMiB);
  std::size_t cap1 = 0, cap2 = 0, cap3 = 0;
  void* a = pool.acquire(kMiB + 5, &cap1);
  CHECK(cap1 == kMiB + BufferPool::kPage);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % BufferPool::kAlign == 0);
  std::memset(a, 0x5a, cap1);
  pool.release(a, cap1);
  CHECK(pool.stats().kept_bytes == cap1);

  void* b = pool.acquire(kMiB + 100, &cap2);  // same 4 KiB-rounded size
  CHECK(b == a);
  CHECK(cap2 == cap1);
  CHECK(static_cast<unsigned char*>(b)[cap2 - 1] == 0x5a);  // reused, not fresh memory
  void* c = pool.acquire(kMiB + 5, &cap3);                  // none kept now: a fresh block
  CHECK(c != b);
  const auto s = pool.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 2);
  CHECK(s.kept_bytes == 0);
  pool.release(b, cap2);
  pool.release(c, cap3);
  CHECK(pool.stats().kept_blocks == 2);
  pool.trim();
  CHECK(pool.stats().kept_bytes == 0);
  CHECK(pool.stats().kept_blocks == 0);
}

TEST_CASE("buffer pool: the cap evicts the least recently released blocks first") {
  BufferPool pool(3 * kMiB);
  std::size_t cap = 0;
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(pool.acquire(kMiB, &cap));
  REQUIRE(cap == kMiB);
  for (void* p : blocks) pool.release(p, cap);  // the 4th release pushes the 1st out
  auto s = pool.stats();
  CHECK(s.kept_blocks == 3);
  CHECK(s.kept_bytes == 3 * kMiB);
  // Most recently released first: 4th, 3rd, 2nd; then nothing is left.
  for (int i = 3; i >= 1; --i) CHECK(pool.acquire(kMiB, &cap) == blocks[static_cast<std::size_t>(i)]);
  CHECK(pool.stats().hits == 3);
  void* fresh = pool.acquire(kMiB, &cap);
  CHECK(pool.stats().misses == 5);
  for (int i = 1; i < 4; ++i) pool.release(blocks[static_cast<std::size_t>(i)], cap);
  pool.release(fresh, cap);
  CHECK(pool.stats().kept_bytes == 3 * kMiB);

  // A block larger than the cap is never kept, and keeps nothing else out.
  std::size_t big_cap = 0;
  void* big = pool.acquire(4 * kMiB, &big_cap);
  pool.release(big, big_cap);
  CHECK(pool.stats().kept_bytes == 3 * kMiB);
}

TEST_CASE("buffer pool: small blocks and a zero cap go straight back to malloc") {
  BufferPool pool(16 * kMiB);
  std::size_t cap = 0;
  void* small = pool.acquire(BufferPool::min_bytes - 64, &cap);
  CHECK(cap == BufferPool::min_bytes - 64);
  CHECK(reinterpret_cast<std::uintptr_t>(small) % BufferPool::kAlign == 0);
  pool.release(small, cap);
  CHECK(pool.stats().kept_blocks == 0);
  CHECK(pool.stats().misses == 0);  // not a poolable size: not counted either way

  BufferPool off(0);
  void* p = off.acquire(2 * kMiB, &cap);
  off.release(p, cap);
  CHECK(off.stats().kept_blocks == 0);
  void* q = off.acquire(2 * kMiB, &cap);
  CHECK(off.stats().hits == 0);
  off.release(q, cap);
}

TEST_CASE("buffer pool: concurrent acquire and release never hand one block to two owners") {
  BufferPool pool(8 * kMiB);
  constexpr int threads = 4, rounds = 200;
  std::vector<int> bad(threads, 0);
  std::vector<std::thread> team;
  for (int t = 0; t < threads; ++t)
    team.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        std::size_t cap = 0;
        const std::size_t bytes = (r % 3 + 1) * 512 * 1024;
        auto* p = static_cast<std::uint32_t*>(pool.acquire(bytes, &cap));
        const std::size_t n = cap / sizeof(std::uint32_t);
        const std::uint32_t tag = static_cast<std::uint32_t>(t * 100000 + r);
        for (std::size_t i = 0; i < n; i += 97) p[i] = tag;
        std::this_thread::yield();
        for (std::size_t i = 0; i < n; i += 97) bad[static_cast<std::size_t>(t)] += p[i] != tag;
        pool.release(p, cap);
      }
    });
  for (auto& th : team) th.join();
  for (int t = 0; t < threads; ++t) CHECK(bad[static_cast<std::size_t>(t)] == 0);
  const auto s = pool.stats();
  CHECK(s.hits + s.misses == std::size_t(threads * rounds));
  CHECK(s.kept_bytes <= pool.cap_bytes());
}

TEST_CASE("buffer pool: BILIN_BUFFER_CACHE_MB sets the cap and a bad value names the variable") {
  {
    PoolEnvVar v("BILIN_BUFFER_CACHE_MB", "24");
    CHECK(bilin::buffer_pool_detail::default_cap() == 24 * kMiB);
  }
  {
    PoolEnvVar v("BILIN_BUFFER_CACHE_MB", "0");
    CHECK(bilin::buffer_pool_detail::default_cap() == 0);
  }
  for (const char* bad : {"12x", "-3", "1e3", "99999999999999999"}) {
    PoolEnvVar v("BILIN_BUFFER_CACHE_MB", bad);
    CHECK_THROWS_WITH(bilin::buffer_pool_detail::default_cap(), Catch::Contains("BILIN_BUFFER_CACHE_MB"));
  }
}

TEST_CASE("buffer pool: tensors on reused storage are zeroed when asked and freed into the pool") {
  // The global pool is off under AddressSanitizer; the zeroing promise holds either way.
  const std::int64_t n = 512 * 1024;  // 2 MiB of float: a poolable size
  {
    auto dirty = bilin::Tensor<float>::full({n}, 7.0f);
    CHECK(dirty.data()[n - 1] == 7.0f);
  }
  auto z = bilin::Tensor<float>::zeros({n});
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += std::abs(z.data()[i]);
  CHECK(sum == 0.0);
  if (bilin::buffer_pool().cap_bytes() > 0) {
    const auto before = bilin::buffer_pool().stats();
    { auto t = bilin::Tensor<float>::empty({n}); }
    auto again = bilin::Tensor<float>::empty({n});
    CHECK(bilin::buffer_pool().stats().hits > before.hits);
  }
}
