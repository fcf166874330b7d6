// bilin/interp/correlation.hpp — Pearson and Spearman correlation of two samples.
//
// Contract:
// - pearson(x, y): Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² Σ(y−ȳ)²), accumulated in double (two passes, so a
//   large common offset does not cancel). NaN when either sample is constant (no defined
//   correlation: callers decide how to count it rather than getting a silent 0).
// - average_ranks(x): 1-based ranks with ties given the mean of the ranks they span (the
//   "fractional ranking" Spearman's coefficient needs when values repeat, e.g. zero counts).
// - spearman(x, y) = pearson(average_ranks(x), average_ranks(y)): the standard tie-corrected
//   coefficient (scipy.stats.spearmanr's). NaN when either sample is constant.
// - Errors (bilin::Error, op "pearson"/"spearman"): samples of different lengths or fewer
//   than 2 values.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "../core/error.hpp"

namespace bilin::interp {

inline double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  BILIN_CHECK(x.size() == y.size() && x.size() >= 2, "pearson", "needs two samples of equal length >= 2, got ",
              x.size(), " and ", y.size());
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double a = x[i] - mx, b = y[i] - my;
    sxy += a * b, sxx += a * a, syy += b * b;
  }
  if (!(sxx > 0) || !(syy > 0)) return std::numeric_limits<double>::quiet_NaN();
  return sxy / std::sqrt(sxx * syy);
}

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
  return pearson(average_ranks(x), average_ranks(y));
}

}  // namespace bilin::interp
