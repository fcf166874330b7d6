// bilin/ops/sparse_code.hpp — the differentiable ops of a TopK sparse autoencoder.
//
// Contract (x [B, d], W_enc [n, d], W_dec [d, n] in the official layouts, b_dec [d] or
// undefined, k-sparse codes as values [B, k] + latent indices IndexTensor [B, k]):
// - topk_select(pre [B, n], k) → indices of the k largest entries per row, largest first
//   (kernels/topk.hpp); no gradient.
// - encode_at(x, W_enc, b_dec, idx, relu) → values[b,s] = W_enc[idx[b,s]] · (x[b] − b_dec),
//   passed through ReLU when relu. The support idx is an input, held fixed: this is what
//   TopK's gradient is (the selection is piecewise constant), and what gradcheck can test.
// - topk_encode(x, W_enc, b_dec, k, relu) → {values, indices}: the dense pre-activations
//   (x − b_dec)·W_encᵀ by one GEMM, the top k per row selected, and values differentiable
//   exactly as encode_at with those indices (no ReLU by default, as the official code: a
//   negative value survives when fewer than k pre-activations are positive).
// - sparse_decode(values, idx, W_dec, b_dec) → x̂[b] = Σ_s values[b,s]·W_dec[:, idx[b,s]] + b_dec.
// - dense_codes(values, idx, n) → the dense [B, n] code matrix (for references and export).
// Gradients touch only the k chosen latents per row (kernels/sparse_rows.hpp): the decoder's
// forward and backward, and the encoder weight's gradient, cost B·k·d each instead of B·n·d;
// only the encoder's forward GEMM is dense, and only it follows the thread's matmul precision
// (ops/precision_scope.hpp: with bf16 the selection and the values come from the bf16 GEMM; the
// sparse kernels stay fp32). dW_dec is formed as [n, d] rows and transposed once.
// Errors (bilin::Error naming the op and the shapes): rank or size mismatches, k ≤ 0 or k > n,
// an index outside [0, n).
#pragma once
#include <cstdint>
#include <vector>

#include "../autograd/function.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/reduce.hpp"
#include "../kernels/sparse_rows.hpp"
#include "../kernels/topk.hpp"
#include "elementwise.hpp"
#include "indexing.hpp"
#include "precision_scope.hpp"

namespace bilin {

template <class T>
struct SparseCode {
  Tensor<T> values;     // [B, k]
  IndexTensor indices;  // [B, k]
};

namespace detail {

template <class T>
Tensor<T> contiguous_detached(const Tensor<T>& t) {
  return t.is_contiguous() ? t.detach() : detail::contiguous_copy(t);
}

// [r, c] → its transpose [c, r], contiguous.
template <class T>
Tensor<T> transposed_copy(const Tensor<T>& m) {
  return detail::contiguous_copy(m.detach().t());
}

inline void check_code_indices(const char* op, const IndexTensor& idx, index_t rows, index_t n) {
  BILIN_CHECK(idx.dim() == 2 && idx.size(0) == rows, op, "indices of shape ", to_string(idx.shape()), " do not match ",
              rows, " rows");
  BILIN_CHECK(idx.is_contiguous(), op, "indices must be contiguous");
  const std::int64_t* p = idx.data();
  for (index_t e = 0; e < idx.numel(); ++e)
    BILIN_CHECK(p[e] >= 0 && p[e] < n, op, "latent index ", p[e], " at row ", e / std::max<index_t>(1, idx.size(1)),
                " is outside [0, ", n, ")");
}

inline void check_encoder(const char* op, index_t x_dim, index_t x_last, const Shape& w, const Shape& b,
                          bool has_b) {
  BILIN_CHECK(x_dim == 2, op, "input must be [B, d], got rank ", x_dim);
  BILIN_CHECK(w.size() == 2 && w[1] == x_last, op, "encoder weight of shape ", to_string(w),
              " does not match inputs of width ", x_last, " (expected [n, ", x_last, "])");
  BILIN_CHECK(!has_b || b == Shape{x_last}, op, "b_dec of shape ", to_string(b), " does not match d = ", x_last);
}

// values = ReLU?(pre at idx); the backward shared by encode_at and topk_encode.
template <class T>
Tensor<T> record_encode(Tensor<T> values, const Tensor<T>& x, const Tensor<T>& W_enc, const Tensor<T>& b_dec,
                        const Tensor<T>& xc, const IndexTensor& idx, bool relu) {
  if (!autograd::any_requires_grad<T>({x, W_enc, b_dec})) return values;
  const Tensor<T> Wc = contiguous_detached(W_enc);
  const Tensor<T> vals = values.detach();
  const bool gx = x.requires_grad(), gw = W_enc.requires_grad(), gb = b_dec.defined() && b_dec.requires_grad();
  return autograd::record(values, "topk_encode", {x, W_enc, b_dec}, [=](const Tensor<T>& g) {
    const index_t rows = idx.size(0), k = idx.size(1), n = Wc.size(0), d = Wc.size(1);
    Tensor<T> dv = detail::contiguous_copy(g);
    if (relu)
      for (index_t e = 0; e < dv.numel(); ++e)
        if (!(vals.data()[e] > T(0))) dv.data()[e] = T(0);
    Tensor<T> dx, dW, db;
    if (gx) {  // dx[b] = Σ_s dv[b,s] W_enc[idx[b,s]]
      dx = Tensor<T>::empty({rows, d});
      kernels::sparse_combine<T>(dv.data(), idx.data(), rows, k, Wc.data(), d, nullptr, dx.data());
    }
    if (gb) {  // −Σ_b dx[b] = −Σ_j (Σ of dv over latent j's slots) W_enc[j]
      std::vector<double> per_latent(static_cast<std::size_t>(n), 0.0);
      for (index_t e = 0; e < rows * k; ++e) per_latent[static_cast<std::size_t>(idx.data()[e])] += dv.data()[e];
      std::vector<double> acc(static_cast<std::size_t>(d), 0.0);
      for (index_t j = 0; j < n; ++j)
        if (const double c = per_latent[static_cast<std::size_t>(j)]; c != 0)
          for (index_t i = 0; i < d; ++i) acc[static_cast<std::size_t>(i)] += c * Wc.data()[j * d + i];
      db = Tensor<T>::empty({d});
      for (index_t i = 0; i < d; ++i) db.data()[i] = static_cast<T>(-acc[static_cast<std::size_t>(i)]);
    }
    if (gw) {
      dW = Tensor<T>::empty({n, d});
      kernels::sparse_scatter<T>(dv.data(), idx.data(), rows, k, xc.data(), d, n, dW.data());
    }
    return std::vector<Tensor<T>>{dx, dW, db};
  });
}

// x − b_dec as a new contiguous tensor (the encoder's input, kept for the weight gradient).
template <class T>
Tensor<T> centered(const Tensor<T>& x, const Tensor<T>& b_dec) {
  Tensor<T> xc = detail::contiguous_copy(x.detach());
  if (b_dec.defined()) {
    const Tensor<T> b = contiguous_detached(b_dec);
    const index_t d = xc.size(1);
    for (index_t r = 0; r < xc.size(0); ++r)
      for (index_t i = 0; i < d; ++i) xc.data()[r * d + i] -= b.data()[i];
  }
  return xc;
}

}  // namespace detail

template <class T>
IndexTensor topk_select(const Tensor<T>& pre, index_t k) {
  BILIN_CHECK(pre.dim() == 2, "topk_select", "pre-activations must be [B, n], got ", to_string(pre.shape()));
  BILIN_CHECK(k >= 1 && k <= pre.size(1), "topk_select", "k = ", k, " must be in [1, n = ", pre.size(1), "]");
  const Tensor<T> p = detail::contiguous_detached(pre);
  const index_t rows = p.size(0), n = p.size(1);
  IndexTensor idx = IndexTensor::empty({rows, k});
  std::vector<T> vals(static_cast<std::size_t>(rows * k));
  kernels::topk_rows<T>(p.data(), rows, n, n, k, vals.data(), idx.data());
  return idx;
}

template <class T>
Tensor<T> encode_at(const Tensor<T>& x, const Tensor<T>& W_enc, const Tensor<T>& b_dec, const IndexTensor& idx,
                    bool relu = false) {
  detail::check_encoder("encode_at", x.dim(), x.size(-1), W_enc.shape(), b_dec.shape(), b_dec.defined());
  detail::check_code_indices("encode_at", idx, x.size(0), W_enc.size(0));
  const Tensor<T> xc = detail::centered(x, b_dec);
  const Tensor<T> Wc = detail::contiguous_detached(W_enc);
  const index_t rows = xc.size(0), k = idx.size(1), d = xc.size(1);
  Tensor<T> values = Tensor<T>::empty({rows, k});
  kernels::sparse_dot<T>(xc.data(), idx.data(), rows, k, Wc.data(), d, values.data());
  if (relu)
    for (index_t e = 0; e < values.numel(); ++e) values.data()[e] = std::max(values.data()[e], T(0));
  return detail::record_encode(values, x, W_enc, b_dec, xc, idx, relu);
}

template <class T>
SparseCode<T> topk_encode(const Tensor<T>& x, const Tensor<T>& W_enc, const Tensor<T>& b_dec, index_t k,
                          bool relu = false) {
  detail::check_encoder("topk_encode", x.dim(), x.size(-1), W_enc.shape(), b_dec.shape(), b_dec.defined());
  const index_t n = W_enc.size(0);
  BILIN_CHECK(k >= 1 && k < n, "topk_encode", "k = ", k, " must be in [1, n) with n = ", n, " latents");
  const Tensor<T> xc = detail::centered(x, b_dec);
  const Tensor<T> Wc = detail::contiguous_detached(W_enc);
  const index_t rows = xc.size(0), d = xc.size(1);
  Tensor<T> pre = Tensor<T>::empty({rows, n});
  detail::gemm_at(matmul_precision(), kernels::Trans::N, kernels::Trans::T, rows, n, d, T(1), xc.data(), d, Wc.data(),
                  d, T(0), pre.data(), n);
  SparseCode<T> out;
  out.indices = IndexTensor::empty({rows, k});
  out.values = Tensor<T>::empty({rows, k});
  kernels::topk_rows<T>(pre.data(), rows, n, n, k, out.values.data(), out.indices.data());
  if (relu)
    for (index_t e = 0; e < out.values.numel(); ++e) out.values.data()[e] = std::max(out.values.data()[e], T(0));
  out.values = detail::record_encode(out.values, x, W_enc, b_dec, xc, out.indices, relu);
  return out;
}

template <class T>
Tensor<T> sparse_decode(const Tensor<T>& values, const IndexTensor& idx, const Tensor<T>& W_dec,
                        const Tensor<T>& b_dec = Tensor<T>()) {
  BILIN_CHECK(values.dim() == 2 && values.shape() == idx.shape(), "sparse_decode", "values of shape ",
              to_string(values.shape()), " do not match indices of shape ", to_string(idx.shape()));
  BILIN_CHECK(W_dec.dim() == 2, "sparse_decode", "decoder weight must be [d, n], got ", to_string(W_dec.shape()));
  const index_t d = W_dec.size(0), n = W_dec.size(1), rows = values.size(0), k = values.size(1);
  BILIN_CHECK(!b_dec.defined() || b_dec.shape() == Shape{d}, "sparse_decode", "b_dec of shape ",
              to_string(b_dec.shape()), " does not match the decoder's d = ", d);
  detail::check_code_indices("sparse_decode", idx, rows, n);
  const Tensor<T> v = detail::contiguous_detached(values);
  const Tensor<T> Wt = detail::transposed_copy(W_dec);  // [n, d]: one latent's direction per row
  const Tensor<T> b = b_dec.defined() ? detail::contiguous_detached(b_dec) : Tensor<T>();
  Tensor<T> out = Tensor<T>::empty({rows, d});
  kernels::sparse_combine<T>(v.data(), idx.data(), rows, k, Wt.data(), d, b.defined() ? b.data() : nullptr, out.data());
  if (!autograd::any_requires_grad<T>({values, W_dec, b_dec})) return out;
  const bool gv = values.requires_grad(), gw = W_dec.requires_grad(), gb = b_dec.defined() && b_dec.requires_grad();
  return autograd::record(out, "sparse_decode", {values, W_dec, b_dec}, [=](const Tensor<T>& g) {
    const Tensor<T> gc = detail::contiguous_detached(g);
    Tensor<T> dv, dW, db;
    if (gv) {
      dv = Tensor<T>::empty({rows, k});
      kernels::sparse_dot<T>(gc.data(), idx.data(), rows, k, Wt.data(), d, dv.data());
    }
    if (gw) {
      Tensor<T> dWt = Tensor<T>::empty({n, d});
      kernels::sparse_scatter<T>(v.data(), idx.data(), rows, k, gc.data(), d, n, dWt.data());
      dW = detail::transposed_copy(dWt);
    }
    if (gb) {
      db = Tensor<T>::empty({d});
      kernels::sum_leading(gc.data(), rows, d, db.data());
    }
    return std::vector<Tensor<T>>{dv, dW, db};
  });
}

template <class T>
Tensor<T> dense_codes(const Tensor<T>& values, const IndexTensor& idx, index_t n) {
  BILIN_CHECK(values.dim() == 2 && values.shape() == idx.shape(), "dense_codes", "values of shape ",
              to_string(values.shape()), " do not match indices of shape ", to_string(idx.shape()));
  detail::check_code_indices("dense_codes", idx, values.size(0), n);
  const Tensor<T> v = detail::contiguous_detached(values);
  Tensor<T> out = Tensor<T>::zeros({values.size(0), n});
  for (index_t e = 0; e < v.numel(); ++e) out.data()[(e / v.size(1)) * n + idx.data()[e]] = v.data()[e];
  return out;
}

}  // namespace bilin
