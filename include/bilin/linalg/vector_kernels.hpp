// bilin/linalg/vector_kernels.hpp — level-1/2 loops the eigensolvers are built from.
//
// Contract (all in namespace bilin::linalg::detail, raw row-major pointers, no checks):
// - dot(n, x, y)            Σ x[i]·y[i], accumulated in SIMD lanes of T, returned as double.
// - axpy(n, a, x, y)        y += a·x.
// - scal(n, a, x)           x *= a.
// - rot(n, x, y, c, s)      (x, y) <- (c·x − s·y, s·x + c·y), the Givens rotation of two rows.
// - gemv_n(m, n, A, lda, x, y)   y[i] = Σ_j A[i,j]·x[j]     (overwrites y, reads A row by row).
// - gemv_t_acc(m, n, A, lda, x, y) y[j] += Σ_i x[i]·A[i,j]   (y += Aᵀx, contiguous axpys).
// - row_sums<T>(z)          lane q = Σ of the lanes of z[q], for W = SIMD-width vectors z.
// - multi_dot(b, j, n, V, ldv, X, ldx, C, ldc)  C[i·ldc + t] = V_i · X_t for i < j, t < b
//   (rows V_i, X_t of n elements): the projection half of block Gram–Schmidt, every row of V
//   read once for all b vectors.
// - multi_sub(b, j, n, C, ldc, V, ldv, X, ldx)  X_t −= Σ_{i<j} C[i·ldc + t]·V_i for t < b: the
//   update half, register-blocked over 4 SIMD vectors × up to 4 rows of X.
// - symv_upper(n, A, lda, x, y)  y = S·x where S is the symmetric matrix whose upper triangle
//   (diagonal included) is stored in A; the strictly lower part of A is never read. One pass
//   over the triangle does both the row dot and the column axpy, so S is read once.
// Why SIMD by hand: GCC does not vectorize floating-point reductions without -ffast-math,
// and these loops are where the tridiagonalization and the Lanczos matvec spend their time.
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include "../core/simd.hpp"

#include "../core/shape.hpp"
#include "../kernels/gemm_pack.hpp"  // transpose16x16

namespace bilin::linalg::detail {

// The kernels below run on the one target core/simd.hpp chooses.
template <class T>
inline constexpr bool vk_simd = simd::vectorized<T>;

template <class T>
struct VK {
  using B = simd::batch<T>;
  static constexpr index_t W = static_cast<index_t>(B::size);
  static B load(const T* p) { return B::load_unaligned(p); }
  static void store(T* p, const B& v) { v.store_unaligned(p); }
  // a·b + c with one rounding; xsimd 8.1 only fuses on fma3 targets, so call AVX-512 directly.
  static B fma(const B& a, const B& b, const B& c) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_same_v<T, float>) return B(_mm512_fmadd_ps(a, b, c));
    else return B(_mm512_fmadd_pd(a, b, c));
#else
    return xsimd::fma(a, b, c);
#endif
  }
  // Horizontal sum through memory: xsimd::hadd's AVX-512 path trips GCC 12's
  // -Wmaybe-uninitialized inside avx512fintrin.h, and this costs the same.
  // max(m, |v|) by compare + blend: GCC 12's _mm512_max_ps (used by xsimd::max) trips
  // -Wmaybe-uninitialized inside avx512fintrin.h.
  static B absmax(const B& m, const B& v) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_same_v<T, float>) {
      const __m512 a = _mm512_abs_ps(v);
      return B(_mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, m, _CMP_GT_OQ), m, a));
    } else {
      const __m512d a = _mm512_abs_pd(v);
      return B(_mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, m, _CMP_GT_OQ), m, a));
    }
#else
    return xsimd::max(m, xsimd::abs(v));
#endif
  }
  static T hsum(const B& v) {
    alignas(64) T buf[B::size];
    v.store_aligned(buf);
    T s = T(0);
    for (std::size_t i = 0; i < B::size; ++i) s += buf[i];
    return s;
  }
};

template <class T>
double dot(index_t n, const T* x, const T* y) {
  index_t i = 0;
  double acc = 0;
  if constexpr (vk_simd<T>) {
    using V = VK<T>;
    constexpr index_t W = V::W;
    typename V::B a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
    for (; i + 4 * W <= n; i += 4 * W) {
      a0 = V::fma(V::load(x + i), V::load(y + i), a0);
      a1 = V::fma(V::load(x + i + W), V::load(y + i + W), a1);
      a2 = V::fma(V::load(x + i + 2 * W), V::load(y + i + 2 * W), a2);
      a3 = V::fma(V::load(x + i + 3 * W), V::load(y + i + 3 * W), a3);
    }
    for (; i + W <= n; i += W) a0 = V::fma(V::load(x + i), V::load(y + i), a0);
    acc = static_cast<double>(V::hsum((a0 + a1) + (a2 + a3)));
  }
  for (; i < n; ++i) acc += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  return acc;
}

template <class T>
void axpy(index_t n, T a, const T* x, T* y) {
  index_t i = 0;
  if constexpr (vk_simd<T>) {
    using V = VK<T>;
    const typename V::B av(a);
    for (; i + V::W <= n; i += V::W) V::store(y + i, V::fma(av, V::load(x + i), V::load(y + i)));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

template <class T>
void scal(index_t n, T a, T* x) {
  for (index_t i = 0; i < n; ++i) x[i] *= a;
}

template <class T>
void rot(index_t n, T* x, T* y, T c, T s) {
  index_t i = 0;
  if constexpr (vk_simd<T>) {
    using V = VK<T>;
    const typename V::B cv(c), sv(s);
    for (; i <= n - V::W; i += V::W) {  // not i + W <= n: GCC warns that i + W may overflow
      const auto xv = V::load(x + i), yv = V::load(y + i);
      V::store(x + i, V::fma(cv, xv, -(sv * yv)));
      V::store(y + i, V::fma(sv, xv, cv * yv));
    }
  }
  for (; i < n; ++i) {
    const T xv = x[i], yv = y[i];
    x[i] = c * xv - s * yv;
    y[i] = s * xv + c * yv;
  }
}

// Four rows share each load of x: the matvec is bound by streaming A, not by x.
template <class T>
void gemv_n(index_t m, index_t n, const T* A, index_t lda, const T* x, T* y) {
  index_t r = 0;
  if constexpr (vk_simd<T>) {
    using V = VK<T>;
    constexpr index_t W = V::W;
    for (; r + 4 <= m; r += 4) {
      const T* a0 = A + r * lda;
      const T* a1 = a0 + lda;
      const T* a2 = a1 + lda;
      const T* a3 = a2 + lda;
      typename V::B s0(T(0)), s1(T(0)), s2(T(0)), s3(T(0));
      index_t j = 0;
      for (; j + W <= n; j += W) {
        const auto xv = V::load(x + j);
        s0 = V::fma(V::load(a0 + j), xv, s0);
        s1 = V::fma(V::load(a1 + j), xv, s1);
        s2 = V::fma(V::load(a2 + j), xv, s2);
        s3 = V::fma(V::load(a3 + j), xv, s3);
      }
      T t0 = V::hsum(s0), t1 = V::hsum(s1), t2 = V::hsum(s2), t3 = V::hsum(s3);
      // tail: fewer than W elements (written with an explicit count: GCC 12 otherwise warns
      // about a 2^61-iteration loop it cannot rule out after inlining)
      for (index_t t = 0; t < n - j && t < W; ++t) {
        t0 += a0[j + t] * x[j + t];
        t1 += a1[j + t] * x[j + t];
        t2 += a2[j + t] * x[j + t];
        t3 += a3[j + t] * x[j + t];
      }
      y[r] = t0;
      y[r + 1] = t1;
      y[r + 2] = t2;
      y[r + 3] = t3;
    }
  }
  for (; r < m; ++r) y[r] = static_cast<T>(dot(n, A + r * lda, x));
}

// Lane q of the result = Σ of the lanes of z[q], for W = VK<T>::W vectors: a transpose-and-
// add tree (W − 1 adds) instead of W separate horizontal sums.
template <class T>
[[gnu::always_inline]] inline typename VK<T>::B row_sums(const typename VK<T>::B* z) {
  using B = typename VK<T>::B;
  constexpr index_t W = VK<T>::W;
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_same_v<T, float> && W == 16) {
    __m512 c[8], e[4], g[2];
    for (int r = 0; r < 8; ++r) {
      const __m512 a = z[r], b = z[r + 8];
      c[r] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    }
    for (int r = 0; r < 4; ++r)
      e[r] = _mm512_add_ps(_mm512_shuffle_f32x4(c[r], c[r + 4], 0x88), _mm512_shuffle_f32x4(c[r], c[r + 4], 0xDD));
    for (int r = 0; r < 2; ++r)
      g[r] = _mm512_add_ps(_mm512_shuffle_ps(e[r], e[r + 2], 0x44), _mm512_shuffle_ps(e[r], e[r + 2], 0xEE));
    const __m512 h = _mm512_add_ps(_mm512_shuffle_ps(g[0], g[1], 0x88), _mm512_shuffle_ps(g[0], g[1], 0xDD));
    // lane L of h holds the sum of z[p(L)]; p is its own inverse
    const __m512i p = _mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15);
    return B(_mm512_permutexvar_ps(p, h));
  } else if constexpr (std::is_same_v<T, double> && W == 8) {
    __m512d c[4], e[2];
    for (int r = 0; r < 4; ++r) {
      const __m512d a = z[r], b = z[r + 4];
      c[r] = _mm512_add_pd(_mm512_shuffle_f64x2(a, b, 0x44), _mm512_shuffle_f64x2(a, b, 0xEE));
    }
    for (int r = 0; r < 2; ++r)
      e[r] = _mm512_add_pd(_mm512_shuffle_f64x2(c[r], c[r + 2], 0x88), _mm512_shuffle_f64x2(c[r], c[r + 2], 0xDD));
    const __m512d h = _mm512_add_pd(_mm512_shuffle_pd(e[0], e[1], 0x00), _mm512_shuffle_pd(e[0], e[1], 0xFF));
    const __m512i p = _mm512_setr_epi64(0, 1, 4, 5, 2, 3, 6, 7);
    return B(_mm512_permutexvar_pd(p, h));
  } else
#endif
  {
    alignas(64) T s[W];
    for (index_t q = 0; q < W; ++q) s[q] = VK<T>::hsum(z[q]);
    return B::load_aligned(s);
  }
}

// In-register transpose of a W×W tile of T (W = VK<T>::W): rows in, columns out. AVX-512 and
// AVX2 by shuffles; other targets through a buffer.
template <class T>
[[gnu::always_inline]] inline void transpose_tile(typename VK<T>::B* r) {
  using B = typename VK<T>::B;
  constexpr index_t W = VK<T>::W;
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_same_v<T, float> && W == 16) {
    __m512 q[16];
    for (int i = 0; i < 16; ++i) q[i] = r[i];
    kernels::gemm_detail::transpose16x16(q);
    for (int i = 0; i < 16; ++i) r[i] = B(q[i]);
  } else if constexpr (std::is_same_v<T, double> && W == 8) {
    __m512d t[8], u[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; ++h) {  // rows 4h..4h+3: columns {0,4}, {2,6}, {1,5}, {3,7} pairwise
      u[4 * h] = _mm512_shuffle_f64x2(t[4 * h], t[4 * h + 2], 0x88);
      u[4 * h + 1] = _mm512_shuffle_f64x2(t[4 * h], t[4 * h + 2], 0xDD);
      u[4 * h + 2] = _mm512_shuffle_f64x2(t[4 * h + 1], t[4 * h + 3], 0x88);
      u[4 * h + 3] = _mm512_shuffle_f64x2(t[4 * h + 1], t[4 * h + 3], 0xDD);
    }
    const int col[4][2] = {{0, 4}, {2, 6}, {1, 5}, {3, 7}};
    for (int i = 0; i < 4; ++i) {
      r[col[i][0]] = B(_mm512_shuffle_f64x2(u[i], u[i + 4], 0x88));
      r[col[i][1]] = B(_mm512_shuffle_f64x2(u[i], u[i + 4], 0xDD));
    }
  } else
#elif XSIMD_WITH_AVX2
  if constexpr (std::is_same_v<T, float> && W == 8) {
    __m256 t[8], q[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; ++h) {  // per 128-bit lane: columns 0..3 of rows 4h..4h+3
      q[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
      q[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
      q[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
      q[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
      r[i] = B(_mm256_permute2f128_ps(q[i], q[i + 4], 0x20));
      r[i + 4] = B(_mm256_permute2f128_ps(q[i], q[i + 4], 0x31));
    }
  } else if constexpr (std::is_same_v<T, double> && W == 4) {
    const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = B(_mm256_permute2f128_pd(t0, t2, 0x20));
    r[1] = B(_mm256_permute2f128_pd(t1, t3, 0x20));
    r[2] = B(_mm256_permute2f128_pd(t0, t2, 0x31));
    r[3] = B(_mm256_permute2f128_pd(t1, t3, 0x31));
  } else
#endif
  {
    alignas(64) T buf[W * W];
    for (index_t i = 0; i < W; ++i) r[i].store_aligned(buf + i * W);
    for (index_t i = 0; i < W; ++i)
      for (index_t j = 0; j < i; ++j) std::swap(buf[i * W + j], buf[j * W + i]);
    for (index_t i = 0; i < W; ++i) r[i] = B::load_aligned(buf + i * W);
  }
}

// C[i·ldc + t] = V_i · X_t for i < j, t < B: R rows of V at a time against all B vectors,
// R·B ≤ W accumulators summed by one row_sums tree. At most 8 rows of V are live so their
// same-offset cache lines (rows n apart) fit the L1's associativity.
template <int B, class T>
void multi_dot_fixed(index_t j, index_t n, const T* V, index_t ldv, const T* X, index_t ldx, T* C, index_t ldc) {
  index_t i = 0;
  if constexpr (vk_simd<T>) {
    using Vk = VK<T>;
    using Bt = typename Vk::B;
    constexpr index_t W = Vk::W;
    constexpr index_t R = std::min<index_t>(8, W / B);
    if constexpr (R >= 1) {
      for (; i + R <= j; i += R) {
        Bt z[W];
        for (index_t q = 0; q < W; ++q) z[q] = Bt(T(0));
        index_t col = 0;
        for (; col + W <= n; col += W) {
          Bt x[B];
#pragma GCC unroll 4
          for (int t = 0; t < B; ++t) x[t] = Vk::load(X + t * ldx + col);
#pragma GCC unroll 8
          for (index_t r = 0; r < R; ++r) {
            const Bt v = Vk::load(V + (i + r) * ldv + col);
#pragma GCC unroll 4
            for (int t = 0; t < B; ++t) z[r * B + t] = Vk::fma(v, x[t], z[r * B + t]);
          }
        }
        alignas(64) T s[W];
        row_sums<T>(z).store_aligned(s);
        for (index_t r = 0; r < R; ++r)
          for (int t = 0; t < B; ++t) {
            T acc = s[r * B + t];
            for (index_t c = col; c < n; ++c) acc += V[(i + r) * ldv + c] * X[t * ldx + c];
            C[(i + r) * ldc + t] = acc;
          }
      }
    }
  }
  for (; i < j; ++i)
    for (int t = 0; t < B; ++t) C[i * ldc + t] = static_cast<T>(dot(n, V + i * ldv, X + t * ldx));
}

// X_t −= Σ_{i<j} C[i·ldc + t]·V_i for t < B: a chunk of 4 SIMD vectors of every X_t stays in
// registers while the j rows of V stream past.
template <int B, class T>
void multi_sub_fixed(index_t j, index_t n, const T* C, index_t ldc, const T* V, index_t ldv, T* X, index_t ldx) {
  index_t col = 0;
  if constexpr (vk_simd<T>) {
    using Vk = VK<T>;
    using Bt = typename Vk::B;
    constexpr index_t W = Vk::W;
    for (; col + 4 * W <= n; col += 4 * W) {
      Bt acc[4 * B];
#pragma GCC unroll 4
      for (int t = 0; t < B; ++t)
        for (int u = 0; u < 4; ++u) acc[t * 4 + u] = Vk::load(X + t * ldx + col + u * W);
      for (index_t i = 0; i < j; ++i) {
        const T* v = V + i * ldv + col;
        const Bt v0 = Vk::load(v), v1 = Vk::load(v + W), v2 = Vk::load(v + 2 * W), v3 = Vk::load(v + 3 * W);
#pragma GCC unroll 4
        for (int t = 0; t < B; ++t) {
          const Bt m(-C[i * ldc + t]);
          acc[t * 4] = Vk::fma(m, v0, acc[t * 4]);
          acc[t * 4 + 1] = Vk::fma(m, v1, acc[t * 4 + 1]);
          acc[t * 4 + 2] = Vk::fma(m, v2, acc[t * 4 + 2]);
          acc[t * 4 + 3] = Vk::fma(m, v3, acc[t * 4 + 3]);
        }
      }
#pragma GCC unroll 4
      for (int t = 0; t < B; ++t)
        for (int u = 0; u < 4; ++u) Vk::store(X + t * ldx + col + u * W, acc[t * 4 + u]);
    }
  }
  for (int t = 0; t < B; ++t)
    for (index_t i = 0; i < j; ++i) {
      const T m = C[i * ldc + t];
      for (index_t c = col; c < n; ++c) X[t * ldx + c] -= m * V[i * ldv + c];
    }
}

// f(std::integral_constant<int, B>{}, t0) for t0 = 0, 4, 8, … < b with B = min(4, b − t0), so
// the fixed-width kernels see their vector count at compile time.
template <class F>
void in_groups_of_4(index_t b, F&& f) {
  for (index_t t0 = 0; t0 < b; t0 += 4) {
    switch (std::min<index_t>(4, b - t0)) {
      case 1: f(std::integral_constant<int, 1>{}, t0); break;
      case 2: f(std::integral_constant<int, 2>{}, t0); break;
      case 3: f(std::integral_constant<int, 3>{}, t0); break;
      default: f(std::integral_constant<int, 4>{}, t0); break;
    }
  }
}

template <class T>
void multi_dot(index_t b, index_t j, index_t n, const T* V, index_t ldv, const T* X, index_t ldx, T* C, index_t ldc) {
  in_groups_of_4(b, [&](auto B, index_t t0) { multi_dot_fixed<B()>(j, n, V, ldv, X + t0 * ldx, ldx, C + t0, ldc); });
}

template <class T>
void multi_sub(index_t b, index_t j, index_t n, const T* C, index_t ldc, const T* V, index_t ldv, T* X, index_t ldx) {
  in_groups_of_4(b, [&](auto B, index_t t0) { multi_sub_fixed<B()>(j, n, C + t0, ldc, V, ldv, X + t0 * ldx, ldx); });
}

template <class T>
void gemv_t_acc(index_t m, index_t n, const T* A, index_t lda, const T* x, T* y) {
  index_t r = 0;
  if constexpr (vk_simd<T>) {
    using V = VK<T>;
    for (; r + 2 <= m; r += 2) {
      const T* a0 = A + r * lda;
      const T* a1 = a0 + lda;
      const typename V::B x0(x[r]), x1(x[r + 1]);
      index_t j = 0;
      for (; j + V::W <= n; j += V::W)
        V::store(y + j, V::fma(x1, V::load(a1 + j), V::fma(x0, V::load(a0 + j), V::load(y + j))));
      for (; j < n; ++j) y[j] += x[r] * a0[j] + x[r + 1] * a1[j];
    }
  }
  for (; r < m; ++r) axpy(n, x[r], A + r * lda, y);
}

template <class T>
void symv_upper(index_t n, const T* A, index_t lda, const T* x, T* y) {
  for (index_t i = 0; i < n; ++i) y[i] = T(0);
  index_t i = 0;
  // Two rows per pass: y[k] gets both rows' contributions with one load/store.
  for (; i + 2 <= n; i += 2) {
    const T* a0 = A + i * lda;
    const T* a1 = a0 + lda;
    const T x0 = x[i], x1 = x[i + 1];
    T t0 = a0[i] * x0 + a0[i + 1] * x1;
    T t1 = a0[i + 1] * x0 + a1[i + 1] * x1;
    index_t k = i + 2;
    if constexpr (vk_simd<T>) {
      using V = VK<T>;
      const typename V::B xv0(x0), xv1(x1);
      typename V::B s0(T(0)), s1(T(0));
      for (; k + V::W <= n; k += V::W) {
        const auto r0 = V::load(a0 + k), r1 = V::load(a1 + k), xk = V::load(x + k);
        V::store(y + k, V::fma(r1, xv1, V::fma(r0, xv0, V::load(y + k))));
        s0 = V::fma(r0, xk, s0);
        s1 = V::fma(r1, xk, s1);
      }
      t0 += V::hsum(s0);
      t1 += V::hsum(s1);
    }
    for (; k < n; ++k) {
      y[k] += a0[k] * x0 + a1[k] * x1;
      t0 += a0[k] * x[k];
      t1 += a1[k] * x[k];
    }
    y[i] += t0;
    y[i + 1] += t1;
  }
  if (i < n) y[i] += A[i * lda + i] * x[i];
}

}  // namespace bilin::linalg::detail
