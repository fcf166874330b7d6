// bilin/interp/latent_basis.hpp — exactness of uᵀMLP(x) = xᵀQ(u)x = Σλ(v·x)² on real inputs,
// and interaction matrices in an input SAE's latent basis.
//
// Contract:
// - form_exactness(ref [N, m], X [N, n], Qs [m, n, n], spec): ref[:, a] holds the model's
//   uₐᵀ mlp_out(x) for the N inputs X. Returns the worst, over directions a, of
//   max_x |ref − xᵀQₐx| / max_x |ref| (form) and of max_x |ref − Σ_i λ_i (v_i·x)²| / max_x |ref|
//   (eigen, all n eigenpairs of spec), computed in double from float products.
// - augmented_decoder(sae) → D' [d, n_in + 1] = [W_dec | b_dec]: the decoder bias as one more,
//   always-on latent (activation 1), so that x̂ = D' z' with z' = [z; 1] exactly.
// - latent_interactions(Q [n, n], D') → D'ᵀ Q D' [L, L], symmetric: the paper's Q_lat(a)
//   = D_inᵀ Q(e_a) D_in plus the bias row/column; x̂ᵀQx̂ = z'ᵀ Q_lat z' for every code z.
// - latent_identity_error(Qs, idx, sae, H [N, d]): for the matrices Qs[idx[i]] and the SAE's
//   codes z of H (its own hook activations), the largest |x̂ᵀQx̂ − z'ᵀQ_lat z'| / max|x̂ᵀQx̂| —
//   the latent-basis identity is exact, so this is float rounding.
// Shapes are checked (bilin::Error naming the function and shapes).
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/error.hpp"
#include "../kernels/gemm.hpp"
#include "../nn/sae.hpp"
#include "interaction_batch.hpp"

namespace bilin::interp {

struct FormExactness {
  double form_rel = 0, eigen_rel = 0;  // worst direction
  double max_abs_ref = 0;
  index_t inputs = 0, directions = 0;
};

inline FormExactness form_exactness(const TensorF& ref, const TensorF& X, const TensorF& Qs, const SortedSpectra<float>& spec) {
  BILIN_CHECK(X.dim() == 2 && Qs.dim() == 3 && Qs.size(1) == X.size(1) && Qs.size(2) == X.size(1), "form_exactness",
              "inputs ", to_string(X.shape()), " do not fit matrices ", to_string(Qs.shape()));
  const index_t N = X.size(0), n = X.size(1), m = Qs.size(0);
  BILIN_CHECK(ref.shape() == (Shape{N, m}), "form_exactness", "reference must be [", N, ", ", m, "], got ", to_string(ref.shape()));
  BILIN_CHECK(spec.count() == m && spec.dim() == n && spec.vectors.defined(), "form_exactness",
              "spectra do not match the matrices ", to_string(Qs.shape()));
  const TensorF x = X.contiguous(), q = Qs.contiguous(), r = ref.contiguous();
  FormExactness e;
  e.inputs = N, e.directions = m;
  std::vector<double> form_rel(static_cast<std::size_t>(m)), eig_rel(static_cast<std::size_t>(m)), ref_max(static_cast<std::size_t>(m));
#pragma omp parallel for schedule(dynamic, 1)
  for (index_t a = 0; a < m; ++a) {
    std::vector<float> xq(static_cast<std::size_t>(N * n)), g(static_cast<std::size_t>(N * n));
    kernels::gemm<float>(kernels::Trans::N, kernels::Trans::N, N, n, n, 1.0f, x.data(), n, q.data() + a * n * n, n,
                         0.0f, xq.data(), n);
    kernels::gemm<float>(kernels::Trans::N, kernels::Trans::T, N, n, n, 1.0f, x.data(), n, spec.vecs(a), n, 0.0f,
                         g.data(), n);
    double big = 0, ef = 0, ee = 0;
    const float* lam = spec.vals(a);
    for (index_t i = 0; i < N; ++i) {
      double f = 0, s = 0;
      for (index_t j = 0; j < n; ++j) {
        f += static_cast<double>(xq[i * n + j]) * static_cast<double>(x.data()[i * n + j]);
        const double p = g[i * n + j];
        s += static_cast<double>(lam[j]) * p * p;
      }
      const double t = r.data()[i * m + a];
      big = std::max(big, std::fabs(t));
      ef = std::max(ef, std::fabs(t - f));
      ee = std::max(ee, std::fabs(t - s));
    }
    ref_max[a] = big;
    form_rel[a] = big > 0 ? ef / big : ef;
    eig_rel[a] = big > 0 ? ee / big : ee;
  }
  for (index_t a = 0; a < m; ++a) {
    e.form_rel = std::max(e.form_rel, form_rel[a]);
    e.eigen_rel = std::max(e.eigen_rel, eig_rel[a]);
    e.max_abs_ref = std::max(e.max_abs_ref, ref_max[a]);
  }
  return e;
}

inline TensorF augmented_decoder(const nn::TopKSAE<float>& sae) {
  const index_t d = sae.d(), L = sae.n_latents();
  const TensorF D = sae.decoder().contiguous();
  TensorF out = TensorF::empty({d, L + 1});
  for (index_t i = 0; i < d; ++i) {
    std::copy_n(D.data() + i * L, L, out.data() + i * (L + 1));
    out.data()[i * (L + 1) + L] = sae.b_dec.data()[i];
  }
  return out;
}

// Q [n, n] (pointer), D' [n, L] → out [L, L].
inline void latent_interactions_into(const float* Q, const TensorF& Dp, float* out, std::vector<float>& tmp) {
  const index_t n = Dp.size(0), L = Dp.size(1);
  tmp.resize(static_cast<std::size_t>(n * L));
  kernels::gemm<float>(kernels::Trans::N, kernels::Trans::N, n, L, n, 1.0f, Q, n, Dp.data(), L, 0.0f, tmp.data(), L);
  kernels::gemm<float>(kernels::Trans::T, kernels::Trans::N, L, L, n, 1.0f, Dp.data(), L, tmp.data(), L, 0.0f, out, L);
  for (index_t i = 0; i < L; ++i)  // symmetric up to rounding; make it exactly so
    for (index_t j = i + 1; j < L; ++j) {
      const float v = 0.5f * (out[i * L + j] + out[j * L + i]);
      out[i * L + j] = out[j * L + i] = v;
    }
}

inline TensorF latent_interactions(const TensorF& Q, const TensorF& Dp) {
  BILIN_CHECK(Q.dim() == 2 && Q.size(0) == Q.size(1) && Dp.dim() == 2 && Dp.size(0) == Q.size(0), "latent_interactions",
              "Q ", to_string(Q.shape()), " and decoder ", to_string(Dp.shape()), " do not fit (need [n, n] and [n, L])");
  const TensorF q = Q.contiguous(), dp = Dp.contiguous();
  TensorF out = TensorF::empty({Dp.size(1), Dp.size(1)});
  std::vector<float> tmp;
  latent_interactions_into(q.data(), dp, out.data(), tmp);
  return out;
}

inline double latent_identity_error(const TensorF& Qs, const std::vector<index_t>& idx, nn::TopKSAE<float>& sae,
                                    const TensorF& H) {
  const index_t n = sae.d(), L = sae.n_latents() + 1;
  BILIN_CHECK(Qs.dim() == 3 && Qs.size(1) == n && Qs.size(2) == n, "latent_identity_error", "matrices ",
              to_string(Qs.shape()), " do not fit the SAE's d = ", n);
  BILIN_CHECK(H.dim() == 2 && H.size(1) == n, "latent_identity_error", "inputs ", to_string(H.shape()),
              " do not fit the SAE's d = ", n);
  NoGradGuard ng;
  const SparseCode<float> code = sae.encode(H);
  const TensorF xh = sae.decode(code).contiguous();
  const TensorF Dp = augmented_decoder(sae), q = Qs.contiguous();
  const index_t N = H.size(0), k = code.values.size(1);
  double worst = 0;
  for (index_t a : idx) {
    BILIN_CHECK(a >= 0 && a < Qs.size(0), "latent_identity_error", "matrix index ", a, " outside [0, ", Qs.size(0), ")");
    const TensorF Qa = q.narrow(0, a, 1).reshape({n, n}).contiguous();
    const TensorF Ql = latent_interactions(Qa, Dp);
    double big = 0, err = 0;
    std::vector<float> xq(static_cast<std::size_t>(n));
    for (index_t i = 0; i < N; ++i) {
      const float* x = xh.data() + i * n;
      double direct = 0;
      for (index_t r = 0; r < n; ++r) {
        double s = 0;
        for (index_t c = 0; c < n; ++c) s += static_cast<double>(Qa.data()[r * n + c]) * x[c];
        direct += s * x[r];
      }
      // z'ᵀ Q_lat z' over the k active latents and the bias latent (index L − 1, activation 1)
      std::vector<std::pair<index_t, double>> z;
      for (index_t j = 0; j < k; ++j)
        if (code.values.data()[i * k + j] != 0.0f) z.emplace_back(code.indices.data()[i * k + j], code.values.data()[i * k + j]);
      z.emplace_back(L - 1, 1.0);
      double lat = 0;
      for (const auto& [b, zb] : z)
        for (const auto& [c, zc] : z) lat += zb * zc * Ql.data()[b * L + c];
      big = std::max(big, std::fabs(direct));
      err = std::max(err, std::fabs(direct - lat));
    }
    worst = std::max(worst, big > 0 ? err / big : err);
  }
  return worst;
}

}  // namespace bilin::interp
