// bilin/kernels/softmax_rows.hpp — the two row passes of a numerically safe softmax.
//
// Contract: row_max(row, n) is the largest of row[0..n) (−inf for n = 0); exp_shift_sum(row,
// n, m) overwrites row[j] with exp(row[j] − m) and returns their sum in double. SIMD over T's
// batch where it has one (simd_ok), scalar otherwise; used by attention (ops/attention.hpp)
// and the fused LM head (ops/lm_head.hpp).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>

#include "elementwise.hpp"

namespace bilin::kernels {

// row[0..n) = exp(row − m), returns the (double) sum.
template <class T>
double exp_shift_sum(T* row, index_t n, T m) {
  index_t j = 0;
  double total = 0;
  if constexpr (simd_ok<T>) {
    using B = simd::batch<T>;
    constexpr index_t W = static_cast<index_t>(B::size);
    B acc(T(0));
    const B mv(m);
    for (; j + W <= n; j += W) {
      const B e = xsimd::exp(B::load_unaligned(row + j) - mv);
      e.store_unaligned(row + j);
      acc += e;
    }
    total = static_cast<double>(xsimd::hadd(acc));
  }
  for (; j < n; ++j) {
    row[j] = std::exp(row[j] - m);
    total += static_cast<double>(row[j]);
  }
  return total;
}

template <class T>
T row_max(const T* row, index_t n) {
  T m = -std::numeric_limits<T>::infinity();
  index_t j = 0;
  if constexpr (simd_ok<T>) {
    using B = simd::batch<T>;
    constexpr index_t W = static_cast<index_t>(B::size);
    if (n >= W) {
      B acc = B::load_unaligned(row);
      for (j = W; j + W <= n; j += W) acc = xsimd::max(acc, B::load_unaligned(row + j));
      alignas(64) T lanes[W];
      acc.store_aligned(lanes);
      for (index_t l = 0; l < W; ++l) m = std::max(m, lanes[l]);
    }
  }
  for (; j < n; ++j) m = std::max(m, row[j]);
  return m;
}

}  // namespace bilin::kernels
