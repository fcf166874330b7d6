// bilin/kernels/topk.hpp — the k largest entries of every row, on raw pointers.
//
// Contract: topk_rows(x, rows, n, ld, k, vals, idx) reads row r at x + r·ld (n entries) and
// writes its k largest entries to vals[r·k ..] and their column indices to idx[r·k ..], sorted
// by value, largest first; equal values keep the lower index first (so the choice among ties
// is the first-seen one, deterministic). 1 ≤ k ≤ n is the caller's job (ops/ checks it). NaN
// never enters the selection (comparisons with NaN are false), so callers that care check
// finiteness first. Rows run on OpenMP threads unless called from a parallel region; every
// row's result is independent of the thread count.
// Why a threshold scan instead of a partial sort: after the first k entries seed a min-heap,
// an entry only matters when it beats the heap's minimum, and for k ≪ n that is rare. One
// SIMD compare of a whole vector against the threshold rejects most of the row at once, so a
// row costs about one pass of loads plus a few heap updates.
// topk_rows_reference is the plain partial sort kept as the test oracle.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "../core/simd.hpp"
#include "elementwise.hpp"

namespace bilin::kernels {

namespace topk_detail {
// Min-heap of (value, index) where "smaller" means lower value, or higher index among equal
// values (so a tie with the current minimum never displaces an earlier index).
template <class T>
struct Heap {
  T* v;
  std::int64_t* i;
  index_t k;
  static bool less(T av, std::int64_t ai, T bv, std::int64_t bi) { return av < bv || (av == bv && ai > bi); }
  void sift_down(index_t p) {
    for (;;) {
      index_t c = 2 * p + 1;
      if (c >= k) return;
      if (c + 1 < k && less(v[c + 1], i[c + 1], v[c], i[c])) ++c;
      if (!less(v[c], i[c], v[p], i[p])) return;
      std::swap(v[c], v[p]);
      std::swap(i[c], i[p]);
      p = c;
    }
  }
  void replace_min(T val, std::int64_t idx) {
    v[0] = val;
    i[0] = idx;
    sift_down(0);
  }
};

// Insertion sort, largest first (k is small; no allocation per row).
template <class T>
void sort_desc(T* v, std::int64_t* i, index_t k) {
  for (index_t s = 1; s < k; ++s) {
    const T cv = v[s];
    const std::int64_t ci = i[s];
    index_t t = s;
    for (; t > 0 && (v[t - 1] < cv || (v[t - 1] == cv && i[t - 1] > ci)); --t) v[t] = v[t - 1], i[t] = i[t - 1];
    v[t] = cv;
    i[t] = ci;
  }
}

template <class T>
void topk_row(const T* x, index_t n, index_t k, T* vals, std::int64_t* idx) {
  Heap<T> h{vals, idx, k};
  for (index_t j = 0; j < k; ++j) vals[j] = x[j], idx[j] = j;
  for (index_t p = k / 2; p-- > 0;) h.sift_down(p);
  index_t j = k;
  auto consider = [&](index_t c) {
    if (x[c] > vals[0]) h.replace_min(x[c], c);
  };
  if constexpr (simd_ok<T>) {
    using B = xsimd::batch<T>;
    constexpr index_t W = static_cast<index_t>(B::size);
    for (; j < n && j % W; ++j) consider(j);
    for (; j + W <= n; j += W)
      if (xsimd::any(B::load_unaligned(x + j) > B(vals[0])))
        for (index_t c = j; c < j + W; ++c) consider(c);
  }
  for (; j < n; ++j) consider(j);
  sort_desc(vals, idx, k);
}
}  // namespace topk_detail

template <class T>
void topk_rows(const T* x, index_t rows, index_t n, index_t ld, index_t k, T* vals, std::int64_t* idx) {
#pragma omp parallel for schedule(static) if (rows >= 64 && !omp_in_parallel())
  for (index_t r = 0; r < rows; ++r) topk_detail::topk_row(x + r * ld, n, k, vals + r * k, idx + r * k);
}

template <class T>
void topk_rows_reference(const T* x, index_t rows, index_t n, index_t ld, index_t k, T* vals, std::int64_t* idx) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (index_t r = 0; r < rows; ++r) {
    const T* row = x + r * ld;
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](std::int64_t a, std::int64_t b) {
      return row[a] > row[b] || (row[a] == row[b] && a < b);
    });
    for (index_t s = 0; s < k; ++s) vals[r * k + s] = row[order[static_cast<std::size_t>(s)]], idx[r * k + s] = order[static_cast<std::size_t>(s)];
  }
}

}  // namespace bilin::kernels
