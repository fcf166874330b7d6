// bilin/kernels/gemm_small.hpp — the unpacked path for very short M or K.
//
// Contract: gemm_small(ta, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) computes
// C = alpha·op(A)·B + beta·C (op(B) = N only; M, N, K ≥ 1) serially. Each C row is
// accumulated in a contiguous row buffer (k ascending) so the inner loop is a unit-stride axpy
// over a row of B that the compiler vectorizes. beta == 0 never reads C.
// Why it exists: the packed kernel computes whole MR-row tiles and packs a KC×NC slice of B
// per call, which does not pay off when there are only a few rows (M ≤ 4) or a few k (K ≤ 8).
// For every other shape, even 4×4×4, the packed kernel run serially is faster than this loop
// (bench/RESULTS.md), so gemm.hpp routes only those shapes here.
#pragma once
#include <algorithm>

#include "gemm_driver.hpp"

namespace bilin::kernels::gemm_detail {

template <class T>
void gemm_small(Trans ta, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda, const T* B, index_t ldb,
                T beta, T* C, index_t ldc) {
  T* row = thread_scratch<T, 2>(static_cast<std::size_t>(N));
  for (index_t i = 0; i < M; ++i) {
    std::fill(row, row + N, T(0));
    for (index_t k = 0; k < K; ++k) {
      const T a = ta == Trans::N ? A[i * lda + k] : A[k * lda + i];
      const T* __restrict b = B + k * ldb;
      T* __restrict r = row;
      for (index_t j = 0; j < N; ++j) r[j] += a * b[j];
    }
    T* c = C + i * ldc;
    if (beta == T(0))
      for (index_t j = 0; j < N; ++j) c[j] = alpha * row[j];
    else
      for (index_t j = 0; j < N; ++j) c[j] = alpha * row[j] + beta * c[j];
  }
}

}  // namespace bilin::kernels::gemm_detail
