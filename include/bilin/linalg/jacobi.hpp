// bilin/linalg/jacobi.hpp — cyclic Jacobi eigenvalue algorithm for dense symmetric matrices.
//
// Contract (namespace bilin::linalg::detail):
//   JacobiStats jacobi(n, A, lda, w, Vt, ldv, tol, max_sweeps)
// - A: n×n row-major (leading dimension lda), BOTH triangles holding the symmetric matrix;
//   destroyed (it converges to the diagonal). C is the compute type (float or double).
// - w[0..n): eigenvalues in A's diagonal order (unsorted; sort with sort_eigenpairs).
// - Vt: nullptr for eigenvalues only, or an n×n row-major matrix whose rows are rotated
//   (pass the identity: row i of Vt is then the eigenvector of w[i]).
// - Row-cyclic order with Rutishauser's threshold strategy: in the first three sweeps only
//   elements above 0.2·(mean |off-diagonal|) are rotated (cheap early progress); an element
//   counts as converged when |a_pq| ≤ tol·sqrt(|a_pp·a_qq|) (Demmel–Veselić's relative
//   criterion, the one that gives eigenvalues with high relative accuracy) or is below the
//   underflow threshold; it is then set to zero. A sweep with no rotation ends the iteration.
// - Returns sweeps done, rotations applied, the final off-diagonal Frobenius norm (before the
//   negligible elements are zeroed) and whether it converged within max_sweeps.
// Each rotation updates rows p and q with one vectorized pass (rot) and copies row q into
// column q (symmetry), so the full matrix stays valid for the row updates; column p is copied
// once after all rotations (p, ·). The strided column copies dominate for n ≳ 100: pass a
// leading dimension that is not a multiple of 512 bytes (eigh pads it).
#pragma once
#include <cmath>
#include <limits>

#include "vector_kernels.hpp"

namespace bilin::linalg::detail {

struct JacobiStats {
  index_t sweeps = 0;
  index_t rotations = 0;
  double off_norm = 0;
  bool converged = false;
};

template <class C>
JacobiStats jacobi(index_t n, C* A, index_t lda, double* w, C* Vt, index_t ldv, double tol, index_t max_sweeps) {
  JacobiStats st;
  const double tiny = std::numeric_limits<C>::min() / std::numeric_limits<C>::epsilon();
  for (index_t sweep = 1; sweep <= max_sweeps; ++sweep) {
    double off_abs = 0, off2 = 0;
    for (index_t p = 0; p < n; ++p)
      for (index_t q = p + 1; q < n; ++q) {
        const double a = std::fabs(static_cast<double>(A[p * lda + q]));
        off_abs += a;
        off2 += a * a;
      }
    st.off_norm = std::sqrt(2.0 * off2);
    const double thresh = sweep <= 3 && n > 2 ? 0.2 * off_abs / static_cast<double>(n * n) : 0.0;
    index_t rotated = 0;
    for (index_t p = 0; p < n; ++p) {
      for (index_t q = p + 1; q < n; ++q) {
        C* rp = A + p * lda;
        C* rq = A + q * lda;
        const double apq = static_cast<double>(rp[q]);
        const double app = static_cast<double>(rp[p]), aqq = static_cast<double>(rq[q]);
        const double mag = std::fabs(apq);
        if (mag <= tol * std::sqrt(std::fabs(app) * std::fabs(aqq)) || mag <= tiny) {
          rp[q] = rq[p] = C(0);
          continue;
        }
        if (mag <= thresh) continue;
        const double theta = (aqq - app) / (2.0 * apq);
        double t = std::fabs(theta) < 1e150 ? 1.0 / (std::fabs(theta) + std::sqrt(1.0 + theta * theta))
                                            : 0.5 / std::fabs(theta);
        if (theta < 0) t = -t;
        const double c = 1.0 / std::sqrt(1.0 + t * t), s = t * c;
        rot(n, rp, rq, static_cast<C>(c), static_cast<C>(s));
        rp[p] = static_cast<C>(app - t * apq);
        rq[q] = static_cast<C>(aqq + t * apq);
        rp[q] = rq[p] = C(0);
        for (index_t k = 0; k < n; ++k) A[k * lda + q] = rq[k];
        if (Vt) rot(n, Vt + p * ldv, Vt + q * ldv, static_cast<C>(c), static_cast<C>(s));
        ++rotated;
      }
      // Column p is written once per p: within this p-loop only rows p and q are read, and the
      // entry of row q in column p belongs to the 2×2 block that each rotation overwrites.
      for (index_t k = 0; k < n; ++k) A[k * lda + p] = A[p * lda + k];
    }
    st.sweeps = sweep;
    st.rotations += rotated;
    if (rotated == 0 && thresh == 0.0) {
      st.converged = true;
      break;
    }
  }
  for (index_t i = 0; i < n; ++i) w[i] = static_cast<double>(A[i * lda + i]);
  return st;
}

}  // namespace bilin::linalg::detail
