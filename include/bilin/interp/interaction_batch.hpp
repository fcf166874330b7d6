// bilin/interp/interaction_batch.hpp — interaction matrices Q(u) for MANY output directions at
// once, and their eigendecompositions sorted by |λ|, as one batched job.
//
// Contract (bilinear_tensor.hpp gives the one-direction forms):
// - packed_bilinear_tensor(W, V, P) → Bp [C, n(n+1)/2]: row c is the upper triangle (row-major,
//   i ≤ j) of B[c] = ½ Σ_o P[c,o] (w_o v_oᵀ + v_o w_oᵀ). Built by GEMMs over column chunks of
//   K[o, (i,j)] = ½(W[o,i]V[o,j] + W[o,j]V[o,i]) so memory stays O(h·chunk).
// - interaction_matrices(W, V, P, U [m, C]) → [m, n, n], matrix a = Q(U[a]) = Σ_c U[a,c] B[c],
//   exactly symmetric. It takes whichever of two GEMM routes needs fewer multiply-adds: through
//   the packed tensor (U · Bp, good when C is small next to the hidden width) or through the
//   hidden directions S = U·P (one Wᵀ diag(s) V GEMM per direction). Both agree with
//   interaction_matrix() up to float rounding (tested against the naive 3-tensor contraction).
// - SortedSpectra {values [m, n] sorted by |λ| DESCENDING (ties: larger λ first), vectors
//   [m, n, n] with row i of matrix a the unit eigenvector of values[a, i]} (vectors empty when
//   not requested). Sign convention: as linalg::eigh (largest-magnitude entry positive).
// - eigh_sorted(Qs [m, n, n], vectors, in_double) eigendecomposes every matrix with bilin's
//   dense solver (linalg::eigh, Householder + divide and conquer), one matrix per OpenMP thread;
//   in_double runs each solve on a double copy. A failure names the matrix index.
// - unpack_symmetric(packed, n, out) expands one packed upper triangle into a full n×n matrix.
// - Shapes are checked with bilin::Error naming the function and shapes.
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../kernels/gemm.hpp"
#include "../linalg/eigh.hpp"
#include "bilinear_tensor.hpp"

namespace bilin::interp {

inline index_t packed_size(index_t n) { return n * (n + 1) / 2; }

template <class T>
void unpack_symmetric(const T* packed, index_t n, T* out) {
  index_t p = 0;
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j, ++p) {
      out[i * n + j] = packed[p];
      out[j * n + i] = packed[p];
    }
}

template <class T>
Tensor<T> packed_bilinear_tensor(const Tensor<T>& W, const Tensor<T>& V, const Tensor<T>& P, index_t chunk = 2048) {
  detail::check_halves("packed_bilinear_tensor", W, V);
  BILIN_CHECK(P.defined() && P.dim() == 2 && P.size(1) == W.size(0), "packed_bilinear_tensor", "P must be [outputs, ",
              W.size(0), "] for W of shape ", to_string(W.shape()), ", got ", P.defined() ? to_string(P.shape()) : "none");
  const index_t h = W.size(0), n = W.size(1), C = P.size(0), np = packed_size(n);
  const Tensor<T> w = detail::dense(W), v = detail::dense(V), p = detail::dense(P);
  // pair index → (i, j), row-major upper triangle
  std::vector<index_t> pi(static_cast<std::size_t>(np)), pj(static_cast<std::size_t>(np));
  for (index_t i = 0, q = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j, ++q) pi[q] = i, pj[q] = j;
  Tensor<T> out = Tensor<T>::empty({C, np});
  std::vector<T> K;
  for (index_t c0 = 0; c0 < np; c0 += chunk) {
    const index_t cw = std::min(chunk, np - c0);
    K.resize(static_cast<std::size_t>(h * cw));
#pragma omp parallel for schedule(static)
    for (index_t o = 0; o < h; ++o) {
      const T* wr = w.data() + o * n;
      const T* vr = v.data() + o * n;
      T* kr = K.data() + o * cw;
      for (index_t q = 0; q < cw; ++q) {
        const index_t i = pi[c0 + q], j = pj[c0 + q];
        kr[q] = T(0.5) * (wr[i] * vr[j] + wr[j] * vr[i]);
      }
    }
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, C, cw, h, T(1), p.data(), h, K.data(), cw, T(0),
                     out.data() + c0, np);
  }
  return out;
}

template <class T>
Tensor<T> interaction_matrices(const Tensor<T>& W, const Tensor<T>& V, const Tensor<T>& P, const Tensor<T>& U) {
  detail::check_halves("interaction_matrices", W, V);
  BILIN_CHECK(P.defined() && P.dim() == 2 && P.size(1) == W.size(0), "interaction_matrices", "P must be [outputs, ",
              W.size(0), "] for W of shape ", to_string(W.shape()), ", got ", P.defined() ? to_string(P.shape()) : "none");
  BILIN_CHECK(U.defined() && U.dim() == 2 && U.size(1) == P.size(0), "interaction_matrices",
              "directions must be [m, ", P.size(0), "] for P of shape ", to_string(P.shape()), ", got ",
              U.defined() ? to_string(U.shape()) : "none");
  const index_t h = W.size(0), n = W.size(1), C = P.size(0), m = U.size(0), np = packed_size(n);
  const Tensor<T> u = detail::dense(U);
  Tensor<T> out = Tensor<T>::empty({m, n, n});
  if (m == 0) return out;
  const double via_tensor = static_cast<double>(np) * static_cast<double>(C) * static_cast<double>(h + m);
  const double via_hidden = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(h);
  if (via_tensor < via_hidden) {
    const Tensor<T> Bp = packed_bilinear_tensor(W, V, P);
    // a block of directions at a time, so the packed products stay small
    const index_t block = 64;
    std::vector<T> Qp(static_cast<std::size_t>(std::min(block, m) * np));
    for (index_t a0 = 0; a0 < m; a0 += block) {
      const index_t bm = std::min(block, m - a0);
      kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, bm, np, C, T(1), u.data() + a0 * C, C, Bp.data(), np,
                       T(0), Qp.data(), np);
#pragma omp parallel for schedule(static)
      for (index_t a = 0; a < bm; ++a) unpack_symmetric(Qp.data() + a * np, n, out.data() + (a0 + a) * n * n);
    }
    return out;
  }
  const Tensor<T> p = detail::dense(P), w = detail::dense(W), v = detail::dense(V);
  Tensor<T> S = Tensor<T>::empty({m, h});
  kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, m, h, C, T(1), u.data(), C, p.data(), h, T(0), S.data(), h);
  for (index_t a = 0; a < m; ++a) detail::interaction_into(w.data(), v.data(), S.data() + a * h, h, n, out.data() + a * n * n);
  return out;
}

template <class T>
struct SortedSpectra {
  Tensor<T> values;   // [m, n], by |λ| descending
  Tensor<T> vectors;  // [m, n, n], row i = eigenvector i (empty without vectors)
  index_t count() const { return values.defined() ? values.size(0) : 0; }
  index_t dim() const { return values.defined() ? values.size(1) : 0; }
  const T* vals(index_t a) const { return values.data() + a * dim(); }
  const T* vecs(index_t a) const { return vectors.data() + a * dim() * dim(); }
  std::vector<double> spectrum(index_t a) const { return std::vector<double>(vals(a), vals(a) + dim()); }
};

namespace detail {
template <class S, class T>
void eigh_one_sorted(const T* q, index_t n, bool vectors, T* vals_out, T* vecs_out) {
  Tensor<S> A = Tensor<S>::empty({n, n});
  for (index_t i = 0; i < n * n; ++i) A.data()[i] = static_cast<S>(q[i]);
  linalg::EighOptions o;
  o.method = linalg::EighMethod::tridiagonal;
  o.vectors = vectors;
  o.check_symmetry = false;  // callers pass exactly symmetric matrices; eigh reads the symmetric part
  const linalg::EighResult<S> r = linalg::eigh(A, o);
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t(0));
  const S* w = r.values.data();
  std::stable_sort(order.begin(), order.end(), [w](index_t a, index_t b) {
    const S fa = std::fabs(w[a]), fb = std::fabs(w[b]);
    return fa != fb ? fa > fb : w[a] > w[b];
  });
  for (index_t i = 0; i < n; ++i) vals_out[i] = static_cast<T>(w[order[i]]);
  if (!vectors) return;
  const S* vc = r.vectors.data();  // [n, n] columns
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j) vecs_out[i * n + j] = static_cast<T>(vc[j * n + order[i]]);
}
}  // namespace detail

template <class T>
SortedSpectra<T> eigh_sorted(const Tensor<T>& Qs, bool vectors = true, bool in_double = false) {
  BILIN_CHECK(Qs.defined() && Qs.dim() == 3 && Qs.size(1) == Qs.size(2), "eigh_sorted",
              "expected a batch of square matrices [m, n, n], got ", Qs.defined() ? to_string(Qs.shape()) : "none");
  const Tensor<T> q = detail::dense(Qs);
  const index_t m = q.size(0), n = q.size(1);
  SortedSpectra<T> s;
  s.values = Tensor<T>::empty({m, n});
  if (vectors) s.vectors = Tensor<T>::empty({m, n, n});
  std::vector<std::string> errors(static_cast<std::size_t>(m));
#pragma omp parallel for schedule(dynamic, 4)
  for (index_t a = 0; a < m; ++a) {
    try {
      T* vo = vectors ? s.vectors.data() + a * n * n : nullptr;
      if (in_double) detail::eigh_one_sorted<double>(q.data() + a * n * n, n, vectors, s.values.data() + a * n, vo);
      else detail::eigh_one_sorted<T>(q.data() + a * n * n, n, vectors, s.values.data() + a * n, vo);
    } catch (const std::exception& e) {
      errors[a] = e.what();
    }
  }
  for (index_t a = 0; a < m; ++a) BILIN_CHECK(errors[a].empty(), "eigh_sorted", "matrix ", a, ": ", errors[a]);
  return s;
}

}  // namespace bilin::interp
