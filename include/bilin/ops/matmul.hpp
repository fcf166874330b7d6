// bilin/ops/matmul.hpp — differentiable matrix product with batch broadcasting.
//
// Contract (NumPy matmul rules): 1-D × 1-D is a dot product; a 1-D left operand is a row
// vector and a 1-D right operand a column vector (the added axis is removed again); for
// ≥2-D operands the last two axes multiply ([..., M, K] · [..., K, N] → [..., M, N]) and
// the leading (batch) axes broadcast. Transposed views are passed to the GEMM as Trans::T,
// never copied; other non-contiguous layouts are copied once. Mismatched inner dimensions
// throw "matmul: shapes [a] and [b] are not compatible ...". The products (forward and both
// gradients) run at the thread's matmul precision read in the forward (ops/precision_scope.hpp).
#pragma once
#include "../kernels/gemm.hpp"
#include "elementwise.hpp"
#include "precision_scope.hpp"

namespace bilin {

namespace detail {
// How the GEMM can read the last two axes of x: (Trans, leading dimension), or nothing.
template <class T>
bool gemm_layout(const Tensor<T>& x, kernels::Trans& tr, index_t& ld) {
  const index_t r = x.shape()[x.dim() - 2], c = x.shape()[x.dim() - 1];
  const index_t sr = x.strides()[x.dim() - 2], sc = x.strides()[x.dim() - 1];
  if ((sc == 1 || c == 1) && (sr >= std::max<index_t>(c, 1) || r == 1)) {
    tr = kernels::Trans::N;
    ld = r == 1 ? std::max<index_t>(c, 1) : sr;
    return true;
  }
  if ((sr == 1 || r == 1) && (sc >= std::max<index_t>(r, 1) || c == 1)) {
    tr = kernels::Trans::T;
    ld = c == 1 ? std::max<index_t>(r, 1) : sc;
    return true;
  }
  return false;
}

// The product itself for ≥2-D operands at precision p, no graph.
template <class T>
Tensor<T> matmul_nd(Tensor<T> a, Tensor<T> b, Precision p) {
  const index_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1];
  const index_t K2 = b.shape()[b.dim() - 2], N = b.shape()[b.dim() - 1];
  BILIN_CHECK(K == K2, "matmul", "shapes ", to_string(a.shape()), " and ", to_string(b.shape()),
              " are not compatible (inner dimensions ", K, " and ", K2, ")");
  const Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(ba, bb, "matmul");
  kernels::Trans ta, tb;
  index_t lda, ldb;
  if (!gemm_layout(a, ta, lda)) {
    a = contiguous_copy(a);
    gemm_layout(a, ta, lda);
  }
  if (!gemm_layout(b, tb, ldb)) {
    b = contiguous_copy(b);
    gemm_layout(b, tb, ldb);
  }
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  auto out = Tensor<T>::empty(out_shape);
  const index_t nb = numel(batch);
  if (nb == 1) {
    gemm_at(p, ta, tb, M, N, K, T(1), a.data(), lda, b.data(), ldb, T(0), out.data(), N);
    return out;
  }
  const Strides sa = broadcast_strides(ba, Strides(a.strides().begin(), a.strides().end() - 2), batch);
  const Strides sb = broadcast_strides(bb, Strides(b.strides().begin(), b.strides().end() - 2), batch);
  auto offsets = [&](index_t i, const Strides& st) {
    index_t off = 0;
    for (std::size_t ax = batch.size(); ax-- > 0;) {
      off += (i % batch[ax]) * st[ax];
      i /= batch[ax];
    }
    return off;
  };
  // Many small products: one per thread, each GEMM serial. Few large ones: the GEMM threads.
  const bool par = M * N * K < (1 << 18) && nb > 1 && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
  for (index_t i = 0; i < nb; ++i)
    gemm_at(p, ta, tb, M, N, K, T(1), a.data() + offsets(i, sa), lda, b.data() + offsets(i, sb), ldb, T(0),
            out.data() + i * M * N, N);
  return out;
}
}  // namespace detail

template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  BILIN_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul", "operands must have at least one dimension, got shapes ",
              to_string(a.shape()), " and ", to_string(b.shape()));
  if (a.dim() == 1 || b.dim() == 1) {
    BILIN_CHECK(a.size(-1) == b.size(b.dim() == 1 ? 0 : -2), "matmul", "shapes ", to_string(a.shape()), " and ",
                to_string(b.shape()), " are not compatible (inner dimensions ", a.size(-1), " and ",
                b.size(b.dim() == 1 ? 0 : -2), ")");
    Tensor<T> a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
    Tensor<T> b2 = b.dim() == 1 ? b.unsqueeze(-1) : b;
    Tensor<T> r = matmul(a2, b2);
    if (b.dim() == 1) r = r.squeeze(-1);
    if (a.dim() == 1) r = r.squeeze(r.dim() == 1 ? 0 : -2);
    return r;
  }
  const Precision prec = matmul_precision();
  Tensor<T> out = detail::matmul_nd(a, b, prec);
  if (!autograd::any_requires_grad<T>({a, b})) return out;
  const Tensor<T> sa = a.detach(), sb = b.detach();
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return autograd::record(out, "matmul", {a, b}, [sa, sb, ga, gb, prec](const Tensor<T>& g) {
    NoGradGuard ng;
    // batch axes that were broadcast are summed back by the engine
    return std::vector<Tensor<T>>{ga ? detail::matmul_nd(g, sb.transpose(-1, -2), prec) : Tensor<T>(),
                                  gb ? detail::matmul_nd(sa.transpose(-1, -2), g, prec) : Tensor<T>()};
  });
}

}  // namespace bilin
