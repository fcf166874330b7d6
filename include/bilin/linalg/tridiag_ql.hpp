// bilin/linalg/tridiag_ql.hpp — implicit QL with Wilkinson-type shifts on a symmetric
// tridiagonal matrix.
//
// Contract (namespace bilin::linalg::detail):
//   index_t tridiag_ql(n, d, e, Zt, ldz, max_iter_per_value)
// - d[0..n) diagonal, e[0..n-1) off-diagonal (e[i] couples i and i+1), both double. On return
//   d holds the eigenvalues (unsorted; sort with sort_eigenpairs), e is destroyed.
// - Zt == nullptr: eigenvalues only, O(n²) work.
//   Zt != nullptr: Zt is n×n row-major with leading dimension ldz (elements of type T) holding
//   a matrix whose ROWS get rotated: pass the identity to get the tridiagonal's eigenvectors as
//   rows (row i of Zt belongs to d[i]); pass Qᵀ to get (Q·Z)ᵀ. Rows are contiguous, so every
//   plane rotation is a vectorized update of two rows (the column-rotation of the textbook
//   algorithm, transposed).
// - Returns the total number of QL sweeps; throws bilin::Error("eigh", ...) if one eigenvalue
//   needs more than max_iter_per_value sweeps (30 is LAPACK's limit and is never reached on
//   finite input in practice).
// The shift is the eigenvalue of the leading 2×2 block closer to d[l] (EISPACK tql2 / NR tqli);
// deflation when |e[m]| ≤ ε·(|d[m]| + |d[m+1]|), the standard relative criterion.
//
//   void sort_eigenpairs(n, w, Zt, ldz, descending)   sort w and permute rows of Zt along.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "../core/error.hpp"
#include "vector_kernels.hpp"

namespace bilin::linalg::detail {

template <class T>
index_t tridiag_ql(index_t n, double* d, double* e, T* Zt, index_t ldz, index_t max_iter_per_value = 30) {
  if (n <= 1) return 0;
  e[n - 1] = 0;
  // Work on the matrix scaled to max-entry 1 so sqrt(f² + g²) can neither overflow nor underflow.
  double scale = 0;
  for (index_t i = 0; i < n; ++i) scale = std::max(scale, std::max(std::fabs(d[i]), std::fabs(e[i])));
  if (scale == 0.0 || !std::isfinite(scale)) return 0;
  for (index_t i = 0; i < n; ++i) {
    d[i] /= scale;
    e[i] /= scale;
  }
  const double eps = std::numeric_limits<double>::epsilon();
  const double tiny = std::numeric_limits<double>::min();
  index_t sweeps = 0;
  for (index_t l = 0; l < n; ++l) {
    index_t iter = 0;
    index_t m;
    do {
      for (m = l; m < n - 1; ++m) {
        const double dd = std::fabs(d[m]) + std::fabs(d[m + 1]);
        if (std::fabs(e[m]) <= eps * dd || std::fabs(e[m]) <= tiny) break;
      }
      if (m != l) {
        BILIN_CHECK(iter++ < max_iter_per_value, "eigh", "implicit QL did not converge for eigenvalue ", l,
                    " of a ", n, "x", n, " tridiagonal matrix after ", max_iter_per_value, " sweeps");
        ++sweeps;
        double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
        // sqrt instead of hypot (hypot's overflow care is slow and not needed here): the caller
        // scales the matrix to unit norm, and a
        // huge g only happens when e[l] is negligible, where r = |g| is exact enough.
        double r = std::fabs(g) < 1e100 ? std::sqrt(g * g + 1.0) : std::fabs(g);
        g = d[m] - d[l] + e[l] / (g + std::copysign(r, g));
        double s = 1, c = 1, p = 0;
        index_t i;
        bool underflow = false;
        for (i = m - 1; i >= l; --i) {
          const double f = s * e[i];
          const double b = c * e[i];
          r = std::sqrt(f * f + g * g);
          e[i + 1] = r;
          if (r == 0.0) {  // recover from underflow: split here and restart this block
            d[i + 1] -= p;
            e[m] = 0;
            underflow = true;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2.0 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
          if (Zt) {
            // column form: z[i+1] = s z[i] + c z[i+1]; z[i] = c z[i] − s z[i+1]  (on rows of Zt)
            rot(n, Zt + i * ldz, Zt + (i + 1) * ldz, static_cast<T>(c), static_cast<T>(s));
          }
        }
        if (underflow) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m != l);
  }
  for (index_t i = 0; i < n; ++i) d[i] *= scale;
  return sweeps;
}

// Sort eigenvalues (and the matching rows of Zt, if given) ascending or descending.
template <class T>
void sort_eigenpairs(index_t n, double* w, T* Zt, index_t ldz, bool descending = false) {
  std::vector<index_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), index_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](index_t a, index_t b) { return descending ? w[a] > w[b] : w[a] < w[b]; });
  std::vector<double> ws(w, w + n);
  for (index_t i = 0; i < n; ++i) w[i] = ws[idx[i]];
  if (!Zt) return;
  std::vector<T> tmp(static_cast<std::size_t>(n * n));
  for (index_t i = 0; i < n; ++i) std::copy_n(Zt + idx[i] * ldz, n, tmp.data() + i * n);
  for (index_t i = 0; i < n; ++i) std::copy_n(tmp.data() + i * n, n, Zt + i * ldz);
}

}  // namespace bilin::linalg::detail
