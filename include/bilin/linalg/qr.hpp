// bilin/linalg/qr.hpp — thin QR factorization of a tall matrix by Householder reflections.
//
// Contract:
//   template <class T> ThinQR thin_qr(const Tensor<T>& A)
// - A: a 2-D float/double tensor [m, n] with m ≥ n (any strides). The result, in double:
//     q [m, n]  orthonormal columns (qᵀq = I up to rounding, also when A is rank-deficient: a
//               column of A that adds no new direction gets a reflector-defined unit column
//               and a zero diagonal in r),
//     r [n, n]  upper triangular with a NON-NEGATIVE diagonal, so the factorization of a
//               full-rank A is unique,
//   and A = q·r to rounding (‖A − qr‖ ~ ε‖A‖).
// - Why Householder (not Gram–Schmidt or a Cholesky of AᵀA): orthogonality of q does not
//   degrade with the condition number of A, which matters for token-embedding matrices whose
//   columns are far from orthogonal.
// - Work is done column-major in double (each column of A contiguous), O(2mn²) for r and as
//   much again for q.
// - Errors (bilin::Error, op "thin_qr"): A not 2-D, m < n, n = 0, a NaN/Inf entry (its index is
//   named).
#pragma once
#include <cmath>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "vector_kernels.hpp"

namespace bilin::linalg {

struct ThinQR {
  Tensor<double> q;  // [m, n]
  Tensor<double> r;  // [n, n]
};

template <class T>
ThinQR thin_qr(const Tensor<T>& A) {
  BILIN_CHECK(A.defined() && A.dim() == 2, "thin_qr", "expected a 2-D matrix, got ",
              A.defined() ? to_string(A.shape()) : "none");
  const index_t m = A.size(0), n = A.size(1);
  BILIN_CHECK(n >= 1 && m >= n, "thin_qr", "a thin QR needs rows >= columns >= 1, got ", to_string(A.shape()));
  const Tensor<T> a = A.is_contiguous() ? A : A.contiguous();
  // cols[j*m + i] = A[i, j]
  std::vector<double> cols(static_cast<std::size_t>(m * n));
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      const double x = static_cast<double>(a.data()[i * n + j]);
      BILIN_CHECK(std::isfinite(x), "thin_qr", "entry [", i, ", ", j, "] is not finite");
      cols[j * m + i] = x;
    }
  // Reflector k: H_k = I − beta_k v_k v_kᵀ acting on rows k..m-1, v_k stored in vs[k*m + k ..].
  std::vector<double> vs(static_cast<std::size_t>(m * n), 0.0), beta(static_cast<std::size_t>(n), 0.0);
  Tensor<double> r = Tensor<double>::zeros({n, n});
  for (index_t k = 0; k < n; ++k) {
    double* x = cols.data() + k * m + k;
    const index_t len = m - k;
    const double norm = std::sqrt(detail::dot(len, x, x));
    double* v = vs.data() + k * m + k;
    double alpha = 0;
    if (norm > 0) {
      alpha = x[0] > 0 ? -norm : norm;  // reflect x onto alpha·e_0 without cancellation
      for (index_t i = 0; i < len; ++i) v[i] = x[i];
      v[0] -= alpha;
      const double vv = detail::dot(len, v, v);
      beta[k] = vv > 0 ? 2.0 / vv : 0.0;
    } else {
      v[0] = 1;  // zero column: no reflection needed; q's column k is still a unit vector
    }
    for (index_t j = k + 1; j < n; ++j) {
      double* c = cols.data() + j * m + k;
      const double s = beta[k] * detail::dot(len, v, c);
      if (s != 0) detail::axpy(len, -s, v, c);
      r.data()[k * n + j] = c[0];
    }
    r.data()[k * n + k] = alpha;
  }
  // q = H_0 H_1 … H_{n-1} [I_n; 0], built from the last reflector back (z_j stays zero above
  // row min(j, k) for the reflectors still to apply).
  std::vector<double> z(static_cast<std::size_t>(m * n), 0.0);  // column-major
  for (index_t j = 0; j < n; ++j) z[j * m + j] = 1;
  for (index_t k = n - 1; k >= 0; --k) {
    const double* v = vs.data() + k * m + k;
    const index_t len = m - k;
    if (beta[k] == 0) {
      continue;
    }
    for (index_t j = k; j < n; ++j) {
      double* c = z.data() + j * m + k;
      const double s = beta[k] * detail::dot(len, v, c);
      if (s != 0) detail::axpy(len, -s, v, c);
    }
  }
  // Non-negative diagonal: flip row k of r and column k of q together.
  Tensor<double> q = Tensor<double>::empty({m, n});
  for (index_t k = 0; k < n; ++k) {
    const double sgn = r.data()[k * n + k] < 0 ? -1.0 : 1.0;
    if (sgn < 0)
      for (index_t j = k; j < n; ++j) r.data()[k * n + j] = -r.data()[k * n + j];
    for (index_t i = 0; i < m; ++i) q.data()[i * n + k] = sgn * z[k * m + i];
  }
  return {q, r};
}

}  // namespace bilin::linalg
