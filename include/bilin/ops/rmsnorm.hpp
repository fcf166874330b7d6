// bilin/ops/rmsnorm.hpp — fused RMSNorm with its backward.
//
// Contract:
// - rms_norm(x, weight, eps): y = x · r (· weight) with r = 1/√(mean(x², last axis) + eps),
//   x [..., D], weight [D] or undefined (the official bilinear-decomposition RMSNorm has no
//   weight and eps = 1e-8). Throws bilin::Error("rms_norm", ...) on a shape mismatch.
// - One pass forward (per row: sum of squares in double, then the scaled copy); the op saves
//   x and the per-row r only. Backward, per row with u = g ⊙ weight:
//     dx = r·u − x · r³/D · Σ(u ⊙ x),   dweight = Σ_rows g ⊙ x · r.
// - Rows are split across OpenMP threads (each row written by one thread; dweight is summed
//   per thread then reduced in a fixed order, so results do not depend on timing).
#pragma once
#include <cmath>
#include <vector>

#include "../autograd/function.hpp"
#include "../kernels/elementwise.hpp"
#include "views.hpp"

namespace bilin {

namespace kernels {
// r[i] = 1/sqrt(mean(x_i²) + eps); y_i = x_i · r[i] (· w).
template <class T>
void rms_norm_rows(const T* x, const T* w, T* y, T* r, index_t rows, index_t D, double eps) {
  const bool par = rows > 1 && rows * D >= kParallelGrain && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
  for (index_t i = 0; i < rows; ++i) {
    const T* xi = x + i * D;
    T* yi = y + i * D;
    double ss = 0;
    index_t j = 0;
    if constexpr (simd_ok<T>) {
      using B = simd::batch<T>;
      constexpr index_t W = static_cast<index_t>(B::size);
      B acc(T(0));
      for (; j + W <= D; j += W) {
        const B v = B::load_unaligned(xi + j);
        acc = xsimd::fma(v, v, acc);
      }
      ss = static_cast<double>(xsimd::hadd(acc));
    }
    for (; j < D; ++j) ss += static_cast<double>(xi[j]) * static_cast<double>(xi[j]);
    const T ri = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(D) + eps));
    r[i] = ri;
    if (w)
      for (index_t k = 0; k < D; ++k) yi[k] = xi[k] * ri * w[k];
    else
      for (index_t k = 0; k < D; ++k) yi[k] = xi[k] * ri;
  }
}
}  // namespace kernels

template <class T>
Tensor<T> rms_norm(const Tensor<T>& x, const Tensor<T>& weight = Tensor<T>(), double eps = 1e-8) {
  BILIN_CHECK(x.dim() >= 1 && x.size(-1) > 0, "rms_norm", "input must have a non-empty last axis, got shape ",
              to_string(x.shape()));
  const index_t D = x.size(-1), rows = x.numel() / D;
  BILIN_CHECK(!weight.defined() || weight.shape() == Shape{D}, "rms_norm", "weight of shape ",
              to_string(weight.shape()), " does not match input of shape ", to_string(x.shape()), " (expected [", D,
              "])");
  BILIN_CHECK(eps >= 0, "rms_norm", "eps must be >= 0, got ", eps);
  const Tensor<T> xc = x.is_contiguous() ? x.detach() : detail::contiguous_copy(x);
  const Tensor<T> wc = !weight.defined() ? Tensor<T>() : weight.is_contiguous() ? weight.detach() : detail::contiguous_copy(weight);
  auto y = Tensor<T>::empty(x.shape());
  auto r = Tensor<T>::empty({rows});
  kernels::rms_norm_rows(xc.data(), wc.defined() ? wc.data() : nullptr, y.data(), r.data(), rows, D, eps);
  if (!autograd::any_requires_grad<T>({x, weight})) return y;
  const bool gw = weight.defined() && weight.requires_grad();
  return autograd::record(y, "rms_norm", {x, weight}, [xc, wc, r, rows, D, gw](const Tensor<T>& g) {
    const Tensor<T> gc = g.is_contiguous() ? g : detail::contiguous_copy(g);
    auto dx = Tensor<T>::empty(xc.shape());
    const T* w = wc.defined() ? wc.data() : nullptr;
    const bool par = rows > 1 && rows * D >= kernels::kParallelGrain && !omp_in_parallel();
    const int nt = par ? omp_get_max_threads() : 1;
    std::vector<double> dw_part(gw ? static_cast<std::size_t>(nt * D) : 0, 0.0);
#pragma omp parallel num_threads(nt) if (par)
    {
      double* dwp = gw ? dw_part.data() + static_cast<std::size_t>(omp_get_thread_num()) * D : nullptr;
#pragma omp for schedule(static)
      for (index_t i = 0; i < rows; ++i) {
        const T* xi = xc.data() + i * D;
        const T* gi = gc.data() + i * D;
        T* di = dx.data() + i * D;
        const double ri = r.data()[i];
        double dot = 0;  // Σ u ⊙ x
        for (index_t k = 0; k < D; ++k) dot += static_cast<double>(w ? gi[k] * w[k] : gi[k]) * xi[k];
        const T a = static_cast<T>(ri), b = static_cast<T>(ri * ri * ri * dot / static_cast<double>(D));
        if (w)
          for (index_t k = 0; k < D; ++k) di[k] = a * gi[k] * w[k] - b * xi[k];
        else
          for (index_t k = 0; k < D; ++k) di[k] = a * gi[k] - b * xi[k];
        if (dwp)
          for (index_t k = 0; k < D; ++k) dwp[k] += static_cast<double>(gi[k]) * xi[k] * ri;
      }
    }
    Tensor<T> dw;
    if (gw) {
      dw = Tensor<T>::empty({D});
      for (index_t k = 0; k < D; ++k) {
        double s = 0;
        for (int t = 0; t < nt; ++t) s += dw_part[static_cast<std::size_t>(t * D + k)];
        dw.data()[k] = static_cast<T>(s);
      }
    }
    return std::vector<Tensor<T>>{dx, dw};
  });
}

}  // namespace bilin
