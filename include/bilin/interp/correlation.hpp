// bilin/interp/correlation.hpp — Spearman's rank correlation of two samples.
//
// Contract:
// - average_ranks(x): 1-based ranks with ties given the mean of the ranks they span (the
//   "fractional ranking" Spearman's coefficient needs when values repeat, e.g. zero counts).
// - spearman(x, y) = Pearson correlation (lowrank_correlation.hpp's pearson) of
//   average_ranks(x) and average_ranks(y): the standard tie-corrected coefficient
//   (scipy.stats.spearmanr's). NaN when either sample is constant: there is no defined
//   correlation, and callers decide how to count it rather than getting a silent 0.
// - Errors (bilin::Error, op "spearman"): samples of different lengths or fewer than 2 values.
#pragma once
#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "../core/error.hpp"
#include "lowrank_correlation.hpp"

namespace bilin::interp {

inline std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<std::size_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i + 1;
    while (j < idx.size() && x[idx[j]] == x[idx[i]]) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
    for (std::size_t q = i; q < j; ++q) r[idx[q]] = mean_rank;
    i = j;
  }
  return r;
}

inline double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  BILIN_CHECK(x.size() == y.size() && x.size() >= 2, "spearman", "needs two samples of equal length >= 2, got ",
              x.size(), " and ", y.size());
  const auto constant = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [&](double a) { return a == v[0]; });
  };
  if (constant(x) || constant(y)) return std::numeric_limits<double>::quiet_NaN();
  const auto rx = average_ranks(x), ry = average_ranks(y);
  return pearson(rx.data(), ry.data(), static_cast<index_t>(rx.size()));
}

}  // namespace bilin::interp
