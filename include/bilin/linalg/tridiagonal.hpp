// bilin/linalg/tridiagonal.hpp — the dense symmetric eigensolver: Householder
// tridiagonalization, then implicit QL or divide and conquer, then back-transformation.
//
// Contract (namespace bilin::linalg::detail):
//   DenseStats dense_eigh(n, A, lda, w, Z, ldz, first, count, solver)
// - A: n×n row-major, UPPER triangle (diagonal included) holds the symmetric matrix; the whole
//   of A is destroyed (it keeps the Householder vectors).
// - w[0..count): eigenvalues first .. first+count−1 of the ascending spectrum (double).
// - Z == nullptr: eigenvalues only (tridiagonal QL without vectors: O(n²) after the O(n³)
//   reduction). Otherwise Z is n × count row-major (leading dimension ldz) and receives the
//   matching unit eigenvectors as COLUMNS. Only the selected columns are back-transformed.
// - solver: TridiagSolver::dc (divide and conquer; default above 32 unknowns), ::ql (implicit
//   QL with the rotations applied to the rows of a transposed vector matrix), ::automatic.
//   D&C is what makes vectors cheap: its merges are GEMMs, where QL applies O(n²) rotations
//   of length n.
// - Returns the QL sweep count (0 when D&C was used for vectors) and which solver ran.
//
//   void small_eigh(n, H, ldh, w, Y, ldy)   all eigenpairs of a small dense double matrix
//   (both triangles of H valid, H destroyed): w ascending, Y columns = eigenvectors. Used for
//   Lanczos' Rayleigh–Ritz step.
#pragma once
#include <algorithm>
#include <vector>

#include "householder_tridiag.hpp"
#include "tridiag_dc.hpp"
#include "tridiag_ql.hpp"

namespace bilin::linalg::detail {

enum class TridiagSolver { automatic, ql, dc };

struct DenseStats {
  index_t ql_sweeps = 0;
  TridiagSolver solver = TridiagSolver::automatic;
};

template <class T>
DenseStats dense_eigh(index_t n, T* A, index_t lda, double* w, T* Z, index_t ldz, index_t first, index_t count,
                      TridiagSolver solver = TridiagSolver::automatic) {
  DenseStats st;
  if (n == 0 || count == 0) return st;
  std::vector<double> d(static_cast<std::size_t>(n)), e(static_cast<std::size_t>(n), 0.0);
  std::vector<T> tau(static_cast<std::size_t>(n), T(0));
  tridiagonalize(n, A, lda, d.data(), e.data(), tau.data());
  if (!Z) {
    st.solver = TridiagSolver::ql;
    st.ql_sweeps = tridiag_ql<T>(n, d.data(), e.data(), nullptr, 0);
    std::sort(d.begin(), d.end());
    std::copy_n(d.begin() + first, count, w);
    return st;
  }
  if (solver == TridiagSolver::automatic) solver = n > 32 ? TridiagSolver::dc : TridiagSolver::ql;
  st.solver = solver;
  if (solver == TridiagSolver::dc) {
    std::vector<T> Q(static_cast<std::size_t>(n * n));
    tridiag_dc<T>(n, d.data(), e.data(), Q.data(), n);
    for (index_t r = 0; r < n; ++r) std::copy_n(Q.data() + r * n + first, count, Z + r * ldz);
  } else {
    std::vector<T> Zt(static_cast<std::size_t>(n * n), T(0));
    for (index_t i = 0; i < n; ++i) Zt[i * n + i] = T(1);
    st.ql_sweeps = tridiag_ql<T>(n, d.data(), e.data(), Zt.data(), n);
    sort_eigenpairs<T>(n, d.data(), Zt.data(), n);
    for (index_t r = 0; r < n; ++r)
      for (index_t c = 0; c < count; ++c) Z[r * ldz + c] = Zt[(first + c) * n + r];
  }
  std::copy_n(d.begin() + first, count, w);
  apply_q(n, A, lda, tau.data(), Z, count, ldz);
  return st;
}

inline void small_eigh(index_t n, double* H, index_t ldh, double* w, double* Y, index_t ldy) {
  dense_eigh<double>(n, H, ldh, w, Y, ldy, 0, n, TridiagSolver::automatic);
}

}  // namespace bilin::linalg::detail
