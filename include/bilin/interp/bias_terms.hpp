// bilin/interp/bias_terms.hpp — the three terms of a bias-augmented form (§2, App. L): with
// z̃ = [z; 1], z̃ᵀ Q̃ z̃ = zᵀ Q z  (interaction)  +  2 q·z  (linear)  +  c  (constant).
//
// Contract:
// - augmented_terms(model, u) splits Q̃ = model.interaction(u) of an augmented model
//   (model.augmented(): biases, residual or head bias) into Q [d, d] (the top-left block),
//   q [d] (the last column without its last entry) and c (the last diagonal entry); the
//   linear term in input space is 2·embedᵀq [D] (2q without embedding). Throws bilin::Error for
//   a model without a constant input (nothing to split).
// - term_values(model, terms, X) evaluates the three terms for each input row of X [N, D]; their
//   sum is uᵀ logits(x) exactly (up to rounding) — the check that the split loses nothing.
#pragma once
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "quadratic_classifier.hpp"

namespace bilin::interp {

template <class T>
struct AugmentedTerms {
  Tensor<T> interaction;              // Q [d, d]
  std::vector<double> linear_hidden;  // 2q [d]
  std::vector<double> linear_input;   // 2·embedᵀq [D]
  double constant = 0;                // c
};

template <class T>
AugmentedTerms<T> augmented_terms(const BilinearClassifier<T>& model, const Tensor<T>& u) {
  model.validate("augmented_terms");
  BILIN_CHECK(model.augmented(), "augmented_terms", "the model has no biases (no constant input): there is no linear or constant term");
  const Tensor<T> Qt = model.interaction(u);
  const index_t n = model.form_dim(), d = model.layer_dim(), D = model.input_dim();
  AugmentedTerms<T> t;
  t.interaction = Tensor<T>::empty({d, d});
  for (index_t i = 0; i < d; ++i)
    for (index_t j = 0; j < d; ++j) t.interaction.data()[i * d + j] = Qt.data()[i * n + j];
  t.linear_hidden.resize(static_cast<std::size_t>(d));
  for (index_t i = 0; i < d; ++i) t.linear_hidden[i] = 2.0 * static_cast<double>(Qt.data()[i * n + d]);
  t.constant = static_cast<double>(Qt.data()[d * n + d]);
  t.linear_input.assign(static_cast<std::size_t>(D), 0.0);
  if (model.embed.defined()) {
    const Tensor<T> E = detail::dense(model.embed);
    for (index_t i = 0; i < d; ++i)
      for (index_t p = 0; p < D; ++p) t.linear_input[p] += t.linear_hidden[i] * static_cast<double>(E.data()[i * D + p]);
  } else {
    t.linear_input = t.linear_hidden;
  }
  return t;
}

struct TermValues {
  std::vector<double> interaction, linear, constant;  // [N] each
};

template <class T>
TermValues term_values(const BilinearClassifier<T>& model, const AugmentedTerms<T>& terms, const Tensor<T>& X) {
  const Tensor<T> Z = model.layer_inputs(X);
  const index_t N = Z.size(0), n = Z.size(1), d = model.layer_dim();
  BILIN_CHECK(terms.interaction.defined() && terms.interaction.size(0) == d, "term_values", "terms of a layer of width ",
              terms.interaction.defined() ? terms.interaction.size(0) : 0, " for a model of width ", d);
  TermValues v;
  const T* Q = terms.interaction.data();
  for (index_t r = 0; r < N; ++r) {
    const T* z = Z.data() + r * n;
    double quad = 0, lin = 0;
    for (index_t i = 0; i < d; ++i) {
      double qi = 0;
      for (index_t j = 0; j < d; ++j) qi += static_cast<double>(Q[i * d + j]) * static_cast<double>(z[j]);
      quad += static_cast<double>(z[i]) * qi;
      lin += terms.linear_hidden[i] * static_cast<double>(z[i]);
    }
    v.interaction.push_back(quad);
    v.linear.push_back(lin);
    v.constant.push_back(terms.constant);
  }
  return v;
}

}  // namespace bilin::interp
