// bilin/kernels/topk.hpp — the k largest entries of every row, on raw pointers.
//
// Contract: topk_rows(x, rows, n, ld, k, vals, idx) reads row r at x + r·ld (n entries) and
// writes its k largest entries to vals[r·k ..] and their column indices to idx[r·k ..], sorted
// by value, largest first; equal values keep the lower index first (so the choice among ties
// is the first-seen one, deterministic). 1 ≤ k ≤ n is the caller's job (ops/ checks it). A row
// holding NaN still gets k distinct in-range indices, but which ones is unspecified: callers
// that care check finiteness first. Rows run on OpenMP threads unless called from a parallel region; every
// row's result is independent of the thread count.
// Why not a partial sort: a cheap lower bound on the k-th largest entry (from maxima of
// groups of the row, see topk_row) rejects all but a few times k entries in one vectorizable
// pass, and only those are ranked. Rows too short for the bound, or holding NaN, take a
// min-heap scan instead; both give the same answer.
// topk_rows_reference is the plain partial sort kept as the test oracle.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

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

// The heap scan over the whole row: the fallback when the bound below cannot be used
// (rows shorter than the group count, or NaN in the row).
template <class T>
void topk_row_heap(const T* x, index_t n, index_t k, T* vals, std::int64_t* idx) {
  Heap<T> h{vals, idx, k};
  for (index_t j = 0; j < k; ++j) vals[j] = x[j], idx[j] = j;
  for (index_t p = k / 2; p-- > 0;) h.sift_down(p);
  for (index_t j = k; j < n; ++j)
    if (x[j] > vals[0]) h.replace_min(x[j], j);
  sort_desc(vals, idx, k);
}

// Scratch of one thread: group maxima and candidates.
template <class T>
struct Scratch {
  std::vector<T> group_max, cand_v;
  std::vector<std::int64_t> cand_i;
};

// A lower bound first: split the row into G ≥ k disjoint groups (entry j in group j mod G) and
// take the k-th largest group maximum t. The k groups whose maxima are ≥ t each hold an entry
// ≥ t, so the k-th largest entry of the row is ≥ t and every entry < t can be skipped. The
// maxima are one vectorizable pass; the entries ≥ t (a few times k for typical rows) are then
// ranked by insertion into a sorted list of k.
template <class T>
void topk_row(const T* x, index_t n, index_t k, T* vals, std::int64_t* idx, Scratch<T>& sc) {
  const index_t G = ((2 * k + 15) / 16) * 16;
  if (n < 2 * G) return topk_row_heap(x, n, k, vals, idx);
  sc.group_max.assign(x, x + G);
  T* m = sc.group_max.data();
  index_t j = G;
  for (; j + G <= n; j += G)
    for (index_t g = 0; g < G; ++g) m[g] = m[g] < x[j + g] ? x[j + g] : m[g];
  for (index_t g = 0; j + g < n; ++g) m[g] = m[g] < x[j + g] ? x[j + g] : m[g];
  for (index_t g = 0; g < G; ++g)
    if (m[g] != m[g]) return topk_row_heap(x, n, k, vals, idx);  // NaN: no order to bound by
  std::nth_element(m, m + (k - 1), m + G, [](T a, T b) { return a > b; });
  const T t = m[k - 1];
  sc.cand_v.resize(static_cast<std::size_t>(n));
  sc.cand_i.resize(static_cast<std::size_t>(n));
  index_t c = 0;
  for (index_t e = 0; e < n; ++e) {  // branch-free: most entries fail the test
    sc.cand_v[static_cast<std::size_t>(c)] = x[e];
    sc.cand_i[static_cast<std::size_t>(c)] = e;
    c += x[e] >= t;
  }
  // candidates arrive in increasing index: keeping a strictly greater one only gives ties to
  // the lower index
  index_t filled = 0;
  for (index_t e = 0; e < c; ++e) {
    const T v = sc.cand_v[static_cast<std::size_t>(e)];
    if (filled == k && !(v > vals[k - 1])) continue;
    index_t p = filled < k ? filled++ : k - 1;
    for (; p > 0 && vals[p - 1] < v; --p) vals[p] = vals[p - 1], idx[p] = idx[p - 1];
    vals[p] = v;
    idx[p] = sc.cand_i[static_cast<std::size_t>(e)];
  }
}
}  // namespace topk_detail

template <class T>
void topk_rows(const T* x, index_t rows, index_t n, index_t ld, index_t k, T* vals, std::int64_t* idx) {
#pragma omp parallel if (rows >= 64 && !omp_in_parallel())
  {
    topk_detail::Scratch<T> sc;
#pragma omp for schedule(static)
    for (index_t r = 0; r < rows; ++r) topk_detail::topk_row(x + r * ld, n, k, vals + r * k, idx + r * k, sc);
  }
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
