// bilin/kernels/gemm_bf16.hpp — C(fp32) = alpha·op(A)·op(B) + beta·C with both operands
// rounded to bfloat16 and fp32 accumulation: the mixed-precision GEMM of training.
//
// Contract:
// - Same arguments, checks, errors, BLAS semantics and threading rules as kernels::gemm<float>
//   (gemm.hpp): callers keep fp32 tensors, the kernel rounds op(A) and op(B) to the nearest
//   bf16 (core/bf16.hpp, ties to even, subnormals to zero) while packing them.
// - Every product of two bf16 values is exact in fp32, so the only errors are the operand
//   rounding and the fp32 summation: for each element,
//     |C − C_exact| ≤ |alpha|·Σ_k |a_k b_k|·(2·2⁻⁸ + 2⁻¹⁶ + K·2⁻²⁴)   (+ the beta·C rounding),
//   where a, b are the fp32 operands (each rounding is ≤ 2⁻⁸ relative; the sum of K fp32
//   additions is ≤ K·2⁻²⁴ relative to Σ|a b|). tests/test_gemm_bf16.cpp asserts this bound
//   against an fp64 reference of the fp32 operands.
// - The result is bit-identical for every thread count (as gemm<float>) and, for a given
//   backend, for every call; backends may differ from each other by fp32 summation order.
// - Backends, chosen once per process (bf16_backend()): "amx" (AMX-BF16 tiles, when compiled
//   with -mamx-bf16 and the kernel grants the tile state), "avx512bf16" (vdpbf16ps, when
//   compiled with -mavx512bf16), else "portable" (the operands rounded into fp32 copies, then
//   the fp32 GEMM: the same numerics on every CPU). BILIN_BF16_KERNEL=amx|avx512bf16|portable
//   in the environment forces one (an unavailable one is an error naming what is missing).
// - gemm_prec(Precision, ...) calls gemm<float> or gemm_bf16: the one switch the ops use.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <string>

#include "../core/bf16.hpp"
#include "../core/precision.hpp"
#include "gemm.hpp"
#include "gemm_bf16_driver.hpp"

namespace bilin::kernels {

enum class Bf16Backend { portable, avx512bf16, amx };

inline const char* bf16_backend_name(Bf16Backend b) noexcept {
  return b == Bf16Backend::amx ? "amx" : b == Bf16Backend::avx512bf16 ? "avx512bf16" : "portable";
}

// Whether this build and this machine can run the backend; if not, *why says what is missing.
inline bool bf16_backend_available(Bf16Backend b, std::string* why = nullptr) {
  auto no = [&](const char* reason) {
    if (why) *why = reason;
    return false;
  };
  switch (b) {
    case Bf16Backend::portable: return true;
    case Bf16Backend::avx512bf16:
#if defined(BILIN_HAVE_AVX512BF16)
      return true;
#else
      return no("this build has no AVX512-BF16 (compile with -march=native on a CPU that has it, or -mavx512bf16)");
#endif
    case Bf16Backend::amx:
#if defined(BILIN_HAVE_AMX)
      return gemm_bf16_detail::amx_permitted() || no("the Linux kernel did not grant the AMX tile state (arch_prctl)");
#else
      return no("this build has no AMX-BF16 (compile with -march=native on a CPU that has it, or -mamx-tile -mamx-bf16)");
#endif
  }
  return no("unknown backend");
}

// The backend gemm_bf16 uses, chosen on first use: BILIN_BF16_KERNEL if set, else the first
// available of amx, avx512bf16, portable (in that order: the widest bf16 instruction first).
inline Bf16Backend bf16_backend() {
  static const Bf16Backend chosen = [] {
    if (const char* env = std::getenv("BILIN_BF16_KERNEL"); env && *env) {
      const std::string v = env;
      const Bf16Backend b = v == "amx"          ? Bf16Backend::amx
                            : v == "avx512bf16" ? Bf16Backend::avx512bf16
                            : v == "portable"   ? Bf16Backend::portable
                                                : throw Error("gemm_bf16", msg("BILIN_BF16_KERNEL='", v,
                                                                               "' is not amx, avx512bf16 or portable"));
      std::string why;
      BILIN_CHECK(bf16_backend_available(b, &why), "gemm_bf16", "BILIN_BF16_KERNEL=", v, " is not available: ", why);
      return b;
    }
    for (Bf16Backend b : {Bf16Backend::amx, Bf16Backend::avx512bf16})
      if (bf16_backend_available(b)) return b;
    return Bf16Backend::portable;
  }();
  return chosen;
}

namespace gemm_bf16_detail {

// op(X) as stored, rows × cols with leading dimension ld, rounded to bf16 into dst (same
// layout, leading dimension cols).
inline void round_copy(index_t rows, index_t cols, const float* src, index_t ld, float* dst, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) dst[r * cols + c] = round_bf16(src[r * ld + c]);
}

inline void gemm_portable(Trans ta, Trans tb, index_t M, index_t N, index_t K, float alpha, const float* A,
                          index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
                          int threads) {
  const index_t ar = ta == Trans::N ? M : K, ac = ta == Trans::N ? K : M;
  const index_t br = tb == Trans::N ? K : N, bc = tb == Trans::N ? N : K;
  float* a = gemm_detail::thread_scratch<float, 10>(static_cast<std::size_t>(ar * ac));
  float* b = gemm_detail::thread_scratch<float, 11>(static_cast<std::size_t>(br * bc));
  round_copy(ar, ac, A, lda, a, threads);
  round_copy(br, bc, B, ldb, b, threads);
  gemm_detail::gemm_unchecked(ta, tb, M, N, K, alpha, a, ac, b, bc, beta, C, ldc, threads);
}

// gemm_bf16 without argument checks; `threads` as from gemm_threads.
inline void gemm_bf16_unchecked(Bf16Backend be, Trans ta, Trans tb, index_t M, index_t N, index_t K, float alpha,
                                const float* A, index_t lda, const float* B, index_t ldb, float beta, float* C,
                                index_t ldc, int threads) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {
    gemm_detail::gemm_unchecked(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
    return;
  }
  switch (be) {
#if defined(BILIN_HAVE_AMX)
    case Bf16Backend::amx:
      gemm_bf16_blocked<AmxBackend>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
      return;
#endif
#if defined(BILIN_HAVE_AVX512BF16)
    case Bf16Backend::avx512bf16:
      gemm_bf16_blocked<Avx512Bf16Backend>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
      return;
#endif
    default: gemm_portable(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
  }
}

}  // namespace gemm_bf16_detail

// gemm_bf16 on a given backend (tests and benchmarks compare them; an unavailable one throws).
inline void gemm_bf16_on(Bf16Backend be, Trans ta, Trans tb, index_t M, index_t N, index_t K, float alpha,
                         const float* A, index_t lda, const float* B, index_t ldb, float beta, float* C,
                         index_t ldc) {
  std::string why;
  BILIN_CHECK(bf16_backend_available(be, &why), "gemm_bf16", "backend ", bf16_backend_name(be),
              " is not available: ", why);
  gemm_detail::gemm_check("gemm_bf16", ta, tb, M, N, K, lda, ldb, ldc);
  gemm_bf16_detail::gemm_bf16_unchecked(be, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                                        gemm_detail::gemm_threads(M * N * K));
}

inline void gemm_bf16(Trans ta, Trans tb, index_t M, index_t N, index_t K, float alpha, const float* A,
                      index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc) {
  gemm_detail::gemm_check("gemm_bf16", ta, tb, M, N, K, lda, ldb, ldc);
  gemm_bf16_detail::gemm_bf16_unchecked(bf16_backend(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                                        gemm_detail::gemm_threads(M * N * K));
}

// As gemm_strided_batched (gemm.hpp), each product through gemm_bf16.
inline void gemm_bf16_strided_batched(Trans ta, Trans tb, index_t M, index_t N, index_t K, float alpha,
                                      const float* A, index_t lda, index_t stride_a, const float* B, index_t ldb,
                                      index_t stride_b, float beta, float* C, index_t ldc, index_t stride_c,
                                      index_t batch) {
  BILIN_CHECK(batch >= 0, "gemm_bf16_strided_batched", "negative batch=", batch);
  gemm_detail::gemm_check("gemm_bf16_strided_batched", ta, tb, M, N, K, lda, ldb, ldc);
  const int threads = gemm_detail::gemm_threads(M * N * K);
  const Bf16Backend be = bf16_backend();
  if (batch > 1 && !omp_in_parallel() && threads < omp_get_max_threads()) {
#pragma omp parallel for schedule(static)
    for (index_t b = 0; b < batch; ++b)
      gemm_bf16_detail::gemm_bf16_unchecked(be, ta, tb, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb,
                                            beta, C + b * stride_c, ldc, 1);
    return;
  }
  for (index_t b = 0; b < batch; ++b)
    gemm_bf16_detail::gemm_bf16_unchecked(be, ta, tb, M, N, K, alpha, A + b * stride_a, lda, B + b * stride_b, ldb,
                                          beta, C + b * stride_c, ldc, threads);
}

// The precision switch: fp32 → gemm<float>, bf16 → gemm_bf16.
inline void gemm_prec(Precision p, Trans ta, Trans tb, index_t M, index_t N, index_t K, float alpha,
                      const float* A, index_t lda, const float* B, index_t ldb, float beta, float* C,
                      index_t ldc) {
  if (p == Precision::bf16) gemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else gemm<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

inline void gemm_prec_strided_batched(Precision p, Trans ta, Trans tb, index_t M, index_t N, index_t K,
                                      float alpha, const float* A, index_t lda, index_t stride_a, const float* B,
                                      index_t ldb, index_t stride_b, float beta, float* C, index_t ldc,
                                      index_t stride_c, index_t batch) {
  if (p == Precision::bf16)
    gemm_bf16_strided_batched(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc, stride_c,
                              batch);
  else
    gemm_strided_batched<float>(ta, tb, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta, C, ldc, stride_c,
                                batch);
}

}  // namespace bilin::kernels
