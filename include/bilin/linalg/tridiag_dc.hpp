// bilin/linalg/tridiag_dc.hpp — Cuppen's divide and conquer for the eigenvectors of a
// symmetric tridiagonal matrix (the LAPACK stedc/laed0..4 scheme).
//
// Contract (namespace bilin::linalg::detail):
//   void tridiag_dc(n, d, e, Q, ldq, leaf = 32)
// - d[0..n) diagonal, e[0..n-1) off-diagonal (double; e is not modified).
// - Out: d ascending eigenvalues; Q (n×n, row-major, leading dimension ldq, element type T)
//   holds the eigenvectors as COLUMNS (column i belongs to d[i]).
// - Precision: eigenvalues, the secular equation and the Gu–Eisenstat vector formula are all
//   evaluated in double; the eigenvector matrix and its GEMM updates are in T. Deflation uses
//   T's epsilon, because that is the accuracy the vectors are stored with anyway.
// How it works: T = diag(T1, T2) + ρ u uᵀ (split in the middle, ρ = the coupling element);
// the halves are solved recursively (implicit QL below `leaf`), and the merge solves the
// rank-one update D + ρ z zᵀ: deflation of tiny z_i and of near-equal d_i (Givens), the
// secular equation 1 + ρ Σ z_i²/(d_i − λ) = 0 per root by a bracketed two-pole rational
// iteration on the distance to the nearer pole (so d_i − λ_j is known to full relative
// accuracy), ẑ recomputed from the roots (Gu & Eisenstat 1994) so the new vectors are
// numerically orthogonal, and one GEMM per half for Q·U (columns that live only in the top
// or the bottom half skip the zero block, as in LAPACK's laed2 column types).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "../core/error.hpp"
#include "../kernels/gemm.hpp"
#include "tridiag_ql.hpp"
#include "vector_kernels.hpp"

namespace bilin::linalg::detail {

// r·Σ_{i∈[b,e)} w2_i/(dd_i − tau) and its derivative r·Σ w2_i/(dd_i − tau)².
inline void secular_sums(index_t b, index_t e, const double* dd, const double* w2, double tau, double& s, double& ds) {
  double acc = 0, dacc = 0;
  index_t i = b;
  if constexpr (vk_simd<double>) {
    using V = VK<double>;
    const typename V::B tv(tau), one(1.0);
    typename V::B a(0.0), da(0.0);
    for (; i + V::W <= e; i += V::W) {
      const auto inv = one / (V::load(dd + i) - tv);
      const auto t = V::load(w2 + i) * inv;
      a += t;
      da = V::fma(t, inv, da);
    }
    acc = V::hsum(a);
    dacc = V::hsum(da);
  }
  for (; i < e; ++i) {
    const double inv = 1.0 / (dd[i] - tau);
    const double t = w2[i] * inv;
    acc += t;
    dacc += t * inv;
  }
  s = acc;
  ds = dacc;
}

// Root j (0-based) of 1 + r Σ w2_i/(dl_i − λ) = 0 with dl strictly ascending, w2 > 0, r > 0.
// Writes delta[i] = dl_i − λ_j and returns λ_j. Root j lies in (dl_j, dl_{j+1}) (the last one
// in (dl_{k−1}, dl_{k−1} + r Σ w2)); it is found as λ = dl_org + τ with org the nearer pole.
inline double secular_root(index_t k, const double* dl, const double* w2, double r, index_t j, double* delta) {
  const double eps = std::numeric_limits<double>::epsilon();
  index_t org;
  double lo, hi;
  if (j < k - 1) {
    const double mid = 0.5 * (dl[j + 1] - dl[j]);
    for (index_t i = 0; i < k; ++i) delta[i] = dl[i] - dl[j];
    double s1, d1;
    secular_sums(0, k, delta, w2, mid, s1, d1);
    const double fmid = 1.0 + r * s1;
    if (fmid >= 0) {
      org = j;
      lo = 0;
      hi = mid;
    } else {
      org = j + 1;
      lo = -mid;
      hi = 0;
      for (index_t i = 0; i < k; ++i) delta[i] = dl[i] - dl[j + 1];
    }
  } else {
    org = k - 1;
    double sw = 0;
    for (index_t i = 0; i < k; ++i) sw += w2[i];
    lo = 0;
    hi = r * sw;
    for (index_t i = 0; i < k; ++i) delta[i] = dl[i] - dl[k - 1];
  }
  // delta[] holds dd_i = dl_i − dl_org during the iteration.
  double tau = 0.5 * (lo + hi);
  for (int it = 0; it < 300; ++it) {
    double psi, dpsi, phi = 0, dphi = 0;
    secular_sums(0, j + 1, delta, w2, tau, psi, dpsi);
    if (j + 1 < k) secular_sums(j + 1, k, delta, w2, tau, phi, dphi);
    psi *= r;
    dpsi *= r;
    phi *= r;
    dphi *= r;
    const double f = 1.0 + psi + phi;
    const double err = eps * (8.0 * (phi - psi) + 2.0 + 3.0 * std::fabs(tau) * (dpsi + dphi));
    if (std::fabs(f) <= err) break;
    if (f < 0) lo = tau;
    else hi = tau;
    if (hi - lo <= 2.0 * eps * std::max(std::fabs(lo), std::fabs(hi)) || hi - lo <= std::numeric_limits<double>::min()) {
      tau = 0.5 * (lo + hi);
      break;
    }
    double cand = std::numeric_limits<double>::quiet_NaN();
    const double dp = delta[j] - tau;
    if (it < 40) {
      if (j + 1 < k) {
        const double dq = delta[j + 1] - tau;
        const double b1 = dpsi * dp * dp, b2 = dphi * dq * dq;
        const double c = 1.0 + (psi - dpsi * dp) + (phi - dphi * dq);
        const double B = c * (dp + dq) + b1 + b2;
        const double C = f * dp * dq;
        double eta = std::numeric_limits<double>::quiet_NaN();
        if (c == 0.0) {
          eta = C / B;
        } else {
          const double disc = std::sqrt(std::max(0.0, B * B - 4.0 * c * C));
          const double e1 = (B + std::copysign(disc, B)) / (2.0 * c);
          const double e2 = e1 != 0.0 ? C / (c * e1) : std::numeric_limits<double>::quiet_NaN();
          if (e2 > dp && e2 < dq) eta = e2;
          else if (e1 > dp && e1 < dq) eta = e1;
        }
        cand = tau + eta;
      } else {
        const double b1 = dpsi * dp * dp;
        const double c = 1.0 + psi - dpsi * dp;
        if (c > 0) cand = tau + dp + b1 / c;
      }
    }
    if (!(cand > lo && cand < hi)) cand = 0.5 * (lo + hi);
    tau = cand;
  }
  for (index_t i = 0; i < k; ++i) delta[i] -= tau;
  return dl[org] + tau;
}

template <class T>
struct DcWork {
  std::vector<T> wtop, wbot, ut, g, row;
  std::vector<double> delta, z, dl, w2, what, lam, s;
};

template <class T>
void dc_leaf(index_t n, double* d, const double* e, T* Q, index_t ldq) {
  std::vector<double> ee(e, e + std::max<index_t>(n - 1, 0));
  ee.push_back(0.0);
  std::vector<double> Zt(static_cast<std::size_t>(n * n), 0.0);
  for (index_t i = 0; i < n; ++i) Zt[i * n + i] = 1.0;
  tridiag_ql<double>(n, d, ee.data(), Zt.data(), n);
  sort_eigenpairs<double>(n, d, Zt.data(), n);
  for (index_t r = 0; r < n; ++r)
    for (index_t c = 0; c < n; ++c) Q[r * ldq + c] = static_cast<T>(Zt[c * n + r]);
}

// The merge's deflation: the columns whose coupling weight z is negligible, or whose pole
// coincides with a neighbour's (rotated together first), become eigenpairs as they are (df);
// the rest (nd, ascending poles) go to the secular equation. type[i]: 0 = column nonzero only
// in the top m rows, 2 = only in the bottom rows, 1 = both.
struct DcDeflation {
  std::vector<index_t> nd, df;
  std::vector<int> type;
  double r = 0;  // the rank-one weight 2|ρ|
};

template <class T>
DcDeflation dc_deflate(index_t n, index_t m, double* d, T* Q, index_t ldq, double rho_e, DcWork<T>& ws) {
  const double epsT = std::numeric_limits<T>::epsilon();
  DcDeflation out;
  auto& nd = out.nd;
  auto& df = out.df;
  auto& type = out.type;
  auto& z = ws.z;
  z.assign(static_cast<std::size_t>(n), 0.0);
  const double sg = rho_e >= 0 ? 1.0 : -1.0;
  const double inv_sqrt2 = 0.70710678118654752440;
  for (index_t i = 0; i < m; ++i) z[i] = inv_sqrt2 * static_cast<double>(Q[(m - 1) * ldq + i]);
  for (index_t i = m; i < n; ++i) z[i] = inv_sqrt2 * sg * static_cast<double>(Q[m * ldq + i]);
  const double r = out.r = 2.0 * std::fabs(rho_e);

  std::vector<index_t> perm(static_cast<std::size_t>(n)), first(static_cast<std::size_t>(m)),
      second(static_cast<std::size_t>(n - m));
  std::iota(first.begin(), first.end(), index_t{0});
  std::iota(second.begin(), second.end(), m);
  std::merge(first.begin(), first.end(), second.begin(), second.end(), perm.begin(),
             [&](index_t a, index_t b) { return d[a] < d[b]; });
  double dmax = 0, zmax = 0;
  for (index_t i = 0; i < n; ++i) {
    dmax = std::max(dmax, std::fabs(d[i]));
    zmax = std::max(zmax, std::fabs(z[i]));
  }
  const double tol = 8.0 * epsT * std::max(dmax, zmax);

  // Column types: 0 = nonzero only in the top m rows, 2 = only in the bottom rows, 1 = both.
  type.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) type[i] = i < m ? 0 : 2;
  nd.reserve(static_cast<std::size_t>(n));
  if (r * zmax > tol) {
    index_t prev = -1;
    for (index_t s = 0; s < n; ++s) {
      const index_t i = perm[s];
      if (r * std::fabs(z[i]) <= tol) {
        df.push_back(i);
        continue;
      }
      if (prev < 0) {
        prev = i;
        continue;
      }
      const double zs = z[prev], zc = z[i];
      const double tau = std::hypot(zc, zs);
      const double t = d[i] - d[prev];
      const double c = zc / tau, s2 = -zs / tau;
      if (std::fabs(t * c * s2) <= tol) {
        // d[prev] ≈ d[i]: rotate z's weight onto i; prev becomes an (approximate) eigenpair.
        z[i] = tau;
        z[prev] = 0;
        const T ct = static_cast<T>(c), st = static_cast<T>(s2);
        for (index_t rr = 0; rr < n; ++rr) {
          T& x = Q[rr * ldq + prev];
          T& y = Q[rr * ldq + i];
          const T xv = x, yv = y;
          x = ct * xv + st * yv;
          y = ct * yv - st * xv;
        }
        if (type[prev] != type[i]) type[i] = type[prev] = 1;
        const double dp = d[prev] * c * c + d[i] * s2 * s2;
        d[i] = d[prev] * s2 * s2 + d[i] * c * c;
        d[prev] = dp;
        df.push_back(prev);
        prev = i;
      } else {
        nd.push_back(prev);
        prev = i;
      }
    }
    if (prev >= 0) nd.push_back(prev);
  } else {
    df = perm;
  }
  return out;
}

// Secular equation and Gu–Eisenstat vectors for the k non-deflated poles: roots ws.lam,
// differences ws.delta, and the recomputed weights ws.what.
template <class T>
void dc_secular(const double* d, const DcDeflation& dd, DcWork<T>& ws) {
  const auto& nd = dd.nd;
  const auto& z = ws.z;
  const double r = dd.r;
  const index_t k = static_cast<index_t>(nd.size());
  auto& dl = ws.dl;
  auto& w2 = ws.w2;
  auto& lam = ws.lam;
  auto& delta = ws.delta;
  auto& what = ws.what;
  dl.resize(k);
  w2.resize(k);
  lam.resize(k);
  what.resize(k);
  delta.resize(static_cast<std::size_t>(k * k));
  for (index_t j = 0; j < k; ++j) {
    dl[j] = d[nd[j]];
    w2[j] = z[nd[j]] * z[nd[j]];
  }
  for (index_t j = 0; j < k; ++j) lam[j] = secular_root(k, dl.data(), w2.data(), r, j, delta.data() + j * k);
  // ẑ_i² ∝ −δ_ii Π_{j≠i} δ_ij/(dl_i − dl_j), with δ_ij = dl_i − λ_j = delta[j*k + i].
  for (index_t i = 0; i < k; ++i) what[i] = delta[i * k + i];
  for (index_t j = 0; j < k; ++j) {
    const double* dj = delta.data() + j * k;
    const double dlj = dl[j];
    for (index_t i = 0; i < j; ++i) what[i] *= dj[i] / (dl[i] - dlj);
    for (index_t i = j + 1; i < k; ++i) what[i] *= dj[i] / (dl[i] - dlj);
  }
  for (index_t i = 0; i < k; ++i) what[i] = std::copysign(std::sqrt(std::max(0.0, -what[i])), z[nd[i]]);

}

// The merged eigenvectors of the non-deflated roots: ws.g (n × k) = Q's non-deflated columns ×
// the secular vectors, one GEMM per half that skips the zero block.
template <class T>
void dc_vectors(index_t n, index_t m, const T* Q, index_t ldq, const DcDeflation& dd, DcWork<T>& ws) {
  using kernels::Trans;
  const auto& nd = dd.nd;
  const auto& type = dd.type;
  const auto& what = ws.what;
  const auto& delta = ws.delta;
  const index_t k = static_cast<index_t>(nd.size());
  // Group the non-deflated columns by type so each half's GEMM skips the zero block.
  std::vector<index_t> ord;
  ord.reserve(static_cast<std::size_t>(k));
  index_t cnt[3] = {0, 0, 0};
  for (int ty = 0; ty < 3; ++ty)
    for (index_t j = 0; j < k; ++j)
      if (type[nd[j]] == ty) {
        ord.push_back(j);
        ++cnt[ty];
      }
  const index_t k1 = cnt[0], k2 = cnt[1], k3 = cnt[2];
  // Ut[j][c]: component (pole ord[c]) of the unit eigenvector for root j.
  auto& ut = ws.ut;
  ut.resize(static_cast<std::size_t>(k * k));
  auto& sv = ws.s;
  sv.resize(k);
  for (index_t j = 0; j < k; ++j) {
    const double* dj = delta.data() + j * k;
    double nrm = 0;
    for (index_t i = 0; i < k; ++i) {
      sv[i] = what[i] / dj[i];
      nrm += sv[i] * sv[i];
    }
    const double inv = 1.0 / std::sqrt(nrm);
    T* uj = ut.data() + j * k;
    for (index_t c = 0; c < k; ++c) uj[c] = static_cast<T>(sv[ord[c]] * inv);
  }
  auto& g = ws.g;
  g.resize(static_cast<std::size_t>(n * k));
  const index_t kt = k1 + k2, kb = k2 + k3;
  if (k > 0) {
    auto& wt = ws.wtop;
    auto& wb = ws.wbot;
    wt.resize(static_cast<std::size_t>(m * kt));
    wb.resize(static_cast<std::size_t>((n - m) * kb));
    for (index_t rr = 0; rr < m; ++rr)
      for (index_t c = 0; c < kt; ++c) wt[rr * kt + c] = Q[rr * ldq + nd[ord[c]]];
    for (index_t rr = m; rr < n; ++rr)
      for (index_t c = 0; c < kb; ++c) wb[(rr - m) * kb + c] = Q[rr * ldq + nd[ord[k1 + c]]];
    if (kt > 0) kernels::gemm<T>(Trans::N, Trans::T, m, k, kt, T(1), wt.data(), kt, ut.data(), k, T(0), g.data(), k);
    else std::fill_n(g.data(), m * k, T(0));
    if (kb > 0)
      kernels::gemm<T>(Trans::N, Trans::T, n - m, k, kb, T(1), wb.data(), kb, ut.data() + k1, k, T(0), g.data() + m * k, k);
    else std::fill_n(g.data() + m * k, (n - m) * k, T(0));
  }

}

// All eigenvalues ascending into d, and Q's columns to match (roots from ws.g, deflated
// columns as they are).
template <class T>
void dc_reorder(index_t n, double* d, T* Q, index_t ldq, const DcDeflation& dd, DcWork<T>& ws) {
  const auto& df = dd.df;
  const auto& lam = ws.lam;
  const auto& g = ws.g;
  const index_t k = static_cast<index_t>(dd.nd.size());
  // Final order: all eigenvalues ascending; src >= 0 is a root index, src < 0 a deflated column.
  std::vector<std::pair<double, index_t>> all;
  all.reserve(static_cast<std::size_t>(n));
  for (index_t j = 0; j < k; ++j) all.emplace_back(lam[j], j);
  for (index_t col : df) all.emplace_back(d[col], -1 - col);
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  auto& row = ws.row;
  row.resize(static_cast<std::size_t>(n));
  for (index_t rr = 0; rr < n; ++rr) {
    T* q = Q + rr * ldq;
    const T* gr = g.data() + rr * k;
    for (index_t p = 0; p < n; ++p) {
      const index_t src = all[p].second;
      row[p] = src >= 0 ? gr[src] : q[-1 - src];
    }
    std::copy_n(row.data(), n, q);
  }
  for (index_t p = 0; p < n; ++p) d[p] = all[p].first;
}

// One merge of divide and conquer: deflation, the secular equation, the new vectors, order.
template <class T>
void dc_merge(index_t n, index_t m, double* d, T* Q, index_t ldq, double rho_e, DcWork<T>& ws) {
  const DcDeflation dd = dc_deflate(n, m, d, Q, ldq, rho_e, ws);
  dc_secular(d, dd, ws);
  dc_vectors(n, m, Q, ldq, dd, ws);
  dc_reorder(n, d, Q, ldq, dd, ws);
}

template <class T>
void dc_rec(index_t n, double* d, const double* e, T* Q, index_t ldq, index_t leaf, DcWork<T>& ws) {
  if (n <= leaf) {
    dc_leaf(n, d, e, Q, ldq);
    return;
  }
  const index_t m = n / 2;
  const double rho = e[m - 1];
  d[m - 1] -= std::fabs(rho);
  d[m] -= std::fabs(rho);
  dc_rec(m, d, e, Q, ldq, leaf, ws);
  dc_rec(n - m, d + m, e + m, Q + m * ldq + m, ldq, leaf, ws);
  for (index_t rr = 0; rr < m; ++rr) std::fill_n(Q + rr * ldq + m, n - m, T(0));
  for (index_t rr = m; rr < n; ++rr) std::fill_n(Q + rr * ldq, m, T(0));
  dc_merge(n, m, d, Q, ldq, rho, ws);
}

template <class T>
void tridiag_dc(index_t n, double* d, const double* e, T* Q, index_t ldq, index_t leaf = 32) {
  if (n == 0) return;
  leaf = std::max<index_t>(leaf, 2);
  DcWork<T> ws;
  dc_rec(n, d, e, Q, ldq, leaf, ws);
}

}  // namespace bilin::linalg::detail
