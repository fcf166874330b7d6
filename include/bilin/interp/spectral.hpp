// bilin/interp/spectral.hpp — scalar summaries of an eigenvalue spectrum (how low-rank is Q?).
//
// Contract (all take the eigenvalues of one symmetric matrix, any order, any sign):
// - effective_rank(λ) = exp(H(p)) with p_i = |λ_i| / Σ|λ_j| and H the Shannon entropy in nats
//   (Roy & Vetterli 2007, applied to |λ| = the singular values of a symmetric matrix): 1 for a
//   rank-one matrix, n when all |λ| are equal. All-zero spectrum: 0.
// - top_mass(λ, k) = (sum of the k largest |λ|) / Σ|λ|, in [0, 1]; 0 for an all-zero spectrum.
// - participation_ratio(λ) = (Σλ²)² / Σλ⁴: another soft count of dominant components.
// - SpectrumSummary summarize(λ) bundles the three plus the counts of positive/negative values.
// - l1l2_rank(λ) = (Σ|λ|)² / Σλ²: the official code's compute_effective_rank (the paper's
//   (L1/L2)² sparsity), n for a flat spectrum, 1 for rank one; 0 for an all-zero spectrum.
// - energy_share(λ, k) = Σ of the k largest λ² / Σλ² (the top-k share of ‖Q‖_F²), 0 if all zero.
// - traceless(λ) = λ − mean(λ): the spectrum of Q − (tr Q / n)·I (same eigenvectors). On inputs
//   of fixed norm (a weightless RMSNorm before the MLP) the trace part adds a constant.
// - goe_matrix(n, std, gen) [n, n]: a Gaussian orthogonal ensemble sample, symmetric, off-diagonal
//   entries N(0, std²) and diagonal N(0, 2·std²), the random baseline of the paper's Fig. 27B.
//   offdiag_std(Q) is the root mean square of Q's off-diagonal entries (the matching scale).
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace bilin::interp {

inline double effective_rank(const std::vector<double>& vals) {
  double total = 0;
  for (double v : vals) total += std::fabs(v);
  if (!(total > 0)) return 0;
  double H = 0;
  for (double v : vals) {
    const double p = std::fabs(v) / total;
    if (p > 0) H -= p * std::log(p);
  }
  return std::exp(H);
}

inline double top_mass(const std::vector<double>& vals, std::size_t k) {
  std::vector<double> a(vals.size());
  for (std::size_t i = 0; i < vals.size(); ++i) a[i] = std::fabs(vals[i]);
  const double total = [&] {
    double t = 0;
    for (double x : a) t += x;
    return t;
  }();
  if (!(total > 0)) return 0;
  k = std::min(k, a.size());
  std::partial_sort(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(k), a.end(), std::greater<double>());
  double s = 0;
  for (std::size_t i = 0; i < k; ++i) s += a[i];
  return s / total;
}

inline double participation_ratio(const std::vector<double>& vals) {
  double s2 = 0, s4 = 0;
  for (double v : vals) {
    s2 += v * v;
    s4 += v * v * v * v;
  }
  return s4 > 0 ? s2 * s2 / s4 : 0;
}

struct SpectrumSummary {
  double effective_rank = 0, top10_mass = 0, participation_ratio = 0;
  std::size_t positive = 0, negative = 0;
};

inline SpectrumSummary summarize(const std::vector<double>& vals) {
  SpectrumSummary s;
  s.effective_rank = effective_rank(vals);
  s.top10_mass = top_mass(vals, 10);
  s.participation_ratio = participation_ratio(vals);
  for (double v : vals) {
    if (v > 0) ++s.positive;
    if (v < 0) ++s.negative;
  }
  return s;
}

inline double l1l2_rank(const std::vector<double>& vals) {
  double l1 = 0, l2 = 0;
  for (double v : vals) l1 += std::fabs(v), l2 += v * v;
  return l2 > 0 ? l1 * l1 / l2 : 0;
}

inline double energy_share(const std::vector<double>& vals, std::size_t k) {
  std::vector<double> e(vals.size());
  for (std::size_t i = 0; i < vals.size(); ++i) e[i] = vals[i] * vals[i];
  return top_mass(e, k);  // the top-k share of Σλ² is the top-k mass of the λ²
}

inline std::vector<double> traceless(std::vector<double> vals) {
  if (vals.empty()) return vals;
  double mean = 0;
  for (double v : vals) mean += v;
  mean /= static_cast<double>(vals.size());
  for (double& v : vals) v -= mean;
  return vals;
}

template <class T>
Tensor<T> goe_matrix(index_t n, double std, Generator& gen) {
  Tensor<T> g = Tensor<T>::empty({n, n});
  for (index_t i = 0; i < n; ++i) {
    g.data()[i * n + i] = static_cast<T>(std * std::sqrt(2.0) * gen.normal());
    for (index_t j = i + 1; j < n; ++j) {
      const T v = static_cast<T>(std * gen.normal());
      g.data()[i * n + j] = v;
      g.data()[j * n + i] = v;
    }
  }
  return g;
}

template <class T>
double offdiag_std(const T* q, index_t n) {
  double s = 0;
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j)
      if (i != j) s += static_cast<double>(q[i * n + j]) * static_cast<double>(q[i * n + j]);
  return n > 1 ? std::sqrt(s / static_cast<double>(n * (n - 1))) : 0.0;
}

template <class T>
std::vector<double> to_doubles(const Tensor<T>& t) {
  const auto v = t.to_vector();
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace bilin::interp
