// bilin/linalg/householder_tridiag.hpp — blocked Householder reduction of a symmetric matrix
// to tridiagonal form, and the blocked back-transformation of vectors.
//
// Contract (namespace bilin::linalg::detail, row-major raw pointers):
//   void tridiagonalize(n, A, lda, d, e, tau, nb = 0)
// - In: the UPPER triangle (diagonal included) of A holds the symmetric matrix S; the strictly
//   lower part is scratch (overwritten with garbage, never read).
// - Out: Qᵀ S Q = tridiag(d, e) with d[0..n) the diagonal, e[0..n-1) the off-diagonal (double),
//   Q = H_0 H_1 … H_{n-2}, H_j = I − tau[j]·v_j v_jᵀ; v_j is zero in positions 0..j, 1 at
//   j+1, and A[j, j+2..n) beyond (the row of A right of the super-diagonal).
// - Algorithm: LAPACK sytrd/latrd in row-major "upper" form (= LAPACK's column-major lower).
//   A panel of nb rows is reduced with matrix-vector products against the not-yet-updated
//   trailing matrix plus the panel's own rank-2 corrections; then the trailing upper triangle
//   gets the rank-2nb update  S -= Vᵀ W + Wᵀ V  as one GEMM per row block (K = 2nb), so half of
//   the 4n³/3 flops run in bilin::kernels::gemm. The other half is symv_upper, which reads the
//   trailing triangle once per column. nb = 0 picks 8 for n ≤ 128 (Lanczos' Rayleigh–Ritz
//   problems, n ≈ 40–100, where a trailing GEMM that small costs more in packing than it
//   saves) and 32 above.
//
//   void apply_q(n, A, lda, tau, Z, ncols, ldz, nb = 32)
// - Z (n × ncols, row-major, leading dimension ldz) <- Q·Z with Q from tridiagonalize.
//   Reflectors are applied in blocks of nb as compact WY (Schreiber–Van Loan): Z -= Vᵀ(T(V Z)),
//   three GEMMs per block.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels/gemm.hpp"
#include "vector_kernels.hpp"

namespace bilin::linalg::detail {

template <class T>
void tridiagonalize(index_t n, T* A, index_t lda, double* d, double* e, T* tau, index_t nb = 0) {
  using kernels::Trans;
  if (n == 0) return;
  if (n == 1) {
    d[0] = static_cast<double>(A[0]);
    return;
  }
  if (nb <= 0) nb = n <= 128 ? 8 : 32;
  nb = std::max<index_t>(1, std::min(nb, n));
  // XY = [V; W; V] (3nb × n): X = [V; W] and Y = [W; V] are two overlapping windows of it,
  // so the trailing update S -= Vᵀ W + Wᵀ V is the single product Xᵀ Y.
  std::vector<T> XY(static_cast<std::size_t>(3 * nb * n));
  std::vector<T> p(static_cast<std::size_t>(n));
  T* V = XY.data();
  T* W = XY.data() + nb * n;
  T* V2 = XY.data() + 2 * nb * n;
  for (index_t j0 = 0; j0 < n; j0 += nb) {
    const index_t b = std::min(nb, n - j0);
    std::fill(XY.begin(), XY.end(), T(0));
    for (index_t jj = 0; jj < b; ++jj) {
      const index_t j = j0 + jj;
      T* row = A + j * lda;
      // Bring row j up to date with the reflectors already reduced in this panel.
      for (index_t q = 0; q < jj; ++q) {
        const T vj = V[q * n + j], wj = W[q * n + j];
        if (vj != T(0)) axpy(n - j, -vj, W + q * n + j, row + j);
        if (wj != T(0)) axpy(n - j, -wj, V + q * n + j, row + j);
      }
      d[j] = static_cast<double>(row[j]);
      const index_t m = n - j - 1;  // length of the part to annihilate (plus its head)
      if (m == 0) break;
      T* x = row + j + 1;
      const double alpha = static_cast<double>(x[0]);
      const double sigma = m > 1 ? dot(m - 1, x + 1, x + 1) : 0.0;
      T* v = V + jj * n + (j + 1);
      if (sigma == 0.0) {  // already tridiagonal in this row: H = I
        tau[j] = T(0);
        e[j] = alpha;
        continue;  // V row and W row stay zero
      }
      const double norm = std::sqrt(alpha * alpha + sigma);
      const double beta = alpha >= 0 ? -norm : norm;
      const T t = static_cast<T>((beta - alpha) / beta);
      tau[j] = t;
      e[j] = beta;
      const T scale = static_cast<T>(1.0 / (alpha - beta));
      for (index_t k = 1; k < m; ++k) x[k] *= scale;
      v[0] = T(1);
      std::copy_n(x + 1, m - 1, v + 1);
      // p = t·(S_trailing v): stored trailing part, then this panel's corrections.
      symv_upper(m, A + (j + 1) * lda + (j + 1), lda, v, p.data());
      for (index_t q = 0; q < jj; ++q) {
        const T* vq = V + q * n + (j + 1);
        const T* wq = W + q * n + (j + 1);
        const T wv = static_cast<T>(dot(m, wq, v));
        const T vv = static_cast<T>(dot(m, vq, v));
        if (wv != T(0)) axpy(m, -wv, vq, p.data());
        if (vv != T(0)) axpy(m, -vv, wq, p.data());
      }
      for (index_t k = 0; k < m; ++k) p[k] *= t;
      // w = p − (t/2)(pᵀv) v, so that H S H = S − v wᵀ − w vᵀ.
      const T half = static_cast<T>(-0.5 * static_cast<double>(t) * dot(m, p.data(), v));
      T* w = W + jj * n + (j + 1);
      for (index_t k = 0; k < m; ++k) w[k] = p[k] + half * v[k];
    }
    const index_t r_begin = j0 + b;
    if (r_begin >= n) break;
    std::copy_n(V, b * n, V2);
    // Trailing upper triangle, one row block at a time (each block's columns start at its
    // diagonal, so the strictly-lower blocks are skipped).
    const index_t rb = 96;
    for (index_t r0 = r_begin; r0 < n; r0 += rb) {
      const index_t rows = std::min(rb, n - r0);
      // A panel that leaves a trailing matrix is always full (b == nb), so X = rows 0..2nb of
      // XY = [V; W] and Y = rows nb..3nb = [W; V].
      kernels::gemm<T>(Trans::T, Trans::N, rows, n - r0, 2 * nb, T(-1), XY.data() + r0, n, W + r0, n, T(1),
                       A + r0 * lda + r0, lda);
    }
  }
}

template <class T>
void apply_q(index_t n, const T* A, index_t lda, const T* tau, T* Z, index_t ncols, index_t ldz, index_t nb = 32) {
  using kernels::Trans;
  const index_t nref = n - 2;  // reflectors 0..n-3 can be nontrivial; H_{n-2} is always I
  if (nref <= 0 || ncols == 0) return;
  nb = std::max<index_t>(1, nb);
  std::vector<T> Vr, Tm, Y, Y2;
  const index_t nblocks = (nref + nb - 1) / nb;
  for (index_t blk = nblocks - 1; blk >= 0; --blk) {
    const index_t b0 = blk * nb;
    const index_t kb = std::min(nb, nref - b0);
    const index_t mrows = n - b0 - 1;  // rows b0+1 .. n-1
    Vr.assign(static_cast<std::size_t>(kb * mrows), T(0));
    for (index_t q = 0; q < kb; ++q) {
      const index_t j = b0 + q;
      T* vr = Vr.data() + q * mrows;
      vr[j + 1 - (b0 + 1)] = T(1);
      std::copy_n(A + j * lda + j + 2, n - j - 2, vr + (j + 2 - (b0 + 1)));
    }
    // T upper triangular: T[0:i, i] = −tau_i · T[0:i, 0:i] · (V[0:i] · v_i), T[i,i] = tau_i.
    Tm.assign(static_cast<std::size_t>(kb * kb), T(0));
    std::vector<double> y(static_cast<std::size_t>(kb));
    for (index_t i = 0; i < kb; ++i) {
      const T ti = tau[b0 + i];
      Tm[i * kb + i] = ti;
      if (ti == T(0)) continue;
      for (index_t q = 0; q < i; ++q) y[q] = dot(mrows, Vr.data() + q * mrows, Vr.data() + i * mrows);
      for (index_t q = 0; q < i; ++q) {
        double s = 0;
        for (index_t r = q; r < i; ++r) s += static_cast<double>(Tm[q * kb + r]) * y[r];
        Tm[q * kb + i] = static_cast<T>(-static_cast<double>(ti) * s);
      }
    }
    Y.resize(static_cast<std::size_t>(kb * ncols));
    Y2.resize(static_cast<std::size_t>(kb * ncols));
    T* Zs = Z + (b0 + 1) * ldz;
    kernels::gemm<T>(Trans::N, Trans::N, kb, ncols, mrows, T(1), Vr.data(), mrows, Zs, ldz, T(0), Y.data(), ncols);
    kernels::gemm<T>(Trans::N, Trans::N, kb, ncols, kb, T(1), Tm.data(), kb, Y.data(), ncols, T(0), Y2.data(), ncols);
    kernels::gemm<T>(Trans::T, Trans::N, mrows, ncols, kb, T(-1), Vr.data(), mrows, Y2.data(), ncols, T(1), Zs, ldz);
  }
}

}  // namespace bilin::linalg::detail
