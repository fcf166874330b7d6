// bilin/kernels/sparse_rows.hpp — products with a k-sparse code matrix, on raw pointers.
//
// A k-sparse code of B rows over n latents is stored as values v [B, k] and latent indices
// idx [B, k] (each in [0, n)). W is a row-major [n, d] matrix (one row per latent). These
// loops touch only the k rows of W a code names, so they cost B·k·d instead of B·n·d:
// - combine(v, idx, W, bias) → out [B, d]:   out[b] = bias + Σ_s v[b,s] · W[idx[b,s]]
// - dot(a, idx, W) → out [B, k]:             out[b,s] = a[b] · W[idx[b,s]]
// - scatter(coef, idx, a) → G [n, d]:        G[j] = Σ_{(b,s): idx[b,s] = j} coef[b,s] · a[b]
//   (G is overwritten; latents nobody chose get zero rows). The indices of one row must be
//   distinct (TopK's are); each latent's sum then runs over rows in increasing order, so the
//   result does not depend on the thread count.
// Rows (combine, dot) and latent ranges (scatter) run on OpenMP threads unless called from a
// parallel region. Index ranges are the caller's contract (ops/ checks them).
#pragma once
#include <omp.h>

#include <cstdint>
#include <vector>

#include "../core/simd.hpp"
#include "elementwise.hpp"

namespace bilin::kernels {

namespace sparse_detail {
template <class T>
inline void axpy(T c, const T* x, T* y, index_t d) {
  for (index_t i = 0; i < d; ++i) y[i] += c * x[i];
}
template <class T>
inline T dot(const T* a, const T* b, index_t d) {
  index_t i = 0;
  T acc = 0;
  if constexpr (simd_ok<T>) {
    using B = xsimd::batch<T>;
    constexpr index_t W = static_cast<index_t>(B::size);
    B s0(T(0)), s1(T(0));
    for (; i + 2 * W <= d; i += 2 * W) {
      s0 = xsimd::fma(B::load_unaligned(a + i), B::load_unaligned(b + i), s0);
      s1 = xsimd::fma(B::load_unaligned(a + i + W), B::load_unaligned(b + i + W), s1);
    }
    for (; i + W <= d; i += W) s0 = xsimd::fma(B::load_unaligned(a + i), B::load_unaligned(b + i), s0);
    acc = xsimd::hadd(s0 + s1);
  }
  for (; i < d; ++i) acc += a[i] * b[i];
  return acc;
}
inline bool run_parallel(index_t work) { return work >= (1 << 15) && !omp_in_parallel(); }
}  // namespace sparse_detail

template <class T>
void sparse_combine(const T* v, const std::int64_t* idx, index_t rows, index_t k, const T* W, index_t d, const T* bias,
                    T* out) {
#pragma omp parallel for schedule(static) if (sparse_detail::run_parallel(rows * k * d))
  for (index_t b = 0; b < rows; ++b) {
    T* o = out + b * d;
    for (index_t i = 0; i < d; ++i) o[i] = bias ? bias[i] : T(0);
    for (index_t s = 0; s < k; ++s) sparse_detail::axpy(v[b * k + s], W + idx[b * k + s] * d, o, d);
  }
}

template <class T>
void sparse_dot(const T* a, const std::int64_t* idx, index_t rows, index_t k, const T* W, index_t d, T* out) {
#pragma omp parallel for schedule(static) if (sparse_detail::run_parallel(rows * k * d))
  for (index_t b = 0; b < rows; ++b)
    for (index_t s = 0; s < k; ++s) out[b * k + s] = sparse_detail::dot(a + b * d, W + idx[b * k + s] * d, d);
}

template <class T>
void sparse_scatter(const T* coef, const std::int64_t* idx, index_t rows, index_t k, const T* a, index_t d, index_t n,
                    T* G) {
  // Each thread owns a range of latents and walks all rows in order: a row of `a` is read once
  // per thread and reused for all its k slots, and every latent's sum runs over rows in the same
  // order whatever the thread count (a latent appears at most once per row).
#pragma omp parallel if (sparse_detail::run_parallel(rows * k * d))
  {
    const index_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const index_t lo = n * t / nt, hi = n * (t + 1) / nt;
    for (index_t i = lo * d; i < hi * d; ++i) G[i] = T(0);
    for (index_t b = 0; b < rows; ++b)
      for (index_t s = 0; s < k; ++s) {
        const index_t j = idx[b * k + s];
        if (j >= lo && j < hi) sparse_detail::axpy(coef[b * k + s], a + b * d, G + j * d, d);
      }
  }
}

}  // namespace bilin::kernels
