// bilin/core/random.hpp — seeded, counter-based random numbers.
//
// Contract: Generator(seed) yields the same stream on every platform and for every thread
// count. It is Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"),
// a counter-based generator: value i of a bulk fill depends only on (seed, counter, i), so a
// fill can be split across OpenMP threads and still be bit-identical to a serial one. The
// transformations to uniform / normal are written out here (not <random>'s distributions,
// whose algorithms differ between standard libraries).
#pragma once
#include <cmath>
#include <cstdint>
#include <utility>

#include "shape.hpp"  // index_t

namespace bilin {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}

  std::uint64_t seed() const { return seed_; }
  // Number of 128-bit blocks consumed so far; (seed, counter) is the whole state.
  std::uint64_t counter() const { return counter_; }
  void set_state(std::uint64_t seed, std::uint64_t counter) {
    seed_ = seed;
    counter_ = counter;
    buffered_ = 0;
  }

  struct Block {
    std::uint32_t v[4];
  };

  // The pure function behind everything: block number `ctr` of stream `seed`.
  static Block philox(std::uint64_t seed, std::uint64_t ctr) {
    std::uint32_t c0 = static_cast<std::uint32_t>(ctr), c1 = static_cast<std::uint32_t>(ctr >> 32);
    std::uint32_t c2 = 0, c3 = 0;
    std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int r = 0; r < 10; ++r) {
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c0;
      const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c2;
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
      c1 = static_cast<std::uint32_t>(p1);
      c3 = static_cast<std::uint32_t>(p0);
      c0 = n0;
      c2 = n2;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    return Block{{c0, c1, c2, c3}};
  }

  // uniform in [0, 1) with 24 random bits (float) / 53 random bits (double).
  static float u32_to_float(std::uint32_t x) { return static_cast<float>(x >> 8) * 0x1.0p-24f; }
  static double u64_to_double(std::uint32_t hi, std::uint32_t lo) {
    return static_cast<double>(((std::uint64_t{hi} << 32 | lo) >> 11)) * 0x1.0p-53;
  }
  // Box–Muller on two 32-bit words; u1 is shifted into (0, 1] so log never sees 0.
  static std::pair<double, double> box_muller(std::uint32_t a, std::uint32_t b) {
    const double u1 = (static_cast<double>(a) + 1.0) * 0x1.0p-32;
    const double u2 = static_cast<double>(b) * 0x1.0p-32;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double t = 6.283185307179586476925286766559 * u2;
    return {r * std::cos(t), r * std::sin(t)};
  }

  std::uint32_t next_u32() {
    if (buffered_ == 0) {
      buf_ = philox(seed_, counter_++);
      buffered_ = 4;
    }
    return buf_.v[4 - buffered_--];
  }
  std::uint64_t next_u64() {
    const std::uint64_t hi = next_u32();
    return hi << 32 | next_u32();
  }
  double uniform() {
    const std::uint32_t hi = next_u32();
    return u64_to_double(hi, next_u32());
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {
    const std::uint32_t a = next_u32();
    return box_muller(a, next_u32()).first;
  }
  // Uniform integer in [0, n) without modulo bias (Lemire's method).
  std::uint64_t randint(std::uint64_t n) {
    if (n <= 1) return 0;
    if (n <= 0xFFFFFFFFull) {
      std::uint64_t m = std::uint64_t{next_u32()} * n;
      auto l = static_cast<std::uint32_t>(m);
      if (l < n) {
        const auto t = static_cast<std::uint32_t>((0x100000000ull - n) % n);
        while (l < t) {
          m = std::uint64_t{next_u32()} * n;
          l = static_cast<std::uint32_t>(m);
        }
      }
      return m >> 32;
    }
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
    std::uint64_t x;
    do x = next_u64();
    while (x >= limit);
    return x % n;
  }

  // Bulk fills: element i uses block (start + i/4), so any split across threads gives the
  // same result as a serial loop. Each fill starts on a fresh block.
  template <class T>
  void fill_uniform(T* out, index_t n, double lo, double hi) {
    const std::uint64_t start = begin_bulk(n, sizeof(T) == 8 ? 2 : 4);
    const double scale = hi - lo;
    if constexpr (sizeof(T) == 8) {
#pragma omp parallel for schedule(static) if (n > 65536)
      for (index_t b = 0; b < (n + 1) / 2; ++b) {
        const Block k = philox(seed_, start + static_cast<std::uint64_t>(b));
        out[2 * b] = static_cast<T>(lo + scale * u64_to_double(k.v[0], k.v[1]));
        if (2 * b + 1 < n) out[2 * b + 1] = static_cast<T>(lo + scale * u64_to_double(k.v[2], k.v[3]));
      }
    } else {
#pragma omp parallel for schedule(static) if (n > 65536)
      for (index_t b = 0; b < (n + 3) / 4; ++b) {
        const Block k = philox(seed_, start + static_cast<std::uint64_t>(b));
        for (int j = 0; j < 4 && 4 * b + j < n; ++j)
          out[4 * b + j] = static_cast<T>(lo + scale * static_cast<double>(u32_to_float(k.v[j])));
      }
    }
  }
  template <class T>
  void fill_normal(T* out, index_t n, double mean, double stddev) {
    const std::uint64_t start = begin_bulk(n, 2);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (index_t b = 0; b < (n + 1) / 2; ++b) {
      const Block k = philox(seed_, start + static_cast<std::uint64_t>(b));
      // two normals per block, one from each 32-bit pair (keeps float and double streams equal)
      const double z0 = box_muller(k.v[0], k.v[1]).first;
      const double z1 = box_muller(k.v[2], k.v[3]).first;
      out[2 * b] = static_cast<T>(mean + stddev * z0);
      if (2 * b + 1 < n) out[2 * b + 1] = static_cast<T>(mean + stddev * z1);
    }
  }

 private:
  std::uint64_t begin_bulk(index_t n, index_t per_block) {
    buffered_ = 0;
    const std::uint64_t start = counter_;
    counter_ += static_cast<std::uint64_t>((n + per_block - 1) / per_block);
    return start;
  }

  std::uint64_t seed_ = 0;
  std::uint64_t counter_ = 0;
  Block buf_{};
  int buffered_ = 0;
};

}  // namespace bilin
