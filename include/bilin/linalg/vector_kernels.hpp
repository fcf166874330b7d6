// bilin/linalg/vector_kernels.hpp — level-1/2 loops the eigensolvers are built from.
//
// Contract (all in namespace bilin::linalg::detail, raw row-major pointers, no checks):
// - dot(n, x, y)            Σ x[i]·y[i], accumulated in SIMD lanes of T, returned as double.
// - axpy(n, a, x, y)        y += a·x.
// - scal(n, a, x)           x *= a.
// - rot(n, x, y, c, s)      (x, y) <- (c·x − s·y, s·x + c·y), the Givens rotation of two rows.
// - gemv_n(m, n, A, lda, x, y)   y[i] = Σ_j A[i,j]·x[j]     (overwrites y, reads A row by row).
// - gemv_t_acc(m, n, A, lda, x, y) y[j] += Σ_i x[i]·A[i,j]   (y += Aᵀx, contiguous axpys).
// - gemv_multi(b, rows, cols, A, lda, X, ldx, Y, ldy)  Y[c][i] = Σ_j A[i,j]·X[c][j] for c < b,
//   i < rows: b matvecs with A (rows×cols) streamed once; X and Y hold one vector per ROW. This
//   is what makes block Lanczos on a dense matrix cheap: the matrix read, not the arithmetic,
//   bounds a gemv.
// - symm_multi(b, n, S, lds, X, ldx, Y, ldy)  Y[c] = S·X[c] for a SYMMETRIC n×n S (rows of
//   X, Y are vectors), in axpy form (row j of S = column j): Y[c] += X[c][j]·S[j,:]. No
//   horizontal sums, 4 rows × 4 vectors per tile; the fastest dense block matvec here.
// - sub_multi(b, j, n, Ct, ldc, V, W)   W[t][:] −= Σ_{i<j} Ct[t][i]·V[i][:] for t < b (rows of
//   n); the update half of block Gram–Schmidt, register-blocked over 2 rows × 4 vectors.
// - symv_upper(n, A, lda, x, y)  y = S·x where S is the symmetric matrix whose upper triangle
//   (diagonal included) is stored in A; the strictly lower part of A is never read. One pass
//   over the triangle does both the row dot and the column axpy, so S is read once.
// Why SIMD by hand: GCC does not vectorize floating-point reductions without -ffast-math,
// and these loops are where the tridiagonalization and the Lanczos matvec spend their time.
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include "../core/shape.hpp"

namespace bilin::linalg::detail {

#if XSIMD_WITH_AVX512F
using vk_arch = xsimd::avx512f;
#elif XSIMD_WITH_FMA3_AVX2
using vk_arch = xsimd::fma3<xsimd::avx2>;
#elif XSIMD_WITH_SSE2
using vk_arch = xsimd::sse2;
#else
using vk_arch = void;
#endif

template <class T>
inline constexpr bool vk_simd = !std::is_void_v<vk_arch> && (std::is_same_v<T, float> || std::is_same_v<T, double>);

template <class T>
struct VK {
  using B = xsimd::batch<T, vk_arch>;
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
    for (; i + V::W <= n; i += V::W) {
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

template <class T>
void gemv_multi(index_t b, index_t rows, index_t n, const T* A, index_t lda, const T* X, index_t ldx, T* Y,
                index_t ldy) {
  if (b == 1) {  // the 4×4 tile would compute the single vector four times
    gemv_n(rows, n, A, lda, X, Y);
    return;
  }
  if constexpr (vk_simd<T>) {
    using V = VK<T>;
    using B = typename V::B;
    constexpr index_t W = V::W;
    index_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      const T* a0 = A + r * lda;
      const T* a1 = a0 + lda;
      const T* a2 = a1 + lda;
      const T* a3 = a2 + lda;
      // 4 rows × 4 vectors = 16 accumulators; the 4 rows stay in L1 across vector groups.
      for (index_t c0 = 0; c0 < b; c0 += 4) {
        const index_t nc = std::min<index_t>(4, b - c0);
        const T* x0 = X + c0 * ldx;
        const T* x1 = X + (c0 + (nc > 1 ? 1 : 0)) * ldx;
        const T* x2 = X + (c0 + (nc > 2 ? 2 : 0)) * ldx;
        const T* x3 = X + (c0 + (nc > 3 ? 3 : 0)) * ldx;
        B s00(T(0)), s01(T(0)), s02(T(0)), s03(T(0)), s10(T(0)), s11(T(0)), s12(T(0)), s13(T(0));
        B s20(T(0)), s21(T(0)), s22(T(0)), s23(T(0)), s30(T(0)), s31(T(0)), s32(T(0)), s33(T(0));
        index_t j = 0;
        for (; j + W <= n; j += W) {
          const B r0 = V::load(a0 + j), r1 = V::load(a1 + j), r2 = V::load(a2 + j), r3 = V::load(a3 + j);
          B xv = V::load(x0 + j);
          s00 = V::fma(r0, xv, s00); s10 = V::fma(r1, xv, s10); s20 = V::fma(r2, xv, s20); s30 = V::fma(r3, xv, s30);
          xv = V::load(x1 + j);
          s01 = V::fma(r0, xv, s01); s11 = V::fma(r1, xv, s11); s21 = V::fma(r2, xv, s21); s31 = V::fma(r3, xv, s31);
          xv = V::load(x2 + j);
          s02 = V::fma(r0, xv, s02); s12 = V::fma(r1, xv, s12); s22 = V::fma(r2, xv, s22); s32 = V::fma(r3, xv, s32);
          xv = V::load(x3 + j);
          s03 = V::fma(r0, xv, s03); s13 = V::fma(r1, xv, s13); s23 = V::fma(r2, xv, s23); s33 = V::fma(r3, xv, s33);
        }
        T acc[4][4] = {{V::hsum(s00), V::hsum(s01), V::hsum(s02), V::hsum(s03)},
                       {V::hsum(s10), V::hsum(s11), V::hsum(s12), V::hsum(s13)},
                       {V::hsum(s20), V::hsum(s21), V::hsum(s22), V::hsum(s23)},
                       {V::hsum(s30), V::hsum(s31), V::hsum(s32), V::hsum(s33)}};
        const T* xs[4] = {x0, x1, x2, x3};
        const T* as[4] = {a0, a1, a2, a3};
        for (; j < n; ++j)
          for (int rr = 0; rr < 4; ++rr)
            for (int cc = 0; cc < 4; ++cc) acc[rr][cc] += as[rr][j] * xs[cc][j];
        for (int rr = 0; rr < 4; ++rr)
          for (index_t cc = 0; cc < nc; ++cc) Y[(c0 + cc) * ldy + r + rr] = acc[rr][cc];
      }
    }
    for (; r < rows; ++r)
      for (index_t c = 0; c < b; ++c) Y[c * ldy + r] = static_cast<T>(dot(n, A + r * lda, X + c * ldx));
  } else {
    for (index_t r = 0; r < rows; ++r)
      for (index_t c = 0; c < b; ++c) Y[c * ldy + r] = static_cast<T>(dot(n, A + r * lda, X + c * ldx));
  }
}

template <class T>
void symm_multi(index_t b, index_t n, const T* S, index_t lds, const T* X, index_t ldx, T* Y, index_t ldy) {
  for (index_t c = 0; c < b; ++c) std::fill_n(Y + c * ldy, n, T(0));
  index_t j = 0;
  if constexpr (vk_simd<T>) {
    using V = VK<T>;
    using B = typename V::B;
    constexpr index_t W = V::W;
    for (; j + 4 <= n; j += 4) {
      const T* a0 = S + j * lds;
      const T* a1 = a0 + lds;
      const T* a2 = a1 + lds;
      const T* a3 = a2 + lds;
      index_t c0 = 0;
      for (; c0 + 4 <= b; c0 += 4) {
        const T* x0 = X + c0 * ldx;
        const T* x1 = x0 + ldx;
        const T* x2 = x1 + ldx;
        const T* x3 = x2 + ldx;
        const B b00(x0[j]), b01(x0[j + 1]), b02(x0[j + 2]), b03(x0[j + 3]);
        const B b10(x1[j]), b11(x1[j + 1]), b12(x1[j + 2]), b13(x1[j + 3]);
        const B b20(x2[j]), b21(x2[j + 1]), b22(x2[j + 2]), b23(x2[j + 3]);
        const B b30(x3[j]), b31(x3[j + 1]), b32(x3[j + 2]), b33(x3[j + 3]);
        T* y0 = Y + c0 * ldy;
        T* y1 = y0 + ldy;
        T* y2 = y1 + ldy;
        T* y3 = y2 + ldy;
        index_t i = 0;
        for (; i + W <= n; i += W) {
          const B r0 = V::load(a0 + i), r1 = V::load(a1 + i), r2 = V::load(a2 + i), r3 = V::load(a3 + i);
          V::store(y0 + i, V::fma(r3, b03, V::fma(r2, b02, V::fma(r1, b01, V::fma(r0, b00, V::load(y0 + i))))));
          V::store(y1 + i, V::fma(r3, b13, V::fma(r2, b12, V::fma(r1, b11, V::fma(r0, b10, V::load(y1 + i))))));
          V::store(y2 + i, V::fma(r3, b23, V::fma(r2, b22, V::fma(r1, b21, V::fma(r0, b20, V::load(y2 + i))))));
          V::store(y3 + i, V::fma(r3, b33, V::fma(r2, b32, V::fma(r1, b31, V::fma(r0, b30, V::load(y3 + i))))));
        }
        for (; i < n; ++i)
          for (int c = 0; c < 4; ++c) {
            const T* x = X + (c0 + c) * ldx;
            Y[(c0 + c) * ldy + i] += x[j] * a0[i] + x[j + 1] * a1[i] + x[j + 2] * a2[i] + x[j + 3] * a3[i];
          }
      }
      for (; c0 < b; ++c0)
        for (int r = 0; r < 4; ++r) axpy(n, X[c0 * ldx + j + r], S + (j + r) * lds, Y + c0 * ldy);
    }
  }
  for (; j < n; ++j)
    for (index_t c = 0; c < b; ++c) axpy(n, X[c * ldx + j], S + j * lds, Y + c * ldy);
}

template <class T>
void sub_multi(index_t b, index_t j, index_t n, const T* Ct, index_t ldc, const T* V, T* W) {
  index_t col = 0;
  if constexpr (vk_simd<T>) {
    using Vk = VK<T>;
    using B = typename Vk::B;
    constexpr index_t Wd = Vk::W;
    for (; col + 4 * Wd <= n; col += 4 * Wd) {
      index_t t = 0;
      for (; t + 2 <= b; t += 2) {
        T* w0 = W + t * n + col;
        T* w1 = w0 + n;
        B a0 = Vk::load(w0), a1 = Vk::load(w0 + Wd), a2 = Vk::load(w0 + 2 * Wd), a3 = Vk::load(w0 + 3 * Wd);
        B c0 = Vk::load(w1), c1 = Vk::load(w1 + Wd), c2 = Vk::load(w1 + 2 * Wd), c3 = Vk::load(w1 + 3 * Wd);
        const T* k0 = Ct + t * ldc;
        const T* k1 = k0 + ldc;
        for (index_t i = 0; i < j; ++i) {
          const T* v = V + i * n + col;
          const B v0 = Vk::load(v), v1 = Vk::load(v + Wd), v2 = Vk::load(v + 2 * Wd), v3 = Vk::load(v + 3 * Wd);
          const B m0(-k0[i]), m1(-k1[i]);
          a0 = Vk::fma(m0, v0, a0); a1 = Vk::fma(m0, v1, a1); a2 = Vk::fma(m0, v2, a2); a3 = Vk::fma(m0, v3, a3);
          c0 = Vk::fma(m1, v0, c0); c1 = Vk::fma(m1, v1, c1); c2 = Vk::fma(m1, v2, c2); c3 = Vk::fma(m1, v3, c3);
        }
        Vk::store(w0, a0); Vk::store(w0 + Wd, a1); Vk::store(w0 + 2 * Wd, a2); Vk::store(w0 + 3 * Wd, a3);
        Vk::store(w1, c0); Vk::store(w1 + Wd, c1); Vk::store(w1 + 2 * Wd, c2); Vk::store(w1 + 3 * Wd, c3);
      }
      for (; t < b; ++t) {
        T* w0 = W + t * n + col;
        B a0 = Vk::load(w0), a1 = Vk::load(w0 + Wd), a2 = Vk::load(w0 + 2 * Wd), a3 = Vk::load(w0 + 3 * Wd);
        const T* k0 = Ct + t * ldc;
        for (index_t i = 0; i < j; ++i) {
          const T* v = V + i * n + col;
          const B m0(-k0[i]);
          a0 = Vk::fma(m0, Vk::load(v), a0);
          a1 = Vk::fma(m0, Vk::load(v + Wd), a1);
          a2 = Vk::fma(m0, Vk::load(v + 2 * Wd), a2);
          a3 = Vk::fma(m0, Vk::load(v + 3 * Wd), a3);
        }
        Vk::store(w0, a0); Vk::store(w0 + Wd, a1); Vk::store(w0 + 2 * Wd, a2); Vk::store(w0 + 3 * Wd, a3);
      }
    }
  }
  for (index_t t = 0; t < b; ++t)
    for (index_t i = 0; i < j; ++i) {
      const T kv = Ct[t * ldc + i];
      for (index_t cc = col; cc < n; ++cc) W[t * n + cc] -= kv * V[i * n + cc];
    }
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
