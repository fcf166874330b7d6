// bilin/kernels/gemm_bf16_pack.hpp — round blocks of op(A) and op(B) to bf16 and pack them in
// the layouts the AVX512-BF16 and AMX micro-kernels read (needs AVX512BW + AVX512-BF16).
//
// Contract: both instructions multiply bf16 *pairs*: a 32-bit word holds the values of two
// consecutive k (k = 2p in the low half, 2p + 1 in the high half). For an operand X
// (X = op(A) with x a row i, or X = op(B)ᵀ with x a column j) word(x, p) pairs X(x, 2p) and
// X(x, 2p + 1). Every packer reads a [k0, k0 + kb) × [x0, x0 + nx) block of the fp32 source,
// rounds with the AVX512-BF16 conversion (ties to even, denormals to zero: exactly
// core/bf16.hpp's bf16_bits), and writes zeros for every k ≥ kb and x ≥ nx up to the full
// panel, so kernels run on whole 32-k blocks and whole panels. Panels hold
// ceil(kb / 32) blocks of 16 pairs:
// - pack_pairs_interleaved<X>: word(x, p) at dst[p·X + x] (the AVX512-BF16 layout: A panels
//   with X = MR for a 32-bit broadcast per row, B panels with X = NR for vector loads);
// - pack_tiles<true>: AMX A tiles: block t, half h (x in [16h, 16h + 16)) is a contiguous
//   16 × 16-word tile, row x: dst[(2t + h)·256 + (x mod 16)·16 + p mod 16];
// - pack_tiles<false>: AMX B tiles: the same tiles with rows p: dst[(2t + h)·256 + (p mod 16)·16
//   + x mod 16] (AMX's "VNNI" layout of B).
// The source: k_contig ⇒ X(x, k) = src[x·ld + k] (A with Trans::N, B with Trans::T), else
// X(x, k) = src[k·ld + x]. Both orientations run 16 × 16 word blocks through registers.
#pragma once
#include <bit>
#include <cstdint>

#include "../core/simd.hpp"
#include "gemm_pack.hpp"

#if defined(__AVX512BF16__) && defined(__AVX512BW__)
#define BILIN_HAVE_AVX512BF16 1

namespace bilin::kernels::gemm_bf16_detail {

inline __mmask16 first_lanes(index_t n) {
  return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// 16 × 16 transpose of 32-bit words, through gemm_pack.hpp's float transpose.
inline void transpose_words(__m512i w[16]) {
  __m512 r[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_castsi512_ps(w[i]);
  gemm_detail::transpose16x16(r);
  for (int i = 0; i < 16; ++i) w[i] = _mm512_castps_si512(r[i]);
}

// 16 x × 16 pairs of words: x in [0, nx), k in [0, nk) read, the rest zero. pair_rows:
// out[p] holds the words of pair p for x = 0..15; otherwise out[x] holds row x's 16 pairs.
inline void fetch_words(const float* src, index_t ld, bool k_contig, index_t nx, index_t nk, bool pair_rows,
                        __m512i out[16]) {
  if (k_contig) {
    const __mmask16 lo = first_lanes(nk), hi = first_lanes(nk - 16);
    for (int x = 0; x < 16; ++x) {
      if (x < nx) {
        const float* s = src + x * ld;
        out[x] = std::bit_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, s + 16), _mm512_maskz_loadu_ps(lo, s)));
      } else {
        out[x] = _mm512_setzero_si512();
      }
    }
    if (pair_rows) transpose_words(out);
    return;
  }
  const __mmask16 m = first_lanes(nx);
  // word x = (element x of the even row, element x of the odd row)
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                              22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (int p = 0; p < 16; ++p) {
    const __m512 r0 = 2 * p < nk ? _mm512_maskz_loadu_ps(m, src + 2 * p * ld) : _mm512_setzero_ps();
    const __m512 r1 = 2 * p + 1 < nk ? _mm512_maskz_loadu_ps(m, src + (2 * p + 1) * ld) : _mm512_setzero_ps();
    out[p] = _mm512_permutexvar_epi16(interleave, std::bit_cast<__m512i>(_mm512_cvtne2ps_pbh(r1, r0)));
  }
  if (!pair_rows) transpose_words(out);
}

// Pointer to X(x0, k0) in the source.
inline const float* block_origin(const float* src, index_t ld, bool k_contig, index_t x0, index_t k0) {
  return k_contig ? src + x0 * ld + k0 : src + k0 * ld + x0;
}

// The pair count of a packed k slice of kb values: whole 32-k blocks.
inline index_t packed_pairs(index_t kb) { return (kb + 31) / 32 * 16; }

template <int X>
void pack_pairs_interleaved(const float* src, index_t ld, bool k_contig, index_t x0, index_t nx, index_t k0,
                            index_t kb, std::uint32_t* dst) {
  static_assert(X <= 32, "a panel is at most two 16-word halves wide");
  __m512i w[16];
  const index_t pairs = packed_pairs(kb);
  for (index_t t = 0; t * 16 < pairs; ++t) {
    const index_t kk = k0 + 32 * t, nk = kb - 32 * t;
    for (int h = 0; h * 16 < X; ++h) {
      const index_t hx = nx - 16 * h;
      if (hx > 0) fetch_words(block_origin(src, ld, k_contig, x0 + 16 * h, kk), ld, k_contig, hx, nk, true, w);
      else
        for (auto& v : w) v = _mm512_setzero_si512();
      const __mmask16 keep = first_lanes(X - 16 * h);
      for (int p = 0; p < 16; ++p) _mm512_mask_storeu_epi32(dst + (16 * t + p) * X + 16 * h, keep, w[p]);
    }
  }
}

template <bool RowsAreX>
void pack_tiles(const float* src, index_t ld, bool k_contig, index_t x0, index_t nx, index_t k0, index_t kb,
                std::uint32_t* dst) {
  __m512i w[16];
  const index_t blocks = packed_pairs(kb) / 16;
  for (index_t t = 0; t < blocks; ++t) {
    const index_t kk = k0 + 32 * t, nk = kb - 32 * t;
    for (int h = 0; h < 2; ++h) {
      std::uint32_t* tile = dst + (2 * t + h) * 256;
      const index_t hx = nx - 16 * h;
      if (hx > 0) fetch_words(block_origin(src, ld, k_contig, x0 + 16 * h, kk), ld, k_contig, hx, nk, !RowsAreX, w);
      else
        for (auto& v : w) v = _mm512_setzero_si512();
      for (int r = 0; r < 16; ++r) _mm512_store_si512(tile + 16 * r, w[r]);
    }
  }
}

}  // namespace bilin::kernels::gemm_bf16_detail
#endif
