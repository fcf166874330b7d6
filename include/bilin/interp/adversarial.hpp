// bilin/interp/adversarial.hpp — adversarial perturbations built from the weights (eigenvectors),
// compared with random directions and with gradient-based FGSM at equal L2 norm.
//
// Contract:
// - attack_directions(method, model, comps, X, labels, seed) → [N, D] unit-L2 directions, one per
//   input row of X [N, D]:
//     eigenvector  weights only, no gradient: target t = the runner-up class of the clean logits;
//                  direction = the input-space picture of t's top positive eigencomponent
//                  (largest λ > 0), normalized, with the sign that increases |v·z̃| for this
//                  input (sign of inputs·x + offset) so its activation — and logit t — grows.
//                  With EigenTarget::runner_up_and_true it also grows the activation of the
//                  true class's most negative-λ feature, which lowers the true logit (both unit
//                  pictures, summed, renormalized).
//     random       an isotropic Gaussian direction per row (all rows drawn in order from
//                  Generator(opt.seed)), normalized.
//     fgsm         sign(∇ₓ cross-entropy(logits(x), label)) normalized to unit L2 (the L2 version
//                  of FGSM: the same sign pattern, scaled to the common norm); zero gradient → 0.
//   No clipping to the pixel range: all methods are compared at exactly the same L2 norm.
// - adversarial_sweep(model, comps, X, labels, norms, opt) perturbs each row x → x + ε·dir for
//   every ε in norms and reports, per method, the success rate = fraction of rows whose
//   predicted class (argmax of model.logits) differs from the label. Rows should be inputs the
//   model classifies correctly (the caller selects them); `samples` records how many.
// - Errors: shape mismatches name the function and shapes; a class without positive eigenvalue
//   falls back to its largest-|λ| component.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"
#include "decompose.hpp"
#include "quadratic_classifier.hpp"
#include "truncation.hpp"

namespace bilin::interp {

enum class AttackMethod { eigenvector, random, fgsm };
enum class EigenTarget { runner_up, runner_up_and_true };

inline const char* attack_name(AttackMethod m) {
  switch (m) {
    case AttackMethod::eigenvector: return "eigenvector";
    case AttackMethod::random: return "random";
    default: return "fgsm";
  }
}

struct AdversarialOptions {
  std::uint64_t seed = 1;
  EigenTarget eigen_target = EigenTarget::runner_up;
};

struct AdversarialResult {
  std::vector<double> norms;
  std::vector<AttackMethod> methods;
  std::vector<std::vector<double>> success;  // [method][norm]
  index_t samples = 0;
  const std::vector<double>& rate(AttackMethod m) const {
    for (std::size_t i = 0; i < methods.size(); ++i)
      if (methods[i] == m) return success[i];
    throw Error("adversarial", msg("method ", attack_name(m), " was not run"));
  }
};

namespace detail {

template <class T>
void normalize_row(T* r, index_t D) {
  double s = 0;
  for (index_t j = 0; j < D; ++j) s += static_cast<double>(r[j]) * static_cast<double>(r[j]);
  const double nrm = std::sqrt(s);
  if (nrm > 0)
    for (index_t j = 0; j < D; ++j) r[j] = static_cast<T>(static_cast<double>(r[j]) / nrm);
}

// Adds ±(unit picture of component i) to dir, the sign making |inputs_i·x + offset_i| grow.
template <class T>
void add_feature(const Eigencomponents<T>& ec, index_t i, const T* x, T* dir) {
  const index_t D = ec.input_dim();
  const T* p = ec.input(i);
  double a = static_cast<double>(ec.offsets.data()[i]), nrm = 0;
  for (index_t j = 0; j < D; ++j) {
    a += static_cast<double>(p[j]) * static_cast<double>(x[j]);
    nrm += static_cast<double>(p[j]) * static_cast<double>(p[j]);
  }
  nrm = std::sqrt(nrm);
  if (!(nrm > 0)) return;
  const double s = (a >= 0 ? 1.0 : -1.0) / nrm;
  for (index_t j = 0; j < D; ++j) dir[j] = static_cast<T>(static_cast<double>(dir[j]) + s * static_cast<double>(p[j]));
}

template <class T>
index_t strongest(const Eigencomponents<T>& ec, bool positive) {
  const auto idx = positive ? ec.top_positive(1) : ec.top_negative(1);
  return idx.empty() ? ec.by_magnitude().front() : idx.front();
}

}  // namespace detail

template <class T>
Tensor<T> attack_directions(AttackMethod method, const BilinearClassifier<T>& model,
                            const std::vector<Eigencomponents<T>>& comps, const Tensor<T>& X,
                            const std::vector<std::int64_t>& labels, const AdversarialOptions& opt = {}) {
  const Tensor<T> x = detail::dense(X);
  BILIN_CHECK(x.dim() == 2 && x.size(1) == model.input_dim(), "attack_directions", "inputs must be [N, ",
              model.input_dim(), "], got ", to_string(X.shape()));
  const index_t N = x.size(0), D = x.size(1), C = model.num_classes();
  BILIN_CHECK(static_cast<index_t>(labels.size()) == N, "attack_directions", labels.size(), " labels for ", N, " inputs");
  Tensor<T> dir = Tensor<T>::zeros({N, D});
  if (method == AttackMethod::random) {
    Generator gen(opt.seed);
    gen.fill_normal(dir.data(), N * D, 0.0, 1.0);
  } else if (method == AttackMethod::eigenvector) {
    BILIN_CHECK(static_cast<index_t>(comps.size()) == C, "attack_directions", "need components for all ", C,
                " classes, got ", comps.size());
    const Tensor<T> logits = model.logits(x);
    for (index_t i = 0; i < N; ++i) {
      const T* l = logits.data() + i * C;
      const index_t y = labels[i];
      index_t t = y == 0 ? 1 : 0;
      for (index_t c = 0; c < C; ++c)
        if (c != y && l[c] > l[t]) t = c;
      T* d = dir.data() + i * D;
      detail::add_feature(comps[t], detail::strongest(comps[t], true), x.data() + i * D, d);
      if (opt.eigen_target == EigenTarget::runner_up_and_true)
        detail::add_feature(comps[y], detail::strongest(comps[y], false), x.data() + i * D, d);
    }
  } else {
    // ∂CE/∂logits = softmax − onehot, then through the layers.
    const Tensor<T> logits = model.logits(x);
    Tensor<T> G = Tensor<T>::empty({N, C});
    for (index_t i = 0; i < N; ++i) {
      const T* l = logits.data() + i * C;
      const double m = *std::max_element(l, l + C);
      double s = 0;
      for (index_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(l[c]) - m);
      for (index_t c = 0; c < C; ++c)
        G.data()[i * C + c] = static_cast<T>(std::exp(static_cast<double>(l[c]) - m) / s - (c == labels[i] ? 1.0 : 0.0));
    }
    const Tensor<T> g = model.input_gradient(x, G);
    for (index_t i = 0; i < N * D; ++i) dir.data()[i] = g.data()[i] > T(0) ? T(1) : (g.data()[i] < T(0) ? T(-1) : T(0));
  }
  for (index_t i = 0; i < N; ++i) detail::normalize_row(dir.data() + i * D, D);
  return dir;
}

template <class T>
std::vector<std::int64_t> predict(const BilinearClassifier<T>& model, const Tensor<T>& X) {
  const Tensor<T> l = model.logits(X);
  const auto v = l.to_vector();
  return argmax_rows(std::vector<double>(v.begin(), v.end()), l.size(0), l.size(1));
}

template <class T>
AdversarialResult adversarial_sweep(const BilinearClassifier<T>& model, const std::vector<Eigencomponents<T>>& comps,
                                    const Tensor<T>& X, const std::vector<std::int64_t>& labels,
                                    const std::vector<double>& norms,
                                    const std::vector<AttackMethod>& methods = {AttackMethod::eigenvector,
                                                                                AttackMethod::random, AttackMethod::fgsm},
                                    const AdversarialOptions& opt = {}) {
  const Tensor<T> x = detail::dense(X);
  const index_t N = x.size(0), D = x.size(1);
  AdversarialResult r;
  r.norms = norms;
  r.methods = methods;
  r.samples = N;
  Tensor<T> pert = Tensor<T>::empty({N, D});
  for (AttackMethod m : methods) {
    const Tensor<T> dir = attack_directions(m, model, comps, x, labels, opt);
    std::vector<double> rates;
    for (double eps : norms) {
      for (index_t i = 0; i < N * D; ++i) pert.data()[i] = x.data()[i] + static_cast<T>(eps) * dir.data()[i];
      const auto pred = predict(model, pert);
      index_t flipped = 0;
      for (index_t i = 0; i < N; ++i) flipped += pred[i] != labels[i];
      rates.push_back(N ? static_cast<double>(flipped) / static_cast<double>(N) : 0.0);
    }
    r.success.push_back(rates);
  }
  return r;
}

}  // namespace bilin::interp
