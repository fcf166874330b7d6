// bilin/ops/lm_head.hpp — the unembedding and the cross-entropy loss as one fused op.
//
// Contract:
// - linear_cross_entropy(x, W, targets) = cross_entropy(linear(x, W), targets) with mean
//   reduction: x [..., D] hidden states, W [V, D] the unembedding (PyTorch Linear layout, no
//   bias), targets Tensor<int64_t> of x's leading shape with every id in [0, V) (otherwise
//   bilin::Error("linear_cross_entropy", ...) naming the position and the id).
// - Why fused: a language model's logits are the largest tensor of a step ([B·T, V], 64 MB for
//   B·T = 4096, V = 4096) and its gradient another one. Here rows are processed in chunks of
//   `chunk_rows`: logits of a chunk (one GEMM), their log-sum-exp (SIMD exp), and — when a
//   gradient is needed — d(logits) = (softmax − onehot)/N, immediately folded into dx = dL·W and
//   dW += dLᵀ·x (two GEMMs). Only one chunk of logits ever exists; the op saves dx and dW, and
//   backward only scales them by the incoming scalar gradient. The FLOPs are those of the
//   unfused linear + cross-entropy.
// - Exactness: the loss is the mean over rows of lse − logit[target], accumulated in double.
// - Precision: the three GEMMs (logits, dx, dW — all run in the forward) use the thread's matmul
//   precision (ops/precision_scope.hpp); the log-sum-exp, the softmax and the loss stay fp32.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../autograd/function.hpp"
#include "../kernels/elementwise.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/softmax_rows.hpp"
#include "indexing.hpp"
#include "precision_scope.hpp"
#include "views.hpp"

namespace bilin {

template <class T>
Tensor<T> linear_cross_entropy(const Tensor<T>& x, const Tensor<T>& W, const IndexTensor& targets,
                               index_t chunk_rows = 512) {
  BILIN_CHECK(W.dim() == 2, "linear_cross_entropy", "weight must be [V, D], got ", to_string(W.shape()));
  BILIN_CHECK(x.dim() >= 1 && x.size(-1) == W.size(1), "linear_cross_entropy", "input of shape ",
              to_string(x.shape()), " does not match weight of shape ", to_string(W.shape()));
  const Shape rows_shape(x.shape().begin(), x.shape().end() - 1);
  BILIN_CHECK(targets.shape() == rows_shape, "linear_cross_entropy", "targets of shape ", to_string(targets.shape()),
              " do not match input of shape ", to_string(x.shape()), " (expected ", to_string(rows_shape), ")");
  BILIN_CHECK(chunk_rows > 0, "linear_cross_entropy", "chunk_rows must be positive, got ", chunk_rows);
  const index_t V = W.size(0), D = W.size(1), N = numel(rows_shape);
  BILIN_CHECK(N > 0, "linear_cross_entropy", "no rows (input shape ", to_string(x.shape()), ")");
  const std::vector<std::int64_t> tv = targets.to_vector();
  for (index_t r = 0; r < N; ++r)
    BILIN_CHECK(tv[r] >= 0 && tv[r] < V, "linear_cross_entropy", "target ", tv[r], " at row ", r, " is outside [0, ",
                V, ")");
  const Tensor<T> xc = x.is_contiguous() ? x.detach() : detail::contiguous_copy(x);
  const Tensor<T> Wc = W.is_contiguous() ? W.detach() : detail::contiguous_copy(W);
  const bool need_grad = autograd::any_requires_grad<T>({x, W});
  const bool gx = need_grad && x.requires_grad(), gw = need_grad && W.requires_grad();
  Tensor<T> dx = gx ? Tensor<T>::empty(x.shape()) : Tensor<T>();
  Tensor<T> dW = gw ? Tensor<T>::zeros({V, D}) : Tensor<T>();
  const index_t cr = std::min(chunk_rows, N);
  std::vector<T> logits(static_cast<std::size_t>(cr * V));
  std::vector<double> row_loss(static_cast<std::size_t>(N));
  const T inv_n = static_cast<T>(1.0 / static_cast<double>(N));
  using kernels::Trans;
  const Precision prec = matmul_precision();
  for (index_t r0 = 0; r0 < N; r0 += cr) {
    const index_t m = std::min(cr, N - r0);
    T* L = logits.data();
    detail::gemm_at(prec, Trans::N, Trans::T, m, V, D, T(1), xc.data() + r0 * D, D, Wc.data(), D, T(0), L, V);
#pragma omp parallel for schedule(static) if (m * V >= kernels::kParallelGrain && !omp_in_parallel())
    for (index_t i = 0; i < m; ++i) {
      T* row = L + i * V;
      const std::int64_t t = tv[r0 + i];
      const T mx = kernels::row_max(row, V);
      const T target_logit = row[t];
      const double s = kernels::exp_shift_sum(row, V, mx);  // exp(row − max) in place, summed
      row_loss[static_cast<std::size_t>(r0 + i)] =
          static_cast<double>(mx) + std::log(s) - static_cast<double>(target_logit);
      if (need_grad) {  // d(mean loss)/d(logits) = (softmax − onehot)/N
        const T scale = static_cast<T>(1.0 / s) * inv_n;
        for (index_t k = 0; k < V; ++k) row[k] *= scale;
        row[t] -= inv_n;
      }
    }
    if (gx) detail::gemm_at(prec, Trans::N, Trans::N, m, D, V, T(1), L, V, Wc.data(), D, T(0), dx.data() + r0 * D, D);
    if (gw) detail::gemm_at(prec, Trans::T, Trans::N, V, D, m, T(1), L, V, xc.data() + r0 * D, D, T(1), dW.data(), D);
  }
  double total = 0;
  for (double l : row_loss) total += l;
  auto out = Tensor<T>::scalar(static_cast<T>(total / static_cast<double>(N)));
  if (!need_grad) return out;
  return autograd::record(out, "linear_cross_entropy", {x, W}, [dx, dW](const Tensor<T>& g) {
    const T s = g.data()[0];
    auto scaled = [s](const Tensor<T>& d) {
      if (!d.defined() || s == T(1)) return d;  // the usual case: loss.backward() seeds 1
      auto o = Tensor<T>::empty(d.shape());
      for (index_t i = 0; i < d.numel(); ++i) o.data()[i] = d.data()[i] * s;
      return o;
    };
    return std::vector<Tensor<T>>{scaled(dx), scaled(dW)};
  });
}

}  // namespace bilin
