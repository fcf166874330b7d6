// bilin/kernels/reduce.hpp — raw reductions over contiguous rows or leading axes.
//
// Contract: `in` is contiguous. reduce_rows treats it as [rows, len] and writes one value per
// row; sum_leading treats it as [outer, inner] and sums over outer (column sums). For any
// layout and any set of axes, as_rows lays the elements out as such a [rows, len] block and
// sum_axes sums over the axes (the sum op's forward and the engine's undoing of broadcasting
// both call it, so the two sum alike). Float sums
// accumulate in SIMD lanes and then in double per row, which keeps the error of long rows
// near that of pairwise summation. argmax/argmin return the first index of the extreme value;
// NaN compares as larger than everything for max and smaller for min, so it propagates.
#pragma once
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>
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

// The elements of x (shape, strides: any layout) as a contiguous [rows, len] block: the kept
// axes (reduce[i] false) first, the reduced ones after, each in axis order. Returns x itself
// when that is already its layout, else a copy made in `buffer`.
template <class T>
const T* as_rows(const Shape& shape, const T* x, const Strides& strides, const std::vector<bool>& reduce,
                 std::vector<T>& buffer) {
  Shape s;
  Strides st;
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t i = 0; i < shape.size(); ++i)
      if (reduce[i] == (pass == 1)) {
        s.push_back(shape[i]);
        st.push_back(strides[i]);
      }
  if (is_contiguous(s, st)) return x;
  buffer.resize(static_cast<std::size_t>(numel(s)));
  strided_copy(s, x, st, buffer.data(), contiguous_strides(s));
  return buffer.data();
}

// out = x (shape, strides: any layout) summed over the axes with reduce[i] set; out holds the
// kept axes contiguously, in order (one value when every axis is reduced). Reducing the
// leading axes of contiguous data (bias gradients, batch sums) is a column sum; any other
// choice goes through the [rows, len] layout.
template <class T>
void sum_axes(const Shape& shape, const T* x, const Strides& strides, const std::vector<bool>& reduce, T* out) {
  index_t rows = 1, len = 1;
  std::size_t n_reduced = 0, n_leading = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    (reduce[i] ? len : rows) *= shape[i];
    if (reduce[i]) n_leading += n_reduced++ == i;
  }
  const bool leading = is_contiguous(shape, strides) && n_reduced > 0 && n_leading == n_reduced;
  if (leading && n_reduced < shape.size()) {
    sum_leading(x, len, rows, out);
  } else {
    std::vector<T> buffer;
    reduce_rows(as_rows(shape, x, strides, reduce, buffer), rows, len, out, ReduceOp::Sum);
  }
}

}  // namespace bilin::kernels
