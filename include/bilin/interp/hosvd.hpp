// bilin/interp/hosvd.hpp — higher-order SVD of a bilinear layer's tensor (the paper's §3.3 and
// App. D): the output directions that carry most of the tensor, each with its interaction matrix.
//
// Contract (Pearce et al. 2025, §3.3):
// - Flatten the symmetrized tensor B [C, n, n] (interp/bilinear_tensor.hpp) to B_flat [C, n²]
//   and take its SVD B_flat = Σ_k σ_k u_k r_kᵀ. u_k ∈ R^C is an output direction; r_k reshaped to
//   n×n is the symmetric interaction matrix Q(u_k)/σ_k (because r_k = B_flatᵀu_k/σ_k), which
//   can be eigendecomposed like any Q (interp/decompose.hpp).
// - hosvd(W, V, P) never forms B: the left singular vectors are the eigenvectors of the C×C Gram
//   matrix G = B_flat B_flatᵀ, G[c, c'] = ⟨B[c], B[c']⟩_F = (P K Pᵀ)[c, c'] with the h×h matrix
//   K = ½[(WWᵀ) ⊙ (VVᵀ) + (WVᵀ) ⊙ (WVᵀ)ᵀ] (expand the Frobenius product of two symmetrized
//   rank-2 terms ½(w_o v_oᵀ + v_o w_oᵀ)); cost O(h²n + Ch²) instead of the O(Chn²) of B.
// - hosvd_of_forms(forms) does the same for any list of C symmetric n×n matrices (e.g. a
//   classifier's per-class forms, which include biases and a residual term): G[c, c'] = ⟨Q_c, Q_c'⟩_F.
// - Result Hosvd: singular_values [r] descending (σ_k = √max(λ_k(G), 0)); directions [r, C]
//   unit rows u_k, each signed so that its largest-|entry| is positive (ties: lowest index);
//   total = ‖B‖_F² = Σ_all σ², so energy(k) = σ_k²/total is the share of the tensor in k.
//   top = 0 keeps all C components, else the first min(top, C).
// - hosvd_matrix(W, V, P, h, k) = Q(u_k)/σ_k [n, n] (zero matrix when σ_k = 0).
// - classifier_hosvd(model, show) is the HOSVD of an image classifier's whole quadratic model
//   (its per-class forms, biases and residual included; hosvd_of_forms) with the first `show`
//   components' interaction matrices Q(u_k)/σ_k eigendecomposed (decompose_form: eigenvectors
//   in the layer's input space and as pixel pictures) — the paper's App. D, Figs 17–18.
// - Errors (bilin::Error, op "hosvd"): shapes as in interaction_matrix, an empty or ragged
//   form list, k out of range.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../kernels/gemm.hpp"
#include "../linalg/eigh.hpp"
#include "bilinear_tensor.hpp"
#include "decompose.hpp"
#include "quadratic_classifier.hpp"

namespace bilin::interp {

struct Hosvd {
  std::vector<double> singular_values;  // [r], descending
  Tensor<double> directions;            // [r, C]
  double total = 0;                     // Σ σ² over all components = ‖B‖_F²

  index_t size() const { return static_cast<index_t>(singular_values.size()); }
  index_t outputs() const { return directions.defined() ? directions.size(1) : 0; }
  double energy(index_t k) const { return total > 0 ? singular_values[k] * singular_values[k] / total : 0; }
  template <class T>
  Tensor<T> direction(index_t k) const {
    BILIN_CHECK(k >= 0 && k < size(), "hosvd", "component ", k, " is outside [0, ", size(), ")");
    const index_t C = outputs();
    Tensor<T> u = Tensor<T>::empty({C});
    for (index_t c = 0; c < C; ++c) u.data()[c] = static_cast<T>(directions.data()[k * C + c]);
    return u;
  }
};

namespace detail {
// Left singular vectors and values from the Gram matrix G [C, C] (row-major, double).
inline Hosvd hosvd_from_gram(std::vector<double> G, index_t C, index_t top) {
  for (index_t i = 0; i < C; ++i)  // exact symmetry for eigh
    for (index_t j = i + 1; j < C; ++j) G[i * C + j] = G[j * C + i] = 0.5 * (G[i * C + j] + G[j * C + i]);
  linalg::EighOptions o;
  o.method = linalg::EighMethod::tridiagonal;
  o.descending = true;
  const auto r = linalg::eigh(Tensor<double>::from_vector(G, {C, C}), o);
  const index_t keep = top > 0 ? std::min(top, C) : C;
  Hosvd h;
  h.directions = Tensor<double>::empty({keep, C});
  for (index_t i = 0; i < C; ++i) h.total += std::max(r.values.data()[i], 0.0);
  for (index_t k = 0; k < keep; ++k) {
    h.singular_values.push_back(std::sqrt(std::max(r.values.data()[k], 0.0)));
    index_t arg = 0;
    for (index_t c = 0; c < C; ++c)
      if (std::fabs(r.vectors.data()[c * C + k]) > std::fabs(r.vectors.data()[arg * C + k])) arg = c;
    const double sgn = r.vectors.data()[arg * C + k] < 0 ? -1.0 : 1.0;
    for (index_t c = 0; c < C; ++c) h.directions.data()[k * C + c] = sgn * r.vectors.data()[c * C + k];
  }
  return h;
}
}  // namespace detail

template <class T>
Hosvd hosvd(const Tensor<T>& W, const Tensor<T>& V, const Tensor<T>& P, index_t top = 0) {
  detail::check_halves("hosvd", W, V);
  BILIN_CHECK(P.defined() && P.dim() == 2 && P.size(1) == W.size(0), "hosvd", "P must be [outputs, ", W.size(0),
              "] for W of shape ", to_string(W.shape()), ", got ", P.defined() ? to_string(P.shape()) : "none");
  const index_t h = W.size(0), n = W.size(1), C = P.size(0);
  std::vector<double> w(static_cast<std::size_t>(h * n)), v(w.size()), p(static_cast<std::size_t>(C * h));
  const auto wv = detail::dense(W).to_vector(), vv = detail::dense(V).to_vector(), pv = detail::dense(P).to_vector();
  std::copy(wv.begin(), wv.end(), w.begin());
  std::copy(vv.begin(), vv.end(), v.begin());
  std::copy(pv.begin(), pv.end(), p.begin());
  using kernels::Trans;
  std::vector<double> ww(static_cast<std::size_t>(h * h)), vvt(ww.size()), wvt(ww.size());
  kernels::gemm<double>(Trans::N, Trans::T, h, h, n, 1.0, w.data(), n, w.data(), n, 0.0, ww.data(), h);
  kernels::gemm<double>(Trans::N, Trans::T, h, h, n, 1.0, v.data(), n, v.data(), n, 0.0, vvt.data(), h);
  kernels::gemm<double>(Trans::N, Trans::T, h, h, n, 1.0, w.data(), n, v.data(), n, 0.0, wvt.data(), h);
  std::vector<double> K(ww.size());
  for (index_t a = 0; a < h; ++a)
    for (index_t b = 0; b < h; ++b)
      K[a * h + b] = 0.5 * (ww[a * h + b] * vvt[a * h + b] + wvt[a * h + b] * wvt[b * h + a]);
  std::vector<double> pk(static_cast<std::size_t>(C * h)), G(static_cast<std::size_t>(C * C));
  kernels::gemm<double>(Trans::N, Trans::N, C, h, h, 1.0, p.data(), h, K.data(), h, 0.0, pk.data(), h);
  kernels::gemm<double>(Trans::N, Trans::T, C, C, h, 1.0, pk.data(), h, p.data(), h, 0.0, G.data(), C);
  return detail::hosvd_from_gram(std::move(G), C, top);
}

template <class T>
Hosvd hosvd_of_forms(const std::vector<Tensor<T>>& forms, index_t top = 0) {
  BILIN_CHECK(!forms.empty(), "hosvd", "no forms given");
  const index_t C = static_cast<index_t>(forms.size());
  const Shape s = forms[0].shape();
  BILIN_CHECK(forms[0].dim() == 2 && s[0] == s[1], "hosvd", "form 0 must be square, got ", to_string(s));
  std::vector<std::vector<T>> f;
  for (index_t c = 0; c < C; ++c) {
    BILIN_CHECK(forms[c].defined() && forms[c].shape() == s, "hosvd", "form ", c, " has shape ",
                forms[c].defined() ? to_string(forms[c].shape()) : "none", ", form 0 ", to_string(s));
    f.push_back(detail::dense(forms[c]).to_vector());
  }
  std::vector<double> G(static_cast<std::size_t>(C * C));
  for (index_t a = 0; a < C; ++a)
    for (index_t b = a; b < C; ++b) {
      double acc = 0;
      for (std::size_t i = 0; i < f[a].size(); ++i) acc += static_cast<double>(f[a][i]) * static_cast<double>(f[b][i]);
      G[a * C + b] = G[b * C + a] = acc;
    }
  return detail::hosvd_from_gram(std::move(G), C, top);
}

template <class T>
Tensor<T> hosvd_matrix(const Tensor<T>& W, const Tensor<T>& V, const Tensor<T>& P, const Hosvd& h, index_t k) {
  Tensor<T> q = interaction_matrix(W, V, P, h.direction<T>(k));
  const double s = h.singular_values[k];
  const T scale = s > 0 ? static_cast<T>(1.0 / s) : T(0);
  for (index_t i = 0; i < q.numel(); ++i) q.data()[i] *= scale;
  return q;
}

template <class T>
struct ClassifierHosvd {
  Hosvd hosvd;
  std::vector<Eigencomponents<T>> components;  // [show]: of Q(u_k)/σ_k
};

template <class T>
ClassifierHosvd<T> classifier_hosvd(const BilinearClassifier<T>& model, index_t show, const DecomposeOptions& opt = {}) {
  model.validate("classifier_hosvd");
  const index_t C = model.num_classes();
  std::vector<Tensor<T>> forms;
  for (index_t c = 0; c < C; ++c) forms.push_back(model.interaction(class_direction<T>(C, c)));
  ClassifierHosvd<T> r;
  r.hosvd = hosvd_of_forms(forms);
  for (index_t k = 0; k < std::min(show, r.hosvd.size()); ++k) {
    Tensor<T> q = model.interaction(r.hosvd.template direction<T>(k));
    const double s = r.hosvd.singular_values[k];
    const T scale = s > 0 ? static_cast<T>(1.0 / s) : T(0);
    for (index_t i = 0; i < q.numel(); ++i) q.data()[i] *= scale;
    r.components.push_back(decompose_form(q, model.embed, model.layer_dim(), opt));
  }
  return r;
}

}  // namespace bilin::interp
