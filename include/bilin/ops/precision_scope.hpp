// bilin/ops/precision_scope.hpp — which arithmetic the ops' matrix products run in.
//
// Contract:
// - matmul_precision() is the calling thread's matmul precision: Precision::fp32 unless a
//   PrecisionScope is alive on this thread. PrecisionScope s(p) sets it for its lifetime and
//   restores the previous value on exit (scopes nest: an inner scope is the per-call override).
// - The GEMM-based ops — linear (so the bilinear / GLU layers), matmul, linear_cross_entropy
//   (the unembedding), causal_attention and topk_encode's dense encoder — read it once, in the
//   forward, and capture it in their autograd node: the backward GEMMs run at the forward's
//   precision wherever and whenever backward() is called (outside the scope, another thread).
// - Precision::bf16 rounds only the GEMM operands (kernels/gemm_bf16.hpp; fp32 accumulation);
//   results, parameters, gradients, optimizer state, norms, softmax, losses and reductions stay
//   fp32. It applies to Tensor<float> ops; Tensor<double> ops (gradchecks, fp64 references)
//   always run in double. With fp32 (the default) every op calls kernels::gemm exactly as
//   before, so results are bit-identical to a build without this header.
// - Thread-local on purpose: a scope set by a training loop must not leak into an analysis
//   running on another thread, and interpretability code (interp/, linalg/) calls kernels::gemm
//   directly, so it is fp32 whatever the scope. An op reads the precision on the calling thread
//   before any OpenMP region of its own; a program running ops on threads it starts itself sets
//   a scope in each.
// - detail::gemm_at(p, ...): kernels::gemm_prec for float, kernels::gemm<T> otherwise — the one
//   GEMM call the ops make.
#pragma once
#include <type_traits>

#include "../core/precision.hpp"
#include "../kernels/gemm_bf16.hpp"

namespace bilin {

namespace detail {
inline Precision& matmul_precision_slot() noexcept {
  thread_local Precision p = Precision::fp32;
  return p;
}
}  // namespace detail

inline Precision matmul_precision() noexcept { return detail::matmul_precision_slot(); }

class PrecisionScope {
 public:
  explicit PrecisionScope(Precision p) noexcept : prev_(detail::matmul_precision_slot()) {
    detail::matmul_precision_slot() = p;
  }
  ~PrecisionScope() { detail::matmul_precision_slot() = prev_; }
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision prev_;
};

namespace detail {
template <class T>
void gemm_at(Precision p, kernels::Trans ta, kernels::Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A,
             index_t lda, const T* B, index_t ldb, T beta, T* C, index_t ldc) {
  if constexpr (std::is_same_v<T, float>) kernels::gemm_prec(p, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else kernels::gemm<T>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
}  // namespace detail

}  // namespace bilin
