// bilin/interp/lm_hosvd.hpp — the HOSVD of a language model's bilinear MLP (interp/hosvd.hpp)
// read in tokens.
//
// Contract: analyze_lm_hosvd(w, basis, opt) takes one layer's DirectPathWeights (interp/direct_path.hpp),
// computes hosvd(W, V, P) over the d_model output directions and, for the first opt.show
// components k:
//   - sigma, energy: σ_k and σ_k²/‖B‖_F²;
//   - promotes / suppresses: the tokens whose logits the output direction u_k raises / lowers
//     most through the unembedding (largest / most negative entries of U u_k), opt.list_k each;
//   - eigen: the top opt.eigen_k eigenpairs (by |λ|) of the component's interaction matrix
//     Q(u_k)/σ_k seen on single tokens, X Q Xᵀ with X the layer's normalized token embeddings
//     over the tokens of `basis` (token_basis of direct_path.hpp, e.g. the most frequent tokens),
//     eigenvectors as token lists;
//   - effective_rank: (Σ|λ|)²/Σλ² of the d×d matrix Q(u_k)/σ_k.
// Also the singular values of all components (for the spectrum plot) and the seconds taken.
// Errors are those of hosvd / direct_path (bilin::Error naming the bad shape).
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "../linalg/eigh.hpp"
#include "direct_path.hpp"
#include "hosvd.hpp"
#include "spectral.hpp"

namespace bilin::interp {

struct LmHosvdOptions {
  index_t show = 4;    // components analysed in detail
  index_t eigen_k = 3; // token-interaction eigenpairs per component
  index_t list_k = 8;  // tokens per list
};

struct LmHosvdComponent {
  double sigma = 0, energy = 0, effective_rank = 0;
  std::vector<TokenScore> promotes, suppresses;
  TokenEigen eigen;
};

struct LmHosvdAnalysis {
  index_t layer = 0, outputs = 0, d = 0;
  Hosvd hosvd;
  std::vector<LmHosvdComponent> components;
  double seconds = 0;
};

template <class T>
LmHosvdAnalysis analyze_lm_hosvd(const DirectPathWeights<T>& w, const TokenBasis& basis, const LmHosvdOptions& opt = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  w.validate();
  LmHosvdAnalysis a;
  a.layer = w.layer;
  a.d = w.d();
  a.outputs = w.P.size(0);
  a.hosvd = hosvd(w.W, w.V, w.P);
  const index_t show = std::min(opt.show, a.hosvd.size()), Vc = w.vocab(), dd = w.d();
  for (index_t k = 0; k < show; ++k) {
    LmHosvdComponent c;
    c.sigma = a.hosvd.singular_values[k];
    c.energy = a.hosvd.energy(k);
    // Logit effect of u_k: U u_k [Vc].
    const Tensor<T> u = a.hosvd.direction<T>(k);
    std::vector<double> logit(static_cast<std::size_t>(Vc));
    for (index_t o = 0; o < Vc; ++o) {
      double s = 0;
      for (index_t j = 0; j < dd; ++j) s += static_cast<double>(w.unembed.data()[o * dd + j]) * u.data()[j];
      logit[o] = s;
    }
    c.promotes = detail::top_strided(logit.data(), Vc, 1, opt.list_k, true);
    c.suppresses = detail::top_strided(logit.data(), Vc, 1, opt.list_k, false);
    const Tensor<T> Q = hosvd_matrix(w.W, w.V, w.P, a.hosvd, k);
    linalg::EighOptions eo;
    eo.vectors = false;
    c.effective_rank = l1l2_rank(to_doubles(linalg::eigh(Q.template to<double>(), eo).values));
    c.eigen = token_interaction_eigen(basis, Q, std::min(opt.eigen_k, dd));
    a.components.push_back(std::move(c));
  }
  a.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return a;
}

}  // namespace bilin::interp
