// bilin/ops/attention.hpp — fused causal multi-head attention, forward and backward.
//
// Contract:
// - causal_attention(qkv, n_head, scale): qkv [B, T, 3·D] is the packed output of one
//   projection, laid out [q | k | v] with heads contiguous inside each part ("(n n_head
//   d_head)" in the official code), D = n_head · d_head. Returns z [B, T, D] (heads
//   concatenated, ready for the output projection) with, per batch b and head h,
//     z_h = softmax(scale · q_h k_hᵀ + causal mask) v_h,   scale = 1/√d_head when < 0.
//   Query t attends to keys 0..t.
// - Memory: the kernel loops over (batch, head) pairs, in parallel with OpenMP (the GEMMs
//   inside then run single-threaded), and per pair over blocks of kRowBlock query rows; only a
//   kRowBlock × T slice of scores (and of dP in backward) exists per thread at a time, never a
//   [B, H, T, T] tensor. Keys past the last row of a block are never computed, so the causal
//   mask skips about half of the score work. The op saves qkv, its own output and the
//   log-sum-exp of every score row ([B, H, T]); backward recomputes the probabilities from
//   them (FlashAttention style): dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O)),
//   dQ = scale · dS K, dK = scale · dSᵀ Q, returned packed as d(qkv) [B, T, 3·D].
// - kernels::attention_forward_head is the raw kernel of one head with queries at positions
//   q_offset.. (used with a KV cache by nn/generate.hpp: one query row at q_offset = t over
//   t + 1 cached keys).
// - Non-finite values stay where causality puts them: a NaN or Inf in a later position's q, k,
//   v (or, in backward, its output gradient) never reaches an earlier position's output or
//   gradient. The block GEMMs multiply masked zeros by later rows, and 0 · NaN is NaN, so a
//   block whose later rows are not all finite runs row by row over exactly the visible keys.
// - Precision: every GEMM of the forward and the backward (scores, P·V, dV, dP, dQ, dK) runs at
//   the thread's matmul precision read in the forward and kept for the backward
//   (ops/precision_scope.hpp); the softmax, the log-sum-exp and the row sums stay fp32. The
//   head kernels take it as an argument (fp32 by default: the KV-cache generator).
// - Errors (bilin::Error "causal_attention"): qkv not 3-D, last axis not divisible by 3·n_head.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../autograd/function.hpp"
#include "../kernels/elementwise.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/softmax_rows.hpp"
#include "precision_scope.hpp"
#include "views.hpp"

namespace bilin {

namespace kernels {

inline constexpr index_t kAttnRowBlock = 64;

// Scratch for one thread: kRowBlock × Tk scores (+ as much again for dP in backward).
template <class T>
struct AttnScratch {
  std::vector<T> s, dp;
  void ensure(index_t n, bool backward) {
    if (static_cast<index_t>(s.size()) < n) s.resize(static_cast<std::size_t>(n));
    if (backward && static_cast<index_t>(dp.size()) < n) dp.resize(static_cast<std::size_t>(n));
  }
};

// Whether rows [r0, r1) × [0, dh) of a matrix with leading dimension ld are all finite.
template <class T>
bool rows_finite(const T* a, index_t ld, index_t r0, index_t r1, index_t dh) {
  for (index_t r = r0; r < r1; ++r)
    for (index_t c = 0; c < dh; ++c)
      if (!std::isfinite(a[r * ld + c])) return false;
  return true;
}

// One head: Tq query rows at positions q_offset.., Tk = q_offset + Tq keys. Writes o (Tq × dh,
// leading dimension ldo) and, when lse is non-null, the log-sum-exp of each scaled score row.
template <class T>
void attention_forward_head(const T* q, index_t ldq, const T* k, index_t ldk, const T* v, index_t ldv, T* o,
                            index_t ldo, T* lse, index_t Tq, index_t q_offset, index_t dh, T scale,
                            AttnScratch<T>& scratch, Precision prec = Precision::fp32) {
  using bilin::detail::gemm_at;
  const index_t Tk = q_offset + Tq;
  scratch.ensure(kAttnRowBlock * Tk, false);
  T* S = scratch.s.data();
  for (index_t r0 = 0; r0 < Tq; r0 += kAttnRowBlock) {
    const index_t r1 = std::min(Tq, r0 + kAttnRowBlock), rb = r1 - r0, lim = q_offset + r1;
    gemm_at(prec, Trans::N, Trans::T, rb, lim, dh, scale, q + r0 * ldq, ldq, k, ldk, T(0), S, lim);
    for (index_t i = 0; i < rb; ++i) {
      T* row = S + i * lim;
      const index_t n = q_offset + r0 + i + 1;  // keys this query may see
      const T m = row_max(row, n);
      const double s = exp_shift_sum(row, n, m);
      const T inv = static_cast<T>(1.0 / s);
      for (index_t j = 0; j < n; ++j) row[j] *= inv;
      std::fill(row + n, row + lim, T(0));
      if (lse) lse[r0 + i] = static_cast<T>(static_cast<double>(m) + std::log(s));
    }
    if (rows_finite(v, ldv, q_offset + r0 + 1, lim, dh)) {
      gemm_at(prec, Trans::N, Trans::N, rb, dh, lim, T(1), S, lim, v, ldv, T(0), o + r0 * ldo, ldo);
    } else {
      for (index_t i = 0; i < rb; ++i)
        gemm_at(prec, Trans::N, Trans::N, index_t{1}, dh, q_offset + r0 + i + 1, T(1), S + i * lim, lim, v, ldv,
                T(0), o + (r0 + i) * ldo, ldo);
    }
  }
}

// Backward of one head (T queries over T keys, q_offset = 0). dq/dk/dv have the leading
// dimensions of q/k/v; dk and dv are accumulated into (the caller zeroes them).
template <class T>
void attention_backward_head(const T* q, const T* k, const T* v, index_t ld, const T* o, const T* dout,
                             index_t ldo, const T* lse, T* dq, T* dk, T* dv, index_t Tn, index_t dh, T scale,
                             AttnScratch<T>& scratch, Precision prec = Precision::fp32) {
  using bilin::detail::gemm_at;
  using bilin::detail::gemm_at;
  scratch.ensure(kAttnRowBlock * Tn, true);
  T* P = scratch.s.data();
  T* dP = scratch.dp.data();
  for (index_t r0 = 0; r0 < Tn; r0 += kAttnRowBlock) {
    const index_t r1 = std::min(Tn, r0 + kAttnRowBlock), rb = r1 - r0, lim = r1;
    gemm_at(prec, Trans::N, Trans::T, rb, lim, dh, scale, q + r0 * ld, ld, k, ld, T(0), P, lim);
    gemm_at(prec, Trans::N, Trans::T, rb, lim, dh, T(1), dout + r0 * ldo, ldo, v, ld, T(0), dP, lim);
    for (index_t i = 0; i < rb; ++i) {
      T* prow = P + i * lim;
      T* dprow = dP + i * lim;
      const index_t n = r0 + i + 1;
      const T l = lse[r0 + i];
      const T* orow = o + (r0 + i) * ldo;
      const T* grow = dout + (r0 + i) * ldo;
      double di = 0;  // Σ dO ⊙ O = Σ_j P_ij dP_ij
      for (index_t c = 0; c < dh; ++c) di += static_cast<double>(grow[c]) * orow[c];
      const T Di = static_cast<T>(di);
      index_t j = 0;
      if constexpr (simd_ok<T>) {
        using B = simd::batch<T>;
        constexpr index_t W = static_cast<index_t>(B::size);
        const B lv(l), dv_(Di), sv(scale);
        for (; j + W <= n; j += W) {
          const B p = xsimd::exp(B::load_unaligned(prow + j) - lv);
          p.store_unaligned(prow + j);
          (p * (B::load_unaligned(dprow + j) - dv_) * sv).store_unaligned(dprow + j);
        }
      }
      for (; j < n; ++j) {
        const T p = std::exp(prow[j] - l);
        prow[j] = p;
        dprow[j] = p * (dprow[j] - Di) * scale;
      }
      std::fill(prow + n, prow + lim, T(0));
      std::fill(dprow + n, dprow + lim, T(0));
    }
    // dV[0:lim] += Pᵀ dO[r0:r1];  dQ[r0:r1] = dS K[0:lim];  dK[0:lim] += dSᵀ Q[r0:r1]
    if (rows_finite(dout, ldo, r0, r1 - 1, dh) && rows_finite(q, ld, r0, r1 - 1, dh) &&
        rows_finite(k, ld, r0 + 1, r1, dh)) {
      gemm_at(prec, Trans::T, Trans::N, lim, dh, rb, T(1), P, lim, dout + r0 * ldo, ldo, T(1), dv, ld);
      gemm_at(prec, Trans::N, Trans::N, rb, dh, lim, T(1), dP, lim, k, ld, T(0), dq + r0 * ld, ld);
      gemm_at(prec, Trans::T, Trans::N, lim, dh, rb, T(1), dP, lim, q + r0 * ld, ld, T(1), dk, ld);
    } else {
      for (index_t i = 0; i < rb; ++i) {
        const index_t n = r0 + i + 1, r = r0 + i;
        gemm_at(prec, Trans::T, Trans::N, n, dh, index_t{1}, T(1), P + i * lim, lim, dout + r * ldo, ldo, T(1), dv,
                ld);
        gemm_at(prec, Trans::N, Trans::N, index_t{1}, dh, n, T(1), dP + i * lim, lim, k, ld, T(0), dq + r * ld, ld);
        gemm_at(prec, Trans::T, Trans::N, n, dh, index_t{1}, T(1), dP + i * lim, lim, q + r * ld, ld, T(1), dk, ld);
      }
    }
  }
}

}  // namespace kernels

// Below this much score work (B·H·T²·d_head) a thread team costs more than it saves.
inline constexpr index_t kAttnParallelMacs = index_t{1} << 18;
// Whether the (batch, head) pairs run in parallel: several of them, enough work to pay for
// the team, and not already inside a parallel region.
inline bool attn_parallel(index_t pairs, index_t Tn, index_t dh) {
  return pairs > 1 && pairs * Tn * Tn * dh >= kAttnParallelMacs && !omp_in_parallel();
}

template <class T>
Tensor<T> causal_attention(const Tensor<T>& qkv, index_t n_head, double scale = -1) {
  BILIN_CHECK(qkv.dim() == 3, "causal_attention", "qkv must be [B, T, 3·d_model], got shape ",
              to_string(qkv.shape()));
  BILIN_CHECK(n_head > 0 && qkv.size(2) % (3 * n_head) == 0, "causal_attention", "last axis of qkv ",
              to_string(qkv.shape()), " is not 3 · n_head · d_head for n_head = ", n_head);
  const index_t B = qkv.size(0), Tn = qkv.size(1), D = qkv.size(2) / 3, dh = D / n_head, ld = 3 * D;
  const T sc = static_cast<T>(scale < 0 ? 1.0 / std::sqrt(static_cast<double>(dh)) : scale);
  const Tensor<T> x = qkv.is_contiguous() ? qkv.detach() : detail::contiguous_copy(qkv);
  auto out = Tensor<T>::empty({B, Tn, D});
  const bool need_grad = autograd::any_requires_grad<T>({qkv});
  Tensor<T> lse = need_grad ? Tensor<T>::empty({B, n_head, Tn}) : Tensor<T>();
  const index_t pairs = B * n_head;
  const bool par = attn_parallel(pairs, Tn, dh);
  const Precision prec = matmul_precision();
#pragma omp parallel if (par)
  {
    kernels::AttnScratch<T> scratch;
#pragma omp for schedule(dynamic)
    for (index_t p = 0; p < pairs; ++p) {
      const index_t b = p / n_head, h = p % n_head;
      const T* base = x.data() + b * Tn * ld + h * dh;
      kernels::attention_forward_head(base, ld, base + D, ld, base + 2 * D, ld, out.data() + b * Tn * D + h * dh, D,
                                      need_grad ? lse.data() + p * Tn : nullptr, Tn, index_t{0}, dh, sc, scratch,
                                      prec);
    }
  }
  if (!need_grad) return out;
  const Tensor<T> o = out.detach();
  return autograd::record(out, "causal_attention", {qkv}, [x, o, lse, B, Tn, D, dh, n_head, ld, sc,
                                                             prec](const Tensor<T>& g) {
    const Tensor<T> gc = g.is_contiguous() ? g : detail::contiguous_copy(g);
    auto dx = Tensor<T>::empty(x.shape());
    const index_t pairs = B * n_head;
    const bool par = attn_parallel(pairs, Tn, dh);
#pragma omp parallel if (par)
    {
      kernels::AttnScratch<T> scratch;
#pragma omp for schedule(dynamic)
      for (index_t p = 0; p < pairs; ++p) {
        const index_t b = p / n_head, h = p % n_head;
        const T* base = x.data() + b * Tn * ld + h * dh;
        T* dbase = dx.data() + b * Tn * ld + h * dh;
        for (index_t t = 0; t < Tn; ++t) {  // dk, dv accumulate
          std::fill_n(dbase + t * ld + D, dh, T(0));
          std::fill_n(dbase + t * ld + 2 * D, dh, T(0));
        }
        kernels::attention_backward_head(base, base + D, base + 2 * D, ld, o.data() + b * Tn * D + h * dh,
                                         gc.data() + b * Tn * D + h * dh, D, lse.data() + p * Tn, dbase, dbase + D,
                                         dbase + 2 * D, Tn, dh, sc, scratch, prec);
      }
    }
    return std::vector<Tensor<T>>{dx};
  });
}

}  // namespace bilin
