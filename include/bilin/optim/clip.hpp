// bilin/optim/clip.hpp — gradient clipping by global L2 norm (torch.nn.utils.clip_grad_norm_).
//
// Contract: total = √(Σ over parameters with a gradient of ‖grad‖²), accumulated in double in a
// fixed chunk order (independent of the thread count). When total > max_norm every gradient is
// scaled in place by max_norm / (total + 1e-6), PyTorch's coefficient; otherwise nothing is
// touched. Returns the total norm before clipping (0 when no parameter has a gradient).
// max_norm must be > 0; a non-finite total norm is returned as is and leaves gradients alone.
#pragma once
#include <cmath>
#include <vector>

#include "optimizer.hpp"

namespace bilin::optim {

template <class T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
  BILIN_CHECK(max_norm > 0, "clip_grad_norm", "max_norm must be > 0, got ", max_norm);
  NoGradGuard ng;
  double total_sq = 0;
  for (const auto& p : params) {
    const Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    BILIN_CHECK(g.is_contiguous(), "clip_grad_norm", "gradient of shape ", to_string(g.shape()), " is not contiguous");
    const T* d = g.data();
    const index_t n = g.numel(), chunk = detail::kUpdateChunk;
    const index_t chunks = (n + chunk - 1) / chunk;
    std::vector<double> part(static_cast<std::size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static) if (n >= 4 * chunk && !omp_in_parallel())
    for (index_t c = 0; c < chunks; ++c) {
      double s = 0;
      const index_t hi = std::min(n, (c + 1) * chunk);
      for (index_t j = c * chunk; j < hi; ++j) s += static_cast<double>(d[j]) * static_cast<double>(d[j]);
      part[static_cast<std::size_t>(c)] = s;
    }
    for (double s : part) total_sq += s;
  }
  const double total = std::sqrt(total_sq);
  const double coef = max_norm / (total + 1e-6);
  if (std::isfinite(total) && coef < 1.0) {
    const T c = static_cast<T>(coef);
    for (const auto& p : params) {
      Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      T* d = g.data();
      const index_t n = g.numel();
#pragma omp parallel for simd schedule(static) if (n >= 4 * detail::kUpdateChunk && !omp_in_parallel())
      for (index_t j = 0; j < n; ++j) d[j] *= c;
    }
  }
  return total;
}

}  // namespace bilin::optim
