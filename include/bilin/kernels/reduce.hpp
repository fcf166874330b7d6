// bilin/kernels/reduce.hpp — raw reductions over contiguous rows or leading axes.
//
// Contract: `in` is contiguous. reduce_rows treats it as [rows, len] and writes one value per
// row; sum_leading treats it as [outer, inner] and sums over outer (column sums). Float sums
// accumulate in SIMD lanes and then in double per row, which keeps the error of long rows
// near that of pairwise summation. argmax/argmin return the first index of the extreme value;
// NaN compares as larger than everything for max and smaller for min, so it propagates.
#pragma once
#include <omp.h>

#include <cmath>
#include <limits>
#include "../core/simd.hpp"

#include "elementwise.hpp"

namespace bilin::kernels {

template <class T>
T sum_contiguous(const T* p, index_t n) {
  index_t i = 0;
  double acc = 0;
  if constexpr (simd_ok<T>) {
    using B = simd::batch<T>;
    constexpr index_t W = static_cast<index_t>(B::size);
    if (n >= 4 * W) {
      B a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
      // flush lane sums into double every 1024 steps so float rounding stays bounded
      while (i + 4 * W <= n) {
        const index_t stop = std::min(n - 4 * W + 1, i + 4 * W * 256);
        for (; i < stop; i += 4 * W) {
          a0 += B::load_unaligned(p + i);
          a1 += B::load_unaligned(p + i + W);
          a2 += B::load_unaligned(p + i + 2 * W);
          a3 += B::load_unaligned(p + i + 3 * W);
        }
        acc += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
        a0 = a1 = a2 = a3 = B(T(0));
      }
    }
  }
  for (; i < n; ++i) acc += static_cast<double>(p[i]);
  return static_cast<T>(acc);
}

enum class ReduceOp { Sum, Max, Min, ArgMax, ArgMin };

// out[r] = op(in[r*len : (r+1)*len]). For ArgMax/ArgMin out receives the index as T and
// idx (if non-null) the index as int64.
template <class T>
void reduce_rows(const T* in, index_t rows, index_t len, T* out, ReduceOp op, std::int64_t* idx = nullptr) {
  const bool par = rows > 1 && rows * len >= kParallelGrain && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
  for (index_t r = 0; r < rows; ++r) {
    const T* p = in + r * len;
    if (op == ReduceOp::Sum) {
      out[r] = sum_contiguous(p, len);
      continue;
    }
    const bool want_max = op == ReduceOp::Max || op == ReduceOp::ArgMax;
    index_t best = 0;
    for (index_t j = 1; j < len; ++j) {
      const T v = p[j], b = p[best];
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(b)) break;
        if (std::isnan(v)) {
          best = j;
          break;
        }
      }
      if (want_max ? v > b : v < b) best = j;
    }
    if (op == ReduceOp::Max || op == ReduceOp::Min) out[r] = len ? p[best] : T(0);
    else out[r] = static_cast<T>(best);
    if (idx) idx[r] = best;
  }
}

// out[j] = sum_i in[i*inner + j] (column sums of a contiguous [outer, inner] array).
template <class T>
void sum_leading(const T* in, index_t outer, index_t inner, T* out) {
  const bool par = inner >= 64 && outer * inner >= kParallelGrain && !omp_in_parallel();
#pragma omp parallel if (par)
  {
    const index_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    // split the columns, each thread owns whole columns: thread-count independent results
    const index_t chunk = ((inner + nt - 1) / nt + 15) / 16 * 16;
    const index_t lo = std::min(inner, t * chunk), hi = std::min(inner, (t + 1) * chunk);
    if (lo < hi) {
      std::vector<double> acc(static_cast<std::size_t>(hi - lo), 0.0);
      for (index_t i = 0; i < outer; ++i) {
        const T* row = in + i * inner;
        for (index_t j = lo; j < hi; ++j) acc[j - lo] += static_cast<double>(row[j]);
      }
      for (index_t j = lo; j < hi; ++j) out[j] = static_cast<T>(acc[j - lo]);
    }
  }
}

}  // namespace bilin::kernels
