// bilin/interp/pinv_mask.hpp — adversarial masks read off the weights through the pseudo-inverse
// of a class's eigenvectors (§4.4, Fig. 7; App. M, Fig. 26).
//
// Contract:
// - pinv_masks(ec, k): V [k', D] = the pixel pictures of the k most positive eigencomponents
//   (k' = how many there are, ≤ k); returns the rows of (V⁺)ᵀ = (V Vᵀ)⁻¹ V [k', D], i.e. mask i
//   is column i of the pseudo-inverse V⁺ = Vᵀ(V Vᵀ)⁻¹: V·mask_i = e_i — it moves feature i's
//   pixel activation by exactly 1 and leaves the other k' − 1 untouched, with the least norm that
//   does so. Solved in double by Cholesky of V Vᵀ; throws bilin::Error when V has (numerically)
//   dependent rows.
// - permuted_mask(mask, seed): the same values at pixel positions shuffled by a Fisher–Yates
//   permutation from Generator(seed) — the control with equal norm and value distribution.
// - rare_pixel_mask(ec, i, train, max_fraction): feature i's picture kept only on pixels that
//   are non-zero in fewer than max_fraction of the training images (the outer edge), zero
//   elsewhere — the hand-built mask of Fig. 7B for a model that overfit those pixels.
// - mask_success(model, X, labels, target, mask, norms): inputs x (rows of X, labels ≠ target,
//   classified correctly by the model; the rest are skipped) become x + ε·mask/‖mask‖₂; the
//   success rate at each ε is the fraction predicted as `target`. MaskSweep.samples = how many
//   inputs counted. No clipping to the pixel range (all masks compared at equal L2 norm).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../data/loader.hpp"
#include "adversarial.hpp"
#include "decompose.hpp"
#include "quadratic_classifier.hpp"

namespace bilin::interp {

template <class T>
std::vector<std::vector<double>> pinv_masks(const Eigencomponents<T>& ec, index_t k) {
  const auto idx = ec.top_positive(k);
  const index_t m = static_cast<index_t>(idx.size()), D = ec.input_dim();
  BILIN_CHECK(m > 0, "pinv_masks", "no positive eigencomponent");
  std::vector<double> G(static_cast<std::size_t>(m * m), 0.0);  // V Vᵀ
  for (index_t a = 0; a < m; ++a)
    for (index_t b = 0; b <= a; ++b) {
      double s = 0;
      for (index_t p = 0; p < D; ++p) s += static_cast<double>(ec.input(idx[a])[p]) * static_cast<double>(ec.input(idx[b])[p]);
      G[a * m + b] = G[b * m + a] = s;
    }
  // Cholesky G = L Lᵀ (lower, in place).
  double gmax = 0;
  for (index_t a = 0; a < m; ++a) gmax = std::max(gmax, G[a * m + a]);
  for (index_t j = 0; j < m; ++j) {
    double s = G[j * m + j];
    for (index_t t = 0; t < j; ++t) s -= G[j * m + t] * G[j * m + t];
    BILIN_CHECK(s > 1e-12 * gmax, "pinv_masks", "the pictures of the top ", m, " positive eigenvectors are linearly dependent");
    G[j * m + j] = std::sqrt(s);
    for (index_t i = j + 1; i < m; ++i) {
      double r = G[i * m + j];
      for (index_t t = 0; t < j; ++t) r -= G[i * m + t] * G[j * m + t];
      G[i * m + j] = r / G[j * m + j];
    }
  }
  // mask_i = Σ_a (G⁻¹)_{ia} V_a: solve G c = e_i for each i.
  std::vector<std::vector<double>> masks(static_cast<std::size_t>(m), std::vector<double>(static_cast<std::size_t>(D), 0.0));
  for (index_t i = 0; i < m; ++i) {
    std::vector<double> c(static_cast<std::size_t>(m), 0.0);
    c[i] = 1;
    for (index_t r = 0; r < m; ++r) {  // L y = e_i
      for (index_t t = 0; t < r; ++t) c[r] -= G[r * m + t] * c[t];
      c[r] /= G[r * m + r];
    }
    for (index_t r = m - 1; r >= 0; --r) {  // Lᵀ c = y
      for (index_t t = r + 1; t < m; ++t) c[r] -= G[t * m + r] * c[t];
      c[r] /= G[r * m + r];
    }
    for (index_t a = 0; a < m; ++a)
      for (index_t p = 0; p < D; ++p) masks[i][p] += c[a] * static_cast<double>(ec.input(idx[a])[p]);
  }
  return masks;
}

inline std::vector<double> permuted_mask(const std::vector<double>& mask, std::uint64_t seed) {
  std::vector<double> out = mask;
  Generator g(seed);
  for (std::size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[g.randint(i)]);
  return out;
}

template <class T>
std::vector<double> rare_pixel_mask(const Eigencomponents<T>& ec, index_t i, const data::ImageDataset& train,
                                    double max_fraction = 0.01) {
  const index_t D = ec.input_dim();
  BILIN_CHECK(train.features() == D && i >= 0 && i < ec.size(), "rare_pixel_mask", "component ", i, " of ", ec.size(),
              ", pictures of ", D, " values, images of ", train.features());
  std::vector<index_t> count(static_cast<std::size_t>(D), 0);
  for (index_t n = 0; n < train.size(); ++n)
    for (index_t p = 0; p < D; ++p) count[p] += train.images.data()[n * D + p] != 0;
  std::vector<double> out(static_cast<std::size_t>(D), 0.0);
  for (index_t p = 0; p < D; ++p)
    if (static_cast<double>(count[p]) < max_fraction * static_cast<double>(train.size()))
      out[p] = static_cast<double>(ec.input(i)[p]);
  return out;
}

struct MaskSweep {
  std::vector<double> norms, success;
  index_t samples = 0;
};

template <class T>
MaskSweep mask_success(const BilinearClassifier<T>& model, const Tensor<T>& X, const std::vector<std::int64_t>& labels,
                       std::int64_t target, const std::vector<double>& mask, const std::vector<double>& norms) {
  const Tensor<T> x = detail::dense(X);
  BILIN_CHECK(x.dim() == 2 && x.size(1) == static_cast<index_t>(mask.size()) && x.size(0) == static_cast<index_t>(labels.size()),
              "mask_success", "inputs ", to_string(X.shape()), ", ", labels.size(), " labels and a mask of ", mask.size(),
              " values do not fit");
  const index_t D = x.size(1);
  double nrm = 0;
  for (double v : mask) nrm += v * v;
  nrm = std::sqrt(nrm);
  BILIN_CHECK(nrm > 0, "mask_success", "the mask is zero");
  const auto pred = predict(model, x);
  std::vector<index_t> rows;
  for (index_t i = 0; i < x.size(0); ++i)
    if (labels[i] != target && pred[i] == labels[i]) rows.push_back(i);
  MaskSweep r;
  r.norms = norms;
  r.samples = static_cast<index_t>(rows.size());
  Tensor<T> pert = Tensor<T>::empty({r.samples, D});
  for (double eps : norms) {
    for (index_t j = 0; j < r.samples; ++j)
      for (index_t p = 0; p < D; ++p)
        pert.data()[j * D + p] = static_cast<T>(static_cast<double>(x.data()[rows[j] * D + p]) + eps * mask[p] / nrm);
    index_t hit = 0;
    if (r.samples > 0) {
      const auto pp = predict(model, pert);
      for (index_t j = 0; j < r.samples; ++j) hit += pp[j] == target;
    }
    r.success.push_back(r.samples ? static_cast<double>(hit) / static_cast<double>(r.samples) : 0.0);
  }
  return r;
}

}  // namespace bilin::interp
