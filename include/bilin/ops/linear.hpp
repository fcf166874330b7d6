// bilin/ops/linear.hpp — the two fused ops every MLP here is made of.
//
// Contract:
// - linear(x, W, b): y = x·Wᵀ + b for x [..., in], W [out, in] (PyTorch layout), b [out] or
//   undefined. One GEMM forward; backward is two GEMMs (dx = g·W, dW = gᵀ·x, both reading
//   the stored layout through Trans flags) and a column sum for db.
// - bilinear_product(z, gate): z [..., 2h] holds the stacked outputs of the left and right
//   halves; returns act(z[..., :h]) ⊙ z[..., h:] with act = identity (the bilinear layer) or a
//   GLU gate (relu, silu, gelu). Forward and backward are one SIMD pass each; nothing but z is
//   saved. Together: Bilinear(x) = bilinear_product(linear(x, [W; V], [b_W; b_V]), gate).
// - linear's three GEMMs run at the thread's matmul precision read in the forward
//   (ops/precision_scope.hpp); the bias add, the product and db stay fp32.
#pragma once
#include "../kernels/gemm.hpp"
#include "precision_scope.hpp"
#include "../kernels/reduce.hpp"
#include "elementwise.hpp"

namespace bilin {

template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& W, const Tensor<T>& b = Tensor<T>()) {
  BILIN_CHECK(W.dim() == 2, "linear", "weight must be [out, in], got ", to_string(W.shape()));
  BILIN_CHECK(x.dim() >= 1 && x.size(-1) == W.size(1), "linear", "input of shape ", to_string(x.shape()),
              " does not match weight of shape ", to_string(W.shape()), " (expected last axis ", W.size(1), ")");
  const index_t out_f = W.size(0), in_f = W.size(1);
  BILIN_CHECK(!b.defined() || b.shape() == Shape{out_f}, "linear", "bias of shape ", to_string(b.shape()),
              " does not match weight of shape ", to_string(W.shape()));
  const Tensor<T> xc = x.is_contiguous() ? x.detach() : detail::contiguous_copy(x);
  const Tensor<T> Wc = W.is_contiguous() ? W.detach() : detail::contiguous_copy(W);
  const index_t n = in_f ? x.numel() / in_f : 0;
  Shape os = x.shape();
  os.back() = out_f;
  auto y = Tensor<T>::empty(os);
  T beta = T(0);
  if (b.defined()) {
    const Tensor<T> bc = b.is_contiguous() ? b : detail::contiguous_copy(b);
    for (index_t r = 0; r < n; ++r) std::copy_n(bc.data(), out_f, y.data() + r * out_f);
    beta = T(1);
  }
  const Precision prec = matmul_precision();
  detail::gemm_at(prec, kernels::Trans::N, kernels::Trans::T, n, out_f, in_f, T(1), xc.data(), in_f, Wc.data(), in_f,
                  beta, y.data(), out_f);
  if (!autograd::any_requires_grad<T>({x, W, b})) return y;
  const bool gx = x.requires_grad(), gw = W.requires_grad(), gb = b.defined() && b.requires_grad();
  const Shape xs = x.shape();
  return autograd::record(y, "linear", {x, W, b}, [xc, Wc, gx, gw, gb, n, in_f, out_f, xs, prec](const Tensor<T>& g) {
    const Tensor<T> gc = g.is_contiguous() ? g : detail::contiguous_copy(g);
    Tensor<T> dx, dW, db;
    if (gx) {
      dx = Tensor<T>::empty(xs);
      detail::gemm_at(prec, kernels::Trans::N, kernels::Trans::N, n, in_f, out_f, T(1), gc.data(), out_f, Wc.data(),
                      in_f, T(0), dx.data(), in_f);
    }
    if (gw) {
      dW = Tensor<T>::empty({out_f, in_f});
      detail::gemm_at(prec, kernels::Trans::T, kernels::Trans::N, out_f, in_f, n, T(1), gc.data(), out_f, xc.data(),
                      in_f, T(0), dW.data(), in_f);
    }
    if (gb) {
      db = Tensor<T>::empty({out_f});
      kernels::sum_leading(gc.data(), n, out_f, db.data());
    }
    return std::vector<Tensor<T>>{dx, dW, db};
  });
}

enum class Gate { None, Relu, Silu, Gelu };

inline const char* gate_name(Gate g) {
  switch (g) {
    case Gate::None: return "none";
    case Gate::Relu: return "relu";
    case Gate::Silu: return "silu";
    case Gate::Gelu: return "gelu";
  }
  return "?";
}

namespace detail {
// Calls f with the functor of the gate (identity for the bilinear layer).
struct IdentityFn {
  template <class V> V fwd(V x) const { return x; }
  template <class V> V bwd(V g, V) const { return g; }
};
template <class F>
decltype(auto) with_gate(Gate gate, F&& f) {
  switch (gate) {
    case Gate::Relu: return f(fn::Relu{});
    case Gate::Silu: return f(fn::Silu{});
    case Gate::Gelu: return f(fn::GeluErf{});
    default: return f(IdentityFn{});
  }
}
// Whether rows × n outputs (contiguous, fresh storage) go out with streaming stores: large
// enough, and rows of whole 64-byte lines so every row start is aligned for the batch.
template <class T>
bool stream_rows(index_t rows, index_t n) {
  return simd::vectorized<T> && n % static_cast<index_t>(64 / sizeof(T)) == 0 &&
         static_cast<std::size_t>(rows * n) * sizeof(T) >= simd::stream_min_bytes;
}
}  // namespace detail

template <class T>
Tensor<T> bilinear_product(const Tensor<T>& z, Gate gate = Gate::None) {
  BILIN_CHECK(z.dim() >= 1 && z.size(-1) % 2 == 0, "bilinear_product", "last axis must hold both halves (even), got ",
              to_string(z.shape()));
  const index_t h2 = z.size(-1), h = h2 / 2, rows = h2 ? z.numel() / h2 : 0;
  const Tensor<T> zc = z.is_contiguous() ? z.detach() : detail::contiguous_copy(z);
  Shape os = z.shape();
  os.back() = h;
  auto y = Tensor<T>::empty(os);
  const bool par = rows * h >= kernels::kParallelGrain && !omp_in_parallel();
  // Large outputs skip the caches (simd.hpp); with h a multiple of 64 bytes every row is aligned.
  const bool nt = detail::stream_rows<T>(rows, h);
  detail::with_gate(gate, [&](auto act) {
#pragma omp parallel for schedule(static) if (par)
    for (index_t r = 0; r < rows; ++r) {
      const T* l = zc.data() + r * h2;
      const T* rt = l + h;
      T* o = y.data() + r * h;
      index_t j = 0;
      using B = simd::batch<T>;
      constexpr index_t W = static_cast<index_t>(B::size);
      if (nt)
        for (; j + W <= h; j += W) simd::store_stream(act.fwd(B::load_unaligned(l + j)) * B::load_unaligned(rt + j), o + j);
      for (; j + W <= h; j += W) (act.fwd(B::load_unaligned(l + j)) * B::load_unaligned(rt + j)).store_unaligned(o + j);
      for (; j < h; ++j) o[j] = act.fwd(l[j]) * rt[j];
    }
  });
  if (nt) simd::stream_fence();
  if (!autograd::any_requires_grad<T>({z})) return y;
  return autograd::record(y, "bilinear_product", {z}, [zc, gate, rows, h, h2, zs = z.shape()](const Tensor<T>& g) {
    const Tensor<T> gc = g.is_contiguous() ? g : detail::contiguous_copy(g);
    auto gz = Tensor<T>::empty(zs);
    const bool par = rows * h >= kernels::kParallelGrain && !omp_in_parallel();
    const bool nt = detail::stream_rows<T>(2 * rows, h);  // both halves of every row aligned
    detail::with_gate(gate, [&](auto act) {
#pragma omp parallel for schedule(static) if (par)
      for (index_t r = 0; r < rows; ++r) {
        const T* l = zc.data() + r * h2;
        const T* rt = l + h;
        const T* gr = gc.data() + r * h;
        T* dl = gz.data() + r * h2;
        T* dr = dl + h;
        index_t j = 0;
        using B = simd::batch<T>;
        constexpr index_t W = static_cast<index_t>(B::size);
        if (nt)
          for (; j + W <= h; j += W) {
            const B lv = B::load_unaligned(l + j), rv = B::load_unaligned(rt + j), gv = B::load_unaligned(gr + j);
            simd::store_stream(act.bwd(gv * rv, lv), dl + j);
            simd::store_stream(gv * act.fwd(lv), dr + j);
          }
        for (; j + W <= h; j += W) {
          const B lv = B::load_unaligned(l + j), rv = B::load_unaligned(rt + j), gv = B::load_unaligned(gr + j);
          act.bwd(gv * rv, lv).store_unaligned(dl + j);  // d/dl = g·r·act'(l)
          (gv * act.fwd(lv)).store_unaligned(dr + j);    // d/dr = g·act(l)
        }
        for (; j < h; ++j) {
          dl[j] = act.bwd(gr[j] * rt[j], l[j]);
          dr[j] = gr[j] * act.fwd(l[j]);
        }
      }
    });
    if (nt) simd::stream_fence();
    return std::vector<Tensor<T>>{gz};
  });
}

}  // namespace bilin
