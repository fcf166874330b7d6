// bilin/interp/casper.hpp — does the weights' decomposition recover the labelling function of
// Casper's challenge (§4.3, Fig. 6; data/casper.hpp)?
//
// Contract:
// - The true decision function is s(x) = c·x + b (label: |s| > θ, i.e. s² − θ² > 0). A bilinear
//   model with biases, decomposed along u = e_True − e_False (logit difference), should have one
//   dominant positive eigencomponent λ₁(p·x + o)² with p ∝ c (and o ∝ b) and a negative constant
//   term (−θ² up to scale). recover_casper(ec, task, train, test, support_fraction) compares
//   the top positive component (p = ec.inputs, o = ec.offsets) with (c, b), inputs in pixel/255
//   (the trainer's default normalization):
//     function_cosine  |cos| between the vectors (f̂(x_i))_i and (s(x_i))_i over the test images,
//                      f̂ = p·x + o — the recovered function against the true one where the
//                      data lives (the headline; immune to pixels the data never sets)
//     pixel_cosine     |cos(p, c)| over all pixels
//     support_cosine   |cos(p, c)| over the "support": pixels non-zero in at least
//                      support_fraction of the training images (the others never reach the
//                      label, so their weights are only initialization minus weight decay)
//     top_share        λ₁ / Σ_{λ>0} λ (how dominant the one positive component is)
// - Errors: a decomposition without positive eigenvalue, or sizes that disagree.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/error.hpp"
#include "../data/casper.hpp"
#include "decompose.hpp"

namespace bilin::interp {

struct CasperRecovery {
  double function_cosine = NAN, pixel_cosine = NAN, support_cosine = NAN, top_share = NAN;
  double lambda_top = NAN, lambda_second = NAN;
  index_t component = -1, support_pixels = 0;
};

namespace detail {
inline double abs_cos(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return aa > 0 && bb > 0 ? std::fabs(ab) / std::sqrt(aa * bb) : 0.0;
}
}  // namespace detail

template <class T>
CasperRecovery recover_casper(const Eigencomponents<T>& ec, const data::CasperTask& task, const data::ImageDataset& train,
                              const data::ImageDataset& test, double support_fraction = 0.01) {
  const index_t D = task.size();
  BILIN_CHECK(ec.input_dim() == D && train.features() == D && test.features() == D, "recover_casper",
              "pictures of ", ec.input_dim(), " values, a task of ", D, " pixels, images of ", train.features(), " and ",
              test.features());
  const auto pos = ec.top_positive(2);
  BILIN_CHECK(!pos.empty(), "recover_casper", "the decomposition has no positive eigenvalue");
  CasperRecovery r;
  r.component = pos[0];
  r.lambda_top = static_cast<double>(ec.value(pos[0]));
  if (pos.size() > 1) r.lambda_second = static_cast<double>(ec.value(pos[1]));
  double possum = 0;
  for (index_t i = 0; i < ec.size(); ++i) possum += std::max(0.0, static_cast<double>(ec.value(i)));
  r.top_share = r.lambda_top / possum;
  const T* p = ec.input(pos[0]);
  const double o = static_cast<double>(ec.offsets.data()[pos[0]]), b = task.constant();
  std::vector<double> fh, fs;
  for (index_t i = 0; i < test.size(); ++i) {
    const std::uint8_t* x = test.images.data() + i * D;
    double a = o, s = b;
    for (index_t j = 0; j < D; ++j) {
      const double xv = x[j] / 255.0;
      a += static_cast<double>(p[j]) * xv;
      s += static_cast<double>(task.centred[j]) * xv;
    }
    fh.push_back(a);
    fs.push_back(s);
  }
  r.function_cosine = detail::abs_cos(fh, fs);
  std::vector<index_t> count(static_cast<std::size_t>(D), 0);
  for (index_t i = 0; i < train.size(); ++i)
    for (index_t j = 0; j < D; ++j) count[j] += train.images.data()[i * D + j] != 0;
  std::vector<double> pa, ca, ps, cs;
  for (index_t j = 0; j < D; ++j) {
    pa.push_back(static_cast<double>(p[j]));
    ca.push_back(static_cast<double>(task.centred[j]));
    if (static_cast<double>(count[j]) >= support_fraction * static_cast<double>(train.size())) {
      ps.push_back(pa.back());
      cs.push_back(ca.back());
    }
  }
  r.support_pixels = static_cast<index_t>(ps.size());
  r.pixel_cosine = detail::abs_cos(pa, ca);
  r.support_cosine = detail::abs_cos(ps, cs);
  return r;
}

}  // namespace bilin::interp
