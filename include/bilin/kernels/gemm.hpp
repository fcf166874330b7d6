// bilin/kernels/gemm.hpp — C = alpha·op(A)·op(B) + beta·C on raw row-major pointers.
//
// Contract (BLAS semantics, row-major): op(A) is M×K, op(B) is K×N, C is M×N. Trans::N reads
// A[i*lda + k]; Trans::T reads A[k*lda + i]. beta == 0 overwrites C without reading it.
// Interim straightforward kernel; the packed, blocked kernel replaces it behind this signature.
#pragma once
#include <cstdint>

#include "../core/error.hpp"

namespace bilin::kernels {

using gemm_index = std::int64_t;
enum class Trans { N, T };

template <class T>
void gemm_reference(Trans ta, Trans tb, gemm_index M, gemm_index N, gemm_index K, T alpha, const T* A,
                    gemm_index lda, const T* B, gemm_index ldb, T beta, T* C, gemm_index ldc) {
  for (gemm_index i = 0; i < M; ++i)
    for (gemm_index j = 0; j < N; ++j) {
      double acc = 0;
      for (gemm_index k = 0; k < K; ++k) {
        const T a = ta == Trans::N ? A[i * lda + k] : A[k * lda + i];
        const T b = tb == Trans::N ? B[k * ldb + j] : B[j * ldb + k];
        acc += static_cast<double>(a) * static_cast<double>(b);
      }
      T& c = C[i * ldc + j];
      c = static_cast<T>(alpha * acc + (beta == T(0) ? T(0) : beta * c));
    }
}

template <class T>
void gemm(Trans ta, Trans tb, gemm_index M, gemm_index N, gemm_index K, T alpha, const T* A, gemm_index lda,
          const T* B, gemm_index ldb, T beta, T* C, gemm_index ldc) {
  BILIN_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm", "negative size M=", M, " N=", N, " K=", K);
  if (M == 0 || N == 0) return;
#pragma omp parallel for schedule(static) if (M * N * K > 32768)
  for (gemm_index i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (beta == T(0)) for (gemm_index j = 0; j < N; ++j) c[j] = T(0);
    else if (beta != T(1)) for (gemm_index j = 0; j < N; ++j) c[j] *= beta;
    if (alpha == T(0)) continue;
    for (gemm_index k = 0; k < K; ++k) {
      const T a = alpha * (ta == Trans::N ? A[i * lda + k] : A[k * lda + i]);
      if (tb == Trans::N) {
        const T* b = B + k * ldb;
        for (gemm_index j = 0; j < N; ++j) c[j] += a * b[j];
      } else {
        for (gemm_index j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
      }
    }
  }
}

template <class T>
void gemm_strided_batched(Trans ta, Trans tb, gemm_index M, gemm_index N, gemm_index K, T alpha, const T* A,
                          gemm_index lda, gemm_index stride_a, const T* B, gemm_index ldb, gemm_index stride_b,
                          T beta, T* C, gemm_index ldc, gemm_index stride_c, gemm_index batch) {
  for (gemm_index b = 0; b < batch; ++b)
    gemm(ta, tb, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb, beta, C + b * stride_c, ldc);
}

}  // namespace bilin::kernels
