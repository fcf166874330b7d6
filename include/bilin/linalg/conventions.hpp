// bilin/linalg/conventions.hpp — the output conventions shared by every eigensolver.
//
// Contract (namespace bilin::linalg::detail):
//   void normalize_signs(n, k, Z, ldz)
// - Z is n × k row-major, eigenvectors in COLUMNS. Each column is multiplied by ±1 so that its
//   entry of largest magnitude is positive; among entries of equal magnitude the lowest row
//   index decides. This makes results reproducible across methods and runs (an eigenvector is
//   only defined up to sign), except for eigenvalues of multiplicity > 1, whose basis is not
//   unique at all.
#pragma once
#include <cmath>

#include "../core/shape.hpp"

namespace bilin::linalg::detail {

template <class T>
void normalize_signs(index_t n, index_t k, T* Z, index_t ldz) {
  for (index_t c = 0; c < k; ++c) {
    index_t best = 0;
    T bestv = T(-1);
    for (index_t r = 0; r < n; ++r) {
      const T a = std::fabs(Z[r * ldz + c]);
      if (a > bestv) {
        bestv = a;
        best = r;
      }
    }
    if (n > 0 && Z[best * ldz + c] < T(0))
      for (index_t r = 0; r < n; ++r) Z[r * ldz + c] = -Z[r * ldz + c];
  }
}

}  // namespace bilin::linalg::detail
