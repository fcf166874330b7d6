// bilin/interp/lowrank_correlation.hpp — how low-rank are output features? The paper's Fig. 9 /
// Table 5 protocol: per output SAE feature, the Pearson correlation between its true activation
// and the top-k eigencomponent approximation Σ_{i≤k} λ_i (v_i·x)², over its ACTIVE positions only.
//
// Contract:
// - pearson(x, y, n): the sample correlation in double; 0 when either side has zero variance
//   (a constant prediction carries no information).
// - active_sets(code, n_latents): per latent the rows where its TopK code is non-zero and the
//   values there (the official "active" = y ≠ 0; the TopK has no ReLU, so negative values count).
// - lowrank_correlations(spec, X, act, opt, goe) for the spectra of Q(e_a) of every feature a
//   (interaction_batch.hpp: values by |λ| descending, all n eigenvectors), the MLP inputs X [N, n]
//   and the active sets: every feature with ≥ opt.min_active active rows is analysed; for each
//   k in opt.ks (k ≤ n) r(k) = pearson(activation, Σ_{i≤k} λ_i (v_i·x)²). Controls at the same ks:
//   r_random: the first k of a random permutation of the eigenpairs (seeded per feature from
//   opt.seed, so reproducible); r_goe: the top-k (by |μ|) eigencomponents of a random symmetric
//   matrix (goe: spectra of a pool of GOE samples, feature a uses sample a mod pool size; Pearson
//   does not see the matrix's scale). With k = n the approximation is xᵀQx, which on active
//   positions is an affine function of the activation, so r(n) = 1 up to rounding.
// - CorrelationResult::mean(curve, j) averages over analysed features; frac_above(j, t) is the
//   fraction of analysed features with r > t at k = ks[j].
// - Features are processed in parallel (OpenMP), each with single-threaded GEMMs.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../kernels/gemm.hpp"
#include "../ops/sparse_code.hpp"
#include "interaction_batch.hpp"

namespace bilin::interp {

template <class A, class B>
double pearson(const A* x, const B* y, index_t n) {
  if (n < 2) return 0;
  double mx = 0, my = 0;
  for (index_t i = 0; i < n; ++i) mx += static_cast<double>(x[i]), my += static_cast<double>(y[i]);
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (index_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(x[i]) - mx, b = static_cast<double>(y[i]) - my;
    sxy += a * b, sxx += a * a, syy += b * b;
  }
  if (!(sxx > 0) || !(syy > 0)) return 0;
  return sxy / std::sqrt(sxx * syy);
}

struct ActiveSet {
  std::vector<index_t> rows;
  std::vector<float> values;
  index_t size() const { return static_cast<index_t>(rows.size()); }
};

inline std::vector<ActiveSet> active_sets(const SparseCode<float>& code, index_t n_latents) {
  std::vector<ActiveSet> out(static_cast<std::size_t>(n_latents));
  const index_t B = code.values.size(0), k = code.values.size(1);
  for (index_t r = 0; r < B; ++r)
    for (index_t j = 0; j < k; ++j) {
      const float v = code.values.data()[r * k + j];
      if (v == 0.0f) continue;
      const auto a = code.indices.data()[r * k + j];
      BILIN_CHECK(a >= 0 && a < n_latents, "active_sets", "latent index ", a, " outside [0, ", n_latents, ")");
      out[static_cast<std::size_t>(a)].rows.push_back(r);
      out[static_cast<std::size_t>(a)].values.push_back(v);
    }
  return out;
}

struct CorrelationOptions {
  std::vector<index_t> ks;  // empty: 1..64 and n
  index_t min_active = 10;
  std::uint64_t seed = 0;
};

struct CorrelationResult {
  std::vector<index_t> ks;
  std::vector<index_t> features, active;                      // analysed features, their active counts
  std::vector<std::vector<double>> r, r_random, r_goe;         // [analysed][ks]
  index_t size() const { return static_cast<index_t>(features.size()); }
  static double mean_of(const std::vector<std::vector<double>>& c, std::size_t j) {
    double s = 0;
    for (const auto& v : c) s += v[j];
    return c.empty() ? 0.0 : s / static_cast<double>(c.size());
  }
  double frac_above(std::size_t j, double t) const {
    std::size_t c = 0;
    for (const auto& v : r) c += v[j] > t;
    return r.empty() ? 0.0 : static_cast<double>(c) / static_cast<double>(r.size());
  }
  std::size_t index_of(index_t k) const {
    const auto it = std::find(ks.begin(), ks.end(), k);
    BILIN_CHECK(it != ks.end(), "CorrelationResult", "k = ", k, " was not measured");
    return static_cast<std::size_t>(it - ks.begin());
  }
};

inline std::vector<index_t> default_ks(index_t n, index_t kmax = 64) {
  std::vector<index_t> ks;
  for (index_t k = 1; k <= std::min(kmax, n); ++k) ks.push_back(k);
  if (ks.back() != n) ks.push_back(n);
  return ks;
}

namespace detail {
// Running sums Σ λ_{order[i]} g[:, order[i]]² over i, Pearson against y at every k in ks.
inline void curve_in_order(const std::vector<float>& g, index_t N, index_t n, const float* vals,
                           const std::vector<index_t>& order, const std::vector<index_t>& ks, const float* y,
                           std::vector<double>& out) {
  std::vector<double> cum(static_cast<std::size_t>(N), 0.0);
  out.assign(ks.size(), 0.0);
  std::size_t next = 0;
  for (index_t i = 0; i < static_cast<index_t>(order.size()) && next < ks.size(); ++i) {
    const index_t c = order[i];
    const double l = vals[c];
    for (index_t r = 0; r < N; ++r) {
      const double p = g[r * n + c];
      cum[r] += l * p * p;
    }
    while (next < ks.size() && ks[next] == i + 1) out[next++] = pearson(cum.data(), y, N);
  }
}
}  // namespace detail

inline CorrelationResult lowrank_correlations(const SortedSpectra<float>& spec, const TensorF& X,
                                              const std::vector<ActiveSet>& act, const CorrelationOptions& opt,
                                              const SortedSpectra<float>& goe) {
  const index_t m = spec.count(), n = spec.dim();
  BILIN_CHECK(spec.vectors.defined(), "lowrank_correlations", "the spectra need eigenvectors");
  BILIN_CHECK(X.defined() && X.dim() == 2 && X.size(1) == n, "lowrank_correlations", "inputs must be [N, ", n,
              "], got ", X.defined() ? to_string(X.shape()) : "none");
  BILIN_CHECK(static_cast<index_t>(act.size()) == m, "lowrank_correlations", act.size(), " active sets for ", m,
              " features");
  BILIN_CHECK(goe.count() > 0 && goe.dim() == n && goe.vectors.defined(), "lowrank_correlations",
              "the GOE control needs at least one ", n, "x", n, " spectrum with vectors");
  CorrelationResult res;
  res.ks = opt.ks.empty() ? default_ks(n) : opt.ks;
  for (index_t k : res.ks) BILIN_CHECK(k >= 1 && k <= n, "lowrank_correlations", "k = ", k, " is outside [1, ", n, "]");
  BILIN_CHECK(std::is_sorted(res.ks.begin(), res.ks.end()), "lowrank_correlations", "ks must be ascending");
  for (index_t a = 0; a < m; ++a)
    if (act[a].size() >= opt.min_active) res.features.push_back(a), res.active.push_back(act[a].size());
  const index_t F = res.size();
  res.r.resize(F), res.r_random.resize(F), res.r_goe.resize(F);
  const TensorF x = X.is_contiguous() ? X : X.contiguous();
  const index_t N = x.size(0);
  for (index_t a : res.features)
    for (index_t row : act[a].rows)
      BILIN_CHECK(row >= 0 && row < N, "lowrank_correlations", "feature ", a, ": active row ", row, " outside [0, ", N, ")");
  std::vector<index_t> ident(static_cast<std::size_t>(n));
  std::iota(ident.begin(), ident.end(), index_t(0));
#pragma omp parallel for schedule(dynamic, 1)
  for (index_t f = 0; f < F; ++f) {
    const index_t a = res.features[f];
    const ActiveSet& s = act[a];
    const index_t Na = s.size();
    std::vector<float> Xa(static_cast<std::size_t>(Na * n)), g(static_cast<std::size_t>(Na * n));
    for (index_t r = 0; r < Na; ++r) std::copy_n(x.data() + s.rows[r] * n, n, Xa.data() + r * n);
    kernels::gemm<float>(kernels::Trans::N, kernels::Trans::T, Na, n, n, 1.0f, Xa.data(), n, spec.vecs(a), n, 0.0f,
                         g.data(), n);
    detail::curve_in_order(g, Na, n, spec.vals(a), ident, res.ks, s.values.data(), res.r[f]);
    std::vector<index_t> perm = ident;
    Generator gen(opt.seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(a) + 1);
    for (index_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[static_cast<index_t>(gen.randint(static_cast<std::uint64_t>(i + 1)))]);
    detail::curve_in_order(g, Na, n, spec.vals(a), perm, res.ks, s.values.data(), res.r_random[f]);
    const index_t gi = a % goe.count();
    kernels::gemm<float>(kernels::Trans::N, kernels::Trans::T, Na, n, n, 1.0f, Xa.data(), n, goe.vecs(gi), n, 0.0f,
                         g.data(), n);
    detail::curve_in_order(g, Na, n, goe.vals(gi), ident, res.ks, s.values.data(), res.r_goe[f]);
  }
  return res;
}

}  // namespace bilin::interp
