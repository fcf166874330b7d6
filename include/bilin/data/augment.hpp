// bilin/data/augment.hpp — the random pieces of the image pipeline: fast Gaussian noise and
// random translation / rotation, all counter-based (Philox) so any sample's randomness is a
// pure function of (key, counter) and batches can be built in parallel, reproducibly.
//
// Contract:
// - philox16(key, ctr, a, b, c, d): the four 32-bit words of the 16 Philox4x32-10 blocks
//   ctr .. ctr+15 of stream `key` — identical to Generator::philox(key, ctr + i), written as
//   plain lane loops the compiler vectorizes.
// - normal_fill(out, n, key, ctr, mean, std): n normal floats from normal_blocks(n) blocks
//   starting at ctr (16 blocks per 64 values). Each block (a, b, c, d) gives two Box–Muller
//   pairs in single precision: u1 = (hi24(a) + 1)·2⁻²⁴ ∈ (0, 1], u2 = hi24(b)·2⁻²⁴,
//   r = √(−2 ln u1), values r·cos(2πu2), r·sin(2πu2) (same with c, d). Tails are cut at
//   |z| ≤ 5.77 (u1 ≥ 2⁻²⁴), like other float Box–Muller generators. The layout of values
//   inside a group of 64 is fixed, so the result depends only on (key, ctr, n).
// - derive_key(seed, stream): a 64-bit key for one named random stream of a run (splitmix64),
//   so shuffling, noise and geometry never share Philox counters.
// - resample_affine(src, H, W, dst, dy, dx, angle_deg): dst (float, pixel units) = src (uint8)
//   rotated by angle_deg about the image centre and then shifted by (dy, dx) pixels, bilinear
//   interpolation, zero outside. Angle 0 with integer shifts copies pixels exactly.
// - The App. B ablation augmentations (each a pure function of its arguments, on one H×W image
//   of floats, in place unless said otherwise):
//   salt_pepper(x, n, key, ctr, p, lo, hi): pixel j uses word j%4 of Philox block ctr + j/4,
//     u = u32_to_float(word); u < p/2 → lo ("pepper"), p/2 ≤ u < p → hi ("salt"), else kept.
//     Consumes salt_pepper_blocks(n) blocks.
//   smooth_noise(x, H, W, key, ctr, cell, amp): adds Perlin-style value noise: a lattice of
//     uniform values in [−amp, amp] every `cell` pixels (lattice point (i, j) at pixel
//     (i·cell, j·cell), value from word (i·L + j)%4 of block ctr + (i·L + j)/4, L = lattice
//     width), interpolated between lattice points with the smoothstep weight 3t² − 2t³ in each
//     direction: exact lattice values on lattice pixels, |noise| ≤ amp everywhere, and no
//     isolated-pixel content. Consumes smooth_noise_blocks(H, W, cell) blocks.
//   gaussian_blur(src, H, W, sigma, dst): dst = src convolved with the normalized 2-D Gaussian
//     of std sigma truncated at radius ⌈3σ⌉ (separable: rows, then columns), zero padding
//     outside the image; sigma ≤ 0 copies. src and dst must not overlap.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>
#include "../core/simd.hpp"

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/shape.hpp"

namespace bilin::data {

inline std::uint64_t derive_key(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline void philox16(std::uint64_t key, std::uint64_t ctr, std::uint32_t* a, std::uint32_t* b, std::uint32_t* c,
                     std::uint32_t* d) {
  alignas(64) std::uint32_t c0[16], c1[16], c2[16], c3[16];
  for (int i = 0; i < 16; ++i) {
    const std::uint64_t k = ctr + static_cast<std::uint64_t>(i);
    c0[i] = static_cast<std::uint32_t>(k);
    c1[i] = static_cast<std::uint32_t>(k >> 32);
    c2[i] = 0;
    c3[i] = 0;
  }
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    // Kept as a loop (not fully unrolled) so it is vectorized across the 16 blocks.
#pragma GCC unroll 1
    for (int i = 0; i < 16; ++i) {
      const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c0[i];
      const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c2[i];
      const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1[i] ^ k0;
      const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3[i] ^ k1;
      c1[i] = static_cast<std::uint32_t>(p1);
      c3[i] = static_cast<std::uint32_t>(p0);
      c0[i] = n0;
      c2[i] = n2;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  for (int i = 0; i < 16; ++i) {
    a[i] = c0[i];
    b[i] = c1[i];
    c[i] = c2[i];
    d[i] = c3[i];
  }
}

// Philox blocks consumed by normal_fill for n values.
inline std::uint64_t normal_blocks(index_t n) { return static_cast<std::uint64_t>((n + 63) / 64) * 16; }

namespace detail {
// 64 standard normals from the 16 blocks at ctr (the fixed in-group layout described above).
inline void normal_group64(std::uint64_t key, std::uint64_t ctr, float* out) {
  alignas(64) std::uint32_t w[4][16];
  philox16(key, ctr, w[0], w[1], w[2], w[3]);
  alignas(64) float u1[32], u2[32];
  for (int i = 0; i < 16; ++i) {
    u1[i] = static_cast<float>((w[0][i] >> 8) + 1) * 0x1.0p-24f;
    u2[i] = static_cast<float>(w[1][i] >> 8) * 0x1.0p-24f;
    u1[16 + i] = static_cast<float>((w[2][i] >> 8) + 1) * 0x1.0p-24f;
    u2[16 + i] = static_cast<float>(w[3][i] >> 8) * 0x1.0p-24f;
  }
  using B = simd::batch<float>;
  constexpr int W = static_cast<int>(B::size);
  static_assert(32 % W == 0, "SIMD width must divide 32");
  for (int j = 0; j < 32; j += W) {
    const B r = xsimd::sqrt(B(-2.0f) * xsimd::log(B::load_aligned(u1 + j)));
    const auto sc = xsimd::sincos(B(6.28318530717958647692f) * B::load_aligned(u2 + j));
    // group layout: [0,32) cosines, [32,64) sines, lane order as generated
    (r * sc.second).store_unaligned(out + j);
    (r * sc.first).store_unaligned(out + 32 + j);
  }
}
}  // namespace detail

// out[i] = mean + std·z_i for i < n.
inline void normal_fill(float* out, index_t n, std::uint64_t key, std::uint64_t ctr, float mean, float stddev) {
  alignas(64) float tmp[64];
  index_t i = 0;
  for (; i + 64 <= n; i += 64, ctr += 16) {
    detail::normal_group64(key, ctr, out + i);
    for (int j = 0; j < 64; ++j) out[i + j] = mean + stddev * out[i + j];
  }
  if (i < n) {
    detail::normal_group64(key, ctr, tmp);
    for (index_t j = 0; i + j < n; ++j) out[i + j] = mean + stddev * tmp[j];
  }
}

// dst += std·z (mean 0), fused so the noise never needs its own buffer.
inline void add_normal_noise(float* dst, index_t n, std::uint64_t key, std::uint64_t ctr, float stddev) {
  alignas(64) float tmp[64];
  for (index_t i = 0; i < n; i += 64, ctr += 16) {
    detail::normal_group64(key, ctr, tmp);
    const index_t m = std::min<index_t>(64, n - i);
    for (index_t j = 0; j < m; ++j) dst[i + j] += stddev * tmp[j];
  }
}

inline void resample_affine(const std::uint8_t* src, index_t H, index_t W, float* dst, double dy, double dx,
                            double angle_deg) {
  const double a = angle_deg * 3.14159265358979323846 / 180.0;
  const double ca = std::cos(a), sa = std::sin(a);
  const double cy = (static_cast<double>(H) - 1) / 2, cx = (static_cast<double>(W) - 1) / 2;
  auto pix = [&](index_t y, index_t x) -> double {
    return (y >= 0 && y < H && x >= 0 && x < W) ? static_cast<double>(src[y * W + x]) : 0.0;
  };
  for (index_t y = 0; y < H; ++y)
    for (index_t x = 0; x < W; ++x) {
      // inverse map: undo the shift, then rotate back by −angle about the centre
      const double ty = static_cast<double>(y) - dy - cy, tx = static_cast<double>(x) - dx - cx;
      const double sy = ca * ty - sa * tx + cy, sx = sa * ty + ca * tx + cx;
      const double fy = std::floor(sy), fx = std::floor(sx);
      const double wy = sy - fy, wx = sx - fx;
      const index_t y0 = static_cast<index_t>(fy), x0 = static_cast<index_t>(fx);
      double v = (1 - wy) * ((1 - wx) * pix(y0, x0) + (wx ? wx * pix(y0, x0 + 1) : 0.0));
      if (wy) v += wy * ((1 - wx) * pix(y0 + 1, x0) + (wx ? wx * pix(y0 + 1, x0 + 1) : 0.0));
      dst[y * W + x] = static_cast<float>(v);
    }
}

// Philox blocks salt_pepper consumes for n pixels.
inline std::uint64_t salt_pepper_blocks(index_t n) { return static_cast<std::uint64_t>((n + 3) / 4); }

inline void salt_pepper(float* x, index_t n, std::uint64_t key, std::uint64_t ctr, double p, float lo, float hi) {
  BILIN_CHECK(p >= 0 && p <= 1, "salt_pepper", "probability must be in [0, 1], got ", p);
  const float half = static_cast<float>(p / 2), full = static_cast<float>(p);
  for (index_t j = 0; j < n; j += 4) {
    const Generator::Block b = Generator::philox(key, ctr + static_cast<std::uint64_t>(j / 4));
    for (index_t i = 0; i < 4 && j + i < n; ++i) {
      const float u = Generator::u32_to_float(b.v[i]);
      if (u < half) x[j + i] = lo;
      else if (u < full) x[j + i] = hi;
    }
  }
}

// Lattice points per axis for an image side of `side` pixels with spacing `cell`.
inline index_t smooth_lattice(index_t side, index_t cell) { return (side - 1 + cell - 1) / cell + 1; }
inline std::uint64_t smooth_noise_blocks(index_t H, index_t W, index_t cell) {
  return static_cast<std::uint64_t>((smooth_lattice(H, cell) * smooth_lattice(W, cell) + 3) / 4);
}

inline void smooth_noise(float* x, index_t H, index_t W, std::uint64_t key, std::uint64_t ctr, index_t cell, double amp) {
  BILIN_CHECK(cell >= 1 && H >= 1 && W >= 1, "smooth_noise", "cell ", cell, " and image ", H, "x", W,
              " must be positive");
  const index_t LH = smooth_lattice(H, cell), LW = smooth_lattice(W, cell);
  std::vector<float> lat(static_cast<std::size_t>(LH * LW));
  for (index_t k = 0; k < LH * LW; k += 4) {
    const Generator::Block b = Generator::philox(key, ctr + static_cast<std::uint64_t>(k / 4));
    for (index_t i = 0; i < 4 && k + i < LH * LW; ++i)
      lat[static_cast<std::size_t>(k + i)] =
          static_cast<float>(amp * (2.0 * static_cast<double>(Generator::u32_to_float(b.v[i])) - 1.0));
  }
  auto fade = [](double t) { return t * t * (3 - 2 * t); };
  for (index_t y = 0; y < H; ++y) {
    const index_t iy = y / cell;
    const double ty = fade(static_cast<double>(y - iy * cell) / static_cast<double>(cell));
    const index_t iy1 = std::min(iy + 1, LH - 1);
    for (index_t xx = 0; xx < W; ++xx) {
      const index_t ix = xx / cell;
      const double tx = fade(static_cast<double>(xx - ix * cell) / static_cast<double>(cell));
      const index_t ix1 = std::min(ix + 1, LW - 1);
      const double top = (1 - tx) * lat[iy * LW + ix] + tx * lat[iy * LW + ix1];
      const double bot = (1 - tx) * lat[iy1 * LW + ix] + tx * lat[iy1 * LW + ix1];
      x[y * W + xx] += static_cast<float>((1 - ty) * top + ty * bot);
    }
  }
}

inline void gaussian_blur(const float* src, index_t H, index_t W, double sigma, float* dst) {
  if (!(sigma > 0)) {
    std::copy_n(src, H * W, dst);
    return;
  }
  const index_t r = static_cast<index_t>(std::ceil(3 * sigma));
  std::vector<double> k(static_cast<std::size_t>(2 * r + 1));
  double ks = 0;
  for (index_t i = -r; i <= r; ++i) ks += k[static_cast<std::size_t>(i + r)] = std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma));
  for (double& v : k) v /= ks;
  std::vector<double> rows(static_cast<std::size_t>(H * W), 0.0);
  for (index_t y = 0; y < H; ++y)
    for (index_t x = 0; x < W; ++x) {
      double a = 0;
      for (index_t i = std::max(-r, -x); i <= std::min(r, W - 1 - x); ++i) a += k[static_cast<std::size_t>(i + r)] * src[y * W + x + i];
      rows[static_cast<std::size_t>(y * W + x)] = a;
    }
  for (index_t y = 0; y < H; ++y)
    for (index_t x = 0; x < W; ++x) {
      double a = 0;
      for (index_t i = std::max(-r, -y); i <= std::min(r, H - 1 - y); ++i)
        a += k[static_cast<std::size_t>(i + r)] * rows[static_cast<std::size_t>((y + i) * W + x)];
      dst[y * W + x] = static_cast<float>(a);
    }
}

}  // namespace bilin::data
