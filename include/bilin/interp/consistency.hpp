// bilin/interp/consistency.hpp — are the same eigenvectors found again? Matching the features of
// two independently trained models (§4.2, Fig. 5; App. F, Fig. 20).
//
// Contract:
// - Models trained from different seeds or at different widths have unrelated hidden bases, so
//   features are compared where they live in common: as input-space (pixel) pictures,
//   Eigencomponents::inputs. An eigenvector is defined only up to sign, so the similarity of
//   two features is the cosine after sign alignment, |cos(a, b)|.
// - abs_cosine_matrix(A, B): A [m, D], B [n, D] row-major → |cos(A_i, B_j)| [m·n], row-major;
//   a zero row has cosine 0 with everything.
// - max_assignment(S, m, n) (m ≤ n): the Hungarian method (Kuhn–Munkres, O(m²n), shortest
//   augmenting paths with potentials) on the score matrix S [m, n]; returns for each row i its
//   column, all distinct, maximizing Σ_i S[i, col(i)] exactly (ties: any optimum).
// - match_components(ref, other, k, positive): the k most positive (positive = true) or most
//   negative eigencomponents of both; Hungarian matching of ref's k to other's k by |cos|.
//   FeatureMatch reports top_direct = |cos| of the two rank-1 features (no matching), top_matched
//   = |cos| of ref's rank-1 feature with its matched partner, mean_matched over all k pairs, and
//   the partner index per ref feature (index into other.top_positive/negative(k)). Fewer than k
//   components of that sign: k shrinks to what both have (0 → all NaN).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../core/error.hpp"
#include "decompose.hpp"

namespace bilin::interp {

template <class T>
std::vector<double> abs_cosine_matrix(const T* A, index_t m, const T* B, index_t n, index_t D) {
  std::vector<double> na(static_cast<std::size_t>(m)), nb(static_cast<std::size_t>(n));
  for (index_t i = 0; i < m; ++i) {
    double s = 0;
    for (index_t p = 0; p < D; ++p) s += static_cast<double>(A[i * D + p]) * static_cast<double>(A[i * D + p]);
    na[i] = std::sqrt(s);
  }
  for (index_t j = 0; j < n; ++j) {
    double s = 0;
    for (index_t p = 0; p < D; ++p) s += static_cast<double>(B[j * D + p]) * static_cast<double>(B[j * D + p]);
    nb[j] = std::sqrt(s);
  }
  std::vector<double> S(static_cast<std::size_t>(m * n), 0.0);
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      if (!(na[i] > 0) || !(nb[j] > 0)) continue;
      double d = 0;
      for (index_t p = 0; p < D; ++p) d += static_cast<double>(A[i * D + p]) * static_cast<double>(B[j * D + p]);
      S[static_cast<std::size_t>(i * n + j)] = std::fabs(d) / (na[i] * nb[j]);
    }
  return S;
}

inline std::vector<index_t> max_assignment(const std::vector<double>& S, index_t m, index_t n) {
  BILIN_CHECK(m >= 0 && m <= n && static_cast<index_t>(S.size()) == m * n, "max_assignment", "need a score matrix [m, n] with m <= n, got ",
              S.size(), " scores for ", m, "x", n);
  // Minimize cost = −S with the classic potentials formulation (1-based, column 0 = virtual).
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(static_cast<std::size_t>(m + 1), 0.0), v(static_cast<std::size_t>(n + 1), 0.0);
  std::vector<index_t> p(static_cast<std::size_t>(n + 1), 0), way(static_cast<std::size_t>(n + 1), 0);
  for (index_t i = 1; i <= m; ++i) {
    p[0] = i;
    index_t j0 = 0;
    std::vector<double> minv(static_cast<std::size_t>(n + 1), inf);
    std::vector<char> used(static_cast<std::size_t>(n + 1), 0);
    do {
      used[j0] = 1;
      const index_t i0 = p[j0];
      double delta = inf;
      index_t j1 = 0;
      for (index_t j = 1; j <= n; ++j)
        if (!used[j]) {
          const double cur = -S[static_cast<std::size_t>((i0 - 1) * n + (j - 1))] - u[i0] - v[j];
          if (cur < minv[j]) minv[j] = cur, way[j] = j0;
          if (minv[j] < delta) delta = minv[j], j1 = j;
        }
      for (index_t j = 0; j <= n; ++j)
        if (used[j]) u[p[j]] += delta, v[j] -= delta;
        else minv[j] -= delta;
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const index_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  std::vector<index_t> col(static_cast<std::size_t>(m), -1);
  for (index_t j = 1; j <= n; ++j)
    if (p[j] > 0) col[p[j] - 1] = j - 1;
  return col;
}

struct FeatureMatch {
  index_t k = 0;
  double top_direct = NAN, top_matched = NAN, mean_matched = NAN;
  std::vector<index_t> partner;  // per ref feature
  std::vector<double> cosine;    // per ref feature, with its partner
};

template <class T>
FeatureMatch match_components(const Eigencomponents<T>& ref, const Eigencomponents<T>& other, index_t k, bool positive) {
  BILIN_CHECK(ref.input_dim() == other.input_dim(), "match_components", "pictures of ", ref.input_dim(), " and ",
              other.input_dim(), " values cannot be compared");
  const auto ia = positive ? ref.top_positive(k) : ref.top_negative(k);
  const auto ib = positive ? other.top_positive(k) : other.top_negative(k);
  FeatureMatch r;
  r.k = static_cast<index_t>(std::min(ia.size(), ib.size()));
  if (r.k == 0) return r;
  const index_t D = ref.input_dim();
  std::vector<T> A, B;
  for (index_t i = 0; i < r.k; ++i) {
    A.insert(A.end(), ref.input(ia[i]), ref.input(ia[i]) + D);
    B.insert(B.end(), other.input(ib[i]), other.input(ib[i]) + D);
  }
  const std::vector<double> S = abs_cosine_matrix(A.data(), r.k, B.data(), r.k, D);
  r.partner = max_assignment(S, r.k, r.k);
  double sum = 0;
  for (index_t i = 0; i < r.k; ++i) {
    r.cosine.push_back(S[static_cast<std::size_t>(i * r.k + r.partner[i])]);
    sum += r.cosine.back();
  }
  r.top_direct = S[0];
  r.top_matched = r.cosine[0];
  r.mean_matched = sum / static_cast<double>(r.k);
  return r;
}

}  // namespace bilin::interp
