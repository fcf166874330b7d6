// bilin/interp/bilinear_tensor.hpp — a bilinear layer as a third-order tensor, its interaction
// matrices Q(u), and the matrix-free operator x ↦ Q(u)x.
//
// Contract (Pearce et al. 2025, "Bilinear MLPs enable weight-based mechanistic interpretability"):
// - A bilinear layer g(x) = (Wx) ⊙ (Vx), W, V ∈ R^{h×n} (rows w_o, v_o), followed by a linear map
//   P ∈ R^{C×h} computes out_c = xᵀ B[c] x with the symmetrized tensor
//       B[c] = ½ Σ_o P[c,o] (w_o v_oᵀ + v_o w_oᵀ).
//   Only the symmetric part acts on x ⊗ x, so every matrix returned here is exactly symmetric
//   (entry (i,j) and (j,i) are the same computed number).
// - hidden_direction(P, u) = Pᵀu ∈ R^h: an output direction u ∈ R^C seen from the hidden layer.
// - interaction_matrix(W, V, P, u) = Q(u) = Σ_c u_c B[c] = ½(Wᵀ diag(Pᵀu) V + Vᵀ diag(Pᵀu) W),
//   for any u (a class one-hot, a difference of classes, an arbitrary vector). uᵀ out(x) = xᵀ Q(u) x.
//   interaction_matrix_hidden(W, V, u') takes u' = Pᵀu directly (for a layer without head, or a
//   direction already in hidden space).
// - bilinear_tensor(W, V, P) → [C, n, n], the stacked B[c].
// - with_bias_input(W, b) → [h, n+1] = [W | b]: a layer bias is a weight on a constant input 1,
//   so (Wx + b) = [W|b]·[x; 1] and everything above applies to the augmented input [x; 1].
// - InteractionOperator(W, V, u'): y = Q x computed as ½(Wᵀ(u' ⊙ Vx) + Vᵀ(u' ⊙ Wx)) in O(h·n)
//   without forming the n×n matrix — the matvec Lanczos needs for very wide layers. Optional
//   extra terms (set_linear, set_constant) add ½(l e_lastᵀ + e_last lᵀ) and c·e_last e_lastᵀ,
//   i.e. a linear term lᵀx and a constant folded into the quadratic form on an augmented input.
// - Shapes are checked: W and V equal [h, n], P [C, h], u [C], u' [h], b [h]; violations throw
//   bilin::Error naming the function and the shapes. Inputs may be non-contiguous.
#pragma once
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../kernels/gemm.hpp"
#include "../ops/views.hpp"

namespace bilin::interp {

namespace detail {

template <class T>
Tensor<T> dense(const Tensor<T>& t) {
  return t.is_contiguous() ? t : t.contiguous();
}

template <class T>
void check_halves(const char* op, const Tensor<T>& W, const Tensor<T>& V) {
  BILIN_CHECK(W.defined() && V.defined() && W.dim() == 2 && V.dim() == 2 && W.shape() == V.shape(), op,
              "W and V must be 2-D [hidden, in] of the same shape, got W ", W.defined() ? to_string(W.shape()) : "none",
              " and V ", V.defined() ? to_string(V.shape()) : "none");
}

// Q = ½(Wᵀ diag(s) V + Vᵀ diag(s) W) into q [n, n]; the GEMM result M = Wᵀ diag(s) V is
// symmetrized as ½(M + Mᵀ), which equals the formula and is exactly symmetric.
template <class T>
void interaction_into(const T* W, const T* V, const T* s, index_t h, index_t n, T* q) {
  std::vector<T> sv(static_cast<std::size_t>(h * n));
  for (index_t o = 0; o < h; ++o)
    for (index_t j = 0; j < n; ++j) sv[o * n + j] = s[o] * V[o * n + j];
  std::vector<T> m(static_cast<std::size_t>(n * n));
  kernels::gemm<T>(kernels::Trans::T, kernels::Trans::N, n, n, h, T(1), W, n, sv.data(), n, T(0), m.data(), n);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j) {
      const T v = T(0.5) * (m[i * n + j] + m[j * n + i]);
      q[i * n + j] = v;
      q[j * n + i] = v;
    }
}

}  // namespace detail

template <class T>
Tensor<T> hidden_direction(const Tensor<T>& P, const Tensor<T>& u) {
  BILIN_CHECK(P.defined() && P.dim() == 2, "hidden_direction", "P must be 2-D [outputs, hidden], got ",
              P.defined() ? to_string(P.shape()) : "none");
  BILIN_CHECK(u.defined() && u.dim() == 1 && u.size(0) == P.size(0), "hidden_direction", "u must be [", P.size(0),
              "] for P of shape ", to_string(P.shape()), ", got ", u.defined() ? to_string(u.shape()) : "none");
  const Tensor<T> p = detail::dense(P), uu = detail::dense(u);
  const index_t C = P.size(0), h = P.size(1);
  Tensor<T> out = Tensor<T>::zeros({h});
  for (index_t c = 0; c < C; ++c) {
    const T uc = uu.data()[c];
    if (uc == T(0)) continue;
    for (index_t o = 0; o < h; ++o) out.data()[o] += uc * p.data()[c * h + o];
  }
  return out;
}

template <class T>
Tensor<T> interaction_matrix_hidden(const Tensor<T>& W, const Tensor<T>& V, const Tensor<T>& u_hidden) {
  detail::check_halves("interaction_matrix", W, V);
  const index_t h = W.size(0), n = W.size(1);
  BILIN_CHECK(u_hidden.defined() && u_hidden.dim() == 1 && u_hidden.size(0) == h, "interaction_matrix",
              "hidden direction must be [", h, "] for W of shape ", to_string(W.shape()), ", got ",
              u_hidden.defined() ? to_string(u_hidden.shape()) : "none");
  const Tensor<T> w = detail::dense(W), v = detail::dense(V), s = detail::dense(u_hidden);
  Tensor<T> q = Tensor<T>::empty({n, n});
  detail::interaction_into(w.data(), v.data(), s.data(), h, n, q.data());
  return q;
}

template <class T>
Tensor<T> interaction_matrix(const Tensor<T>& W, const Tensor<T>& V, const Tensor<T>& P, const Tensor<T>& u) {
  detail::check_halves("interaction_matrix", W, V);
  BILIN_CHECK(P.defined() && P.dim() == 2 && P.size(1) == W.size(0), "interaction_matrix", "P must be [outputs, ",
              W.size(0), "] for W of shape ", to_string(W.shape()), ", got ",
              P.defined() ? to_string(P.shape()) : "none");
  return interaction_matrix_hidden(W, V, hidden_direction(P, u));
}

template <class T>
Tensor<T> bilinear_tensor(const Tensor<T>& W, const Tensor<T>& V, const Tensor<T>& P) {
  detail::check_halves("bilinear_tensor", W, V);
  BILIN_CHECK(P.defined() && P.dim() == 2 && P.size(1) == W.size(0), "bilinear_tensor", "P must be [outputs, ",
              W.size(0), "] for W of shape ", to_string(W.shape()), ", got ",
              P.defined() ? to_string(P.shape()) : "none");
  const index_t C = P.size(0), h = W.size(0), n = W.size(1);
  const Tensor<T> w = detail::dense(W), v = detail::dense(V), p = detail::dense(P);
  Tensor<T> out = Tensor<T>::empty({C, n, n});
  for (index_t c = 0; c < C; ++c) detail::interaction_into(w.data(), v.data(), p.data() + c * h, h, n, out.data() + c * n * n);
  return out;
}

template <class T>
Tensor<T> with_bias_input(const Tensor<T>& W, const Tensor<T>& b) {
  BILIN_CHECK(W.defined() && W.dim() == 2, "with_bias_input", "W must be 2-D, got ",
              W.defined() ? to_string(W.shape()) : "none");
  const index_t h = W.size(0), n = W.size(1);
  BILIN_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == h), "with_bias_input", "bias must be [", h,
              "] for W of shape ", to_string(W.shape()), ", got ", b.defined() ? to_string(b.shape()) : "none");
  const Tensor<T> w = detail::dense(W);
  const Tensor<T> bb = b.defined() ? detail::dense(b) : Tensor<T>();
  Tensor<T> out = Tensor<T>::empty({h, n + 1});
  for (index_t o = 0; o < h; ++o) {
    std::copy_n(w.data() + o * n, n, out.data() + o * (n + 1));
    out.data()[o * (n + 1) + n] = bb.defined() ? bb.data()[o] : T(0);
  }
  return out;
}

template <class T>
class InteractionOperator {
 public:
  InteractionOperator(const Tensor<T>& W, const Tensor<T>& V, const Tensor<T>& u_hidden)
      : W_(detail::dense(W)), V_(detail::dense(V)) {
    detail::check_halves("InteractionOperator", W, V);
    h_ = W.size(0);
    n_ = W.size(1);
    BILIN_CHECK(u_hidden.defined() && u_hidden.dim() == 1 && u_hidden.size(0) == h_, "InteractionOperator",
                "hidden direction must be [", h_, "], got ", u_hidden.defined() ? to_string(u_hidden.shape()) : "none");
    s_ = u_hidden.to_vector();
  }
  // Adds the linear term lᵀx (l has n entries, its last one is ignored: the constant is set by
  // set_constant) as the symmetric off-diagonal ½(l e_last + e_last l) on the augmented input.
  InteractionOperator& set_linear(std::vector<T> l) {
    BILIN_CHECK(static_cast<index_t>(l.size()) == n_, "InteractionOperator", "linear term has ", l.size(),
                " entries, the operator acts on ", n_);
    lin_ = std::move(l);
    return *this;
  }
  InteractionOperator& set_constant(T c) {
    constant_ = c;
    return *this;
  }
  index_t size() const { return n_; }

  // y = Q x for raw buffers of size() elements (the Lanczos interface).
  void operator()(const T* x, T* y) const {
    std::vector<T> wx(static_cast<std::size_t>(h_)), vx(static_cast<std::size_t>(h_));
    const T* W = W_.data();
    const T* V = V_.data();
    for (index_t o = 0; o < h_; ++o) {
      T a = 0, b = 0;
      for (index_t j = 0; j < n_; ++j) {
        a += W[o * n_ + j] * x[j];
        b += V[o * n_ + j] * x[j];
      }
      wx[o] = T(0.5) * s_[o] * a;
      vx[o] = T(0.5) * s_[o] * b;
    }
    for (index_t j = 0; j < n_; ++j) y[j] = 0;
    for (index_t o = 0; o < h_; ++o) {
      const T a = vx[o], b = wx[o];  // Wᵀ(½u'⊙Vx) + Vᵀ(½u'⊙Wx)
      for (index_t j = 0; j < n_; ++j) y[j] += W[o * n_ + j] * a + V[o * n_ + j] * b;
    }
    if (!lin_.empty()) {
      const index_t last = n_ - 1;
      T dot = 0;
      for (index_t j = 0; j < last; ++j) {
        y[j] += T(0.5) * lin_[j] * x[last];
        dot += lin_[j] * x[j];
      }
      y[last] += T(0.5) * dot;
    }
    if (constant_ != T(0)) y[n_ - 1] += constant_ * x[n_ - 1];
  }

  Tensor<T> apply(const Tensor<T>& x) const {
    BILIN_CHECK(x.defined() && x.dim() == 1 && x.size(0) == n_, "InteractionOperator", "x must be [", n_, "], got ",
                x.defined() ? to_string(x.shape()) : "none");
    const Tensor<T> xx = detail::dense(x);
    Tensor<T> y = Tensor<T>::empty({n_});
    (*this)(xx.data(), y.data());
    return y;
  }

 private:
  Tensor<T> W_, V_;
  std::vector<T> s_, lin_;
  T constant_ = 0;
  index_t h_ = 0, n_ = 0;
};

}  // namespace bilin::interp
