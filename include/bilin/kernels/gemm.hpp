// bilin/kernels/gemm.hpp — C = alpha·op(A)·op(B) + beta·C on raw row-major pointers.
//
// Contract (BLAS semantics, row-major):
// - op(A) is M×K, op(B) is K×N, C is M×N. Trans::N reads A[i*lda + k]; Trans::T reads the
//   transposed storage A[k*lda + i] (so backward passes never materialize a transpose).
//   Same for B. Leading dimensions are in elements and must be ≥ the stored row length
//   (checked: bilin::Error "gemm: ..." names the offending one). C must not alias A or B.
// - beta == 0 overwrites C without reading it (NaNs in C do not propagate); alpha == 0 or
//   K == 0 only scales C by beta.
// - gemm runs on up to omp_get_max_threads() OpenMP threads, and serially when called from
//   inside a parallel region (no oversubscription) or when the product is small (fewer than
//   ~2·96³ multiply-adds). The result is bit-identical for every thread count (the path
//   taken depends on the shape only; see gemm_driver.hpp).
// - gemm_strided_batched: batch independent products, matrix b at A + b·stride_a etc.;
//   products too small for all threads run one per thread instead (same results).
// - gemm_reference is the naive triple loop (double accumulation) kept as the test oracle.
// - No autodiff here; this is the kernel layer below ops/.
// Implementation: gemm_simd.hpp (vector type per -march), gemm_microkernel.hpp (register
// tile), gemm_pack.hpp (panel packing), gemm_driver.hpp (cache blocking + threads),
// gemm_small.hpp (unpacked path for M ≤ 4 or K ≤ 8 with op(B) = N).
#pragma once
#include <algorithm>
#include <cstdint>

#include "../core/error.hpp"
#include "gemm_driver.hpp"
#include "gemm_small.hpp"
#include "gemm_trans.hpp"

namespace bilin::kernels {

template <class T>
void gemm_reference(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
                    index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) {
      double acc = 0;
      for (index_t k = 0; k < K; ++k) {
        const T a = ta == Trans::N ? A[i * lda + k] : A[k * lda + i];
        const T b = tb == Trans::N ? B[k * ldb + j] : B[j * ldb + k];
        acc += static_cast<double>(a) * static_cast<double>(b);
      }
      T& c = C[i * ldc + j];
      c = static_cast<T>(alpha * acc + (beta == T(0) ? T(0) : beta * c));
    }
}

namespace gemm_detail {
// Each extra thread must get at least this many multiply-adds to pay for waking it, so small
// products run serially on the calling thread (no fork/join, no barrier).
inline constexpr index_t macs_per_thread = 96 * 96 * 96;

inline int gemm_threads(index_t macs) {
  if (omp_in_parallel()) return 1;
  const index_t by_work = std::max<index_t>(1, macs / macs_per_thread);
  return static_cast<int>(std::min<index_t>(omp_get_max_threads(), by_work));
}
}  // namespace gemm_detail

namespace gemm_detail {
// Throws bilin::Error(op, ...) naming the offending size or leading dimension.
inline void gemm_check(const char* op, Trans ta, Trans tb, index_t M, index_t N, index_t K, index_t lda,
                       index_t ldb, index_t ldc) {
  BILIN_CHECK(M >= 0 && N >= 0 && K >= 0, op, "negative size M=", M, " N=", N, " K=", K);
  if (M == 0 || N == 0) return;
  BILIN_CHECK(ldc >= N, op, "ldc=", ldc, " < N=", N);
  if (K == 0) return;
  BILIN_CHECK(lda >= (ta == Trans::N ? K : M), op, "lda=", lda, " < ", ta == Trans::N ? "K=" : "M=",
              ta == Trans::N ? K : M, " (op(A) ", ta == Trans::N ? "N" : "T", ", M=", M, " K=", K, ")");
  BILIN_CHECK(ldb >= (tb == Trans::N ? N : K), op, "ldb=", ldb, " < ", tb == Trans::N ? "N=" : "K=",
              tb == Trans::N ? N : K, " (op(B) ", tb == Trans::N ? "N" : "T", ", K=", K, " N=", N, ")");
}

// gemm without argument checks; `threads` as from gemm_threads.
template <class T>
void gemm_unchecked(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
                    const T* B, index_t ldb, T beta, T* C, index_t ldc, int threads) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == T(0)) {
    for (index_t i = 0; i < M; ++i)
      for (index_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  if (tb == Trans::N && (M <= 4 || K <= 8)) {
    gemm_small(ta, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  gemm_blocked<T, gemm_default_blocking<T>>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}
}  // namespace gemm_detail

template <class T>
void gemm(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda,
          const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  gemm_detail::gemm_check("gemm", ta, tb, M, N, K, lda, ldb, ldc);
  gemm_detail::gemm_unchecked(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                              gemm_detail::gemm_threads(M * N * K));
}

// Products too small to use every thread on their own run side by side instead, one per
// thread, each serially; either way every matrix is computed exactly as a lone gemm would.
template <class T>
void gemm_strided_batched(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
                          index_t lda, index_t stride_a, const T* B, index_t ldb, index_t stride_b,
                          T beta, T* C, index_t ldc, index_t stride_c, index_t batch) {
  BILIN_CHECK(batch >= 0, "gemm_strided_batched", "negative batch=", batch);
  gemm_detail::gemm_check("gemm_strided_batched", ta, tb, M, N, K, lda, ldb, ldc);
  const int threads = gemm_detail::gemm_threads(M * N * K);
  if (batch > 1 && !omp_in_parallel() && threads < omp_get_max_threads()) {
#pragma omp parallel for schedule(static)
    for (index_t b = 0; b < batch; ++b)
      gemm_detail::gemm_unchecked(ta, tb, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb, beta,
                                  C + b * stride_c, ldc, 1);
    return;
  }
  for (index_t b = 0; b < batch; ++b)
    gemm_detail::gemm_unchecked(ta, tb, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb, beta,
                                C + b * stride_c, ldc, threads);
}

}  // namespace bilin::kernels
