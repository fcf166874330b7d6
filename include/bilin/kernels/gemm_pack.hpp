// bilin/kernels/gemm_pack.hpp — copy blocks of op(A) and op(B) into the micro-kernel's layout.
//
// Contract:
// - pack_a(ta, A, lda, i0, mc, p0, kc, dst) copies rows [i0, i0+mc) × columns [p0, p0+kc) of
//   op(A) into dst and returns the stride `as` the micro-kernel must use. The copy keeps the
//   stored orientation, so packing A is a memcpy per stored row, never a transpose:
//   * ta == N (A stored M×K): element (i, k) lands at dst[i·as + k], as = padded(kc);
//   * ta == T (A stored K×M): element (i, k) lands at dst[k·as + i], as = padded(mc);
//   padded(n) rounds n up to 16 and adds 16, so consecutive rows start one cache line apart
//   in the L1 set index instead of aliasing onto one set when n is a power of two.
//   dst needs packed_a_size(mc, kc) elements, 64-byte aligned. For ta == N the driver skips
//   the copy altogether (the kernel reads A in place with as = lda) when a_rows_streamable.
// - pack_b<NR>(tb, B, ldb, p0, kc, j0, q0, q1, nc, dst) packs micro-panels q0..q1-1 of
//   columns [j0, j0+nc) × rows [p0, p0+kc) of op(B); panel q at dst + q·NR·kc, k-major with
//   NR values per k, the columns past nc filled with zeros. dst must be 64-byte aligned.
//   op(B) = N copies whole source rows (k outer); op(B) = T transposes, for float on AVX-512
//   through in-register 16×16 transposes, otherwise element by element.
// - Trans::N / Trans::T address the stored matrix exactly as gemm.hpp documents.
#pragma once
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "../core/simd.hpp"
#include "gemm_trans.hpp"

namespace bilin::kernels::gemm_detail {

#if defined(__AVX512F__)
// In-register 16×16 float transpose: r[i] holds row i on entry and column i on exit.
inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
      t[8 * i + 4 + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0xdd);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd);
  }
}

// Bᵀ panel of NR (a multiple of 16) stored rows → k-major: 16×16 blocks through registers.
// Returns the number of k handled (a multiple of 16); the caller finishes the rest.
template <int NR>
index_t pack_b_trans_avx512(const float* s, index_t ldb, index_t kc, float* d) {
  const index_t k16 = kc / 16 * 16;
  __m512 r[16];
  for (index_t k = 0; k < k16; k += 16)
    for (int h = 0; h < NR; h += 16) {
      for (int c = 0; c < 16; ++c) r[c] = _mm512_loadu_ps(s + (h + c) * ldb + k);
      transpose16x16(r);
      for (int kk = 0; kk < 16; ++kk) _mm512_store_ps(d + (k + kk) * NR + h, r[kk]);
    }
  return k16;
}
#endif

inline index_t packed_a_stride(index_t n) { return (n + 15) / 16 * 16 + 16; }
inline index_t packed_a_size(index_t mc, index_t kc) {
  return std::max(mc * packed_a_stride(kc), kc * packed_a_stride(mc));
}

// Whether the micro-kernel may broadcast straight from the rows of an op(A) = N operand instead
// of a packed copy: true unless `rows` rows `stride_bytes` apart crowd more than 4 into one
// L1 set (64 sets of 64-byte lines, i.e. a 4 KiB period, on every current x86 L1d), where
// they would evict each other before each line's 16 uses. A power-of-two lda ≥ 1024 floats
// maps all rows onto one set; 784 or 1000 spreads them.
inline bool a_rows_streamable(index_t stride_bytes, int rows) {
  int count[64] = {};
  for (int i = 0; i < rows; ++i)
    if (++count[(i * stride_bytes / 64) % 64] > 4) return false;
  return true;
}

template <class T>
index_t pack_a(Trans ta, const T* A, index_t lda, index_t i0, index_t mc, index_t p0, index_t kc, T* dst) {
  if (ta == Trans::N) {
    const index_t as = packed_a_stride(kc);
    for (index_t r = 0; r < mc; ++r) std::memcpy(dst + r * as, A + (i0 + r) * lda + p0, sizeof(T) * kc);
    return as;
  }
  const index_t as = packed_a_stride(mc);
  for (index_t k = 0; k < kc; ++k) std::memcpy(dst + k * as, A + (p0 + k) * lda + i0, sizeof(T) * mc);
  return as;
}

template <int NR, class T>
void pack_b(Trans tb, const T* B, index_t ldb, index_t p0, index_t kc, index_t j0, index_t q0, index_t q1, index_t nc,
            T* dst) {
  if (q0 >= q1) return;
  const index_t qfull = std::min(q1, nc / NR);  // panels without a right edge
  if (tb == Trans::N) {
    for (index_t k = 0; k < kc; ++k) {
      const T* s = B + (p0 + k) * ldb + j0;
      for (index_t q = q0; q < qfull; ++q) {
        T* d = dst + q * NR * kc + k * NR;
        for (int c = 0; c < NR; ++c) d[c] = s[q * NR + c];
      }
      for (index_t q = std::max(q0, qfull); q < q1; ++q) {
        T* d = dst + q * NR * kc + k * NR;
        const int nr = static_cast<int>(nc - q * NR);
        for (int c = 0; c < nr; ++c) d[c] = s[q * NR + c];
        for (int c = nr; c < NR; ++c) d[c] = T(0);
      }
    }
    return;
  }
  for (index_t q = q0; q < q1; ++q) {
    const index_t j = q * NR;
    const int nr = static_cast<int>(std::min<index_t>(NR, nc - j));
    T* d = dst + q * NR * kc;
    const T* s = B + (j0 + j) * ldb + p0;
    index_t k = 0;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float> && NR % 16 == 0)
      if (nr == NR) k = pack_b_trans_avx512<NR>(s, ldb, kc, d);
    d += k * NR;
#endif
    for (; k < kc; ++k, d += NR) {
      for (int c = 0; c < nr; ++c) d[c] = s[c * ldb + k];
      for (int c = nr; c < NR; ++c) d[c] = T(0);
    }
  }
}

}  // namespace bilin::kernels::gemm_detail
