// bilin/interp/truncation.hpp — the model rebuilt from its eigencomponents: exact reconstruction
// and low-rank truncation.
//
// Contract:
// - ComponentLogits<T> precomputes, for layer inputs Z [N, n] (BilinearClassifier::layer_inputs)
//   and per-class components, every term λ_i (v_i·z̃)² ordered by |λ| (by_magnitude()), as
//   prefix sums. logits(k) → [N, C] keeps the k largest-|λ| components of EACH class (k ≥ size:
//   all of them, the exact model). Memory: N·C·(max_k + 1) values, where max_k is the largest
//   truncation requested at construction (the full sum is always kept).
// - exactness(model_logits, full) = max |a − b| over all entries, plus the max relative to the
//   largest |logit| (both as double).
// - truncation_curve(decomps, Z, labels, ks) → one TruncationPoint per k (k ≤ 0 or ≥ n means
//   "all"): test accuracy of argmax of the truncated logits and agreement with the full model's
//   predictions.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "decompose.hpp"

namespace bilin::interp {

template <class T>
class ComponentLogits {
 public:
  ComponentLogits(const std::vector<Eigencomponents<T>>& comps, const Tensor<T>& Z, index_t max_k)
      : N_(Z.size(0)), C_(static_cast<index_t>(comps.size())) {
    BILIN_CHECK(!comps.empty(), "ComponentLogits", "no components");
    const index_t n = comps[0].form_dim();
    BILIN_CHECK(Z.dim() == 2 && Z.size(1) == n, "ComponentLogits", "layer inputs must be [N, ", n, "], got ",
                to_string(Z.shape()));
    K_ = std::max<index_t>(0, max_k);
    prefix_.assign(static_cast<std::size_t>(N_ * C_ * (K_ + 1)), 0.0);
    full_.assign(static_cast<std::size_t>(N_ * C_), 0.0);
    for (index_t c = 0; c < C_; ++c) {
      const Eigencomponents<T>& ec = comps[c];
      const Tensor<T> proj = component_projections(ec, Z);  // [N, k]
      const auto order = ec.by_magnitude();
      const index_t k = ec.size();
      const T* p = proj.data();
      for (index_t i = 0; i < N_; ++i) {
        double acc = 0;
        double* pre = prefix_.data() + (i * C_ + c) * (K_ + 1);
        for (index_t r = 0; r < k; ++r) {
          const index_t j = order[r];
          const double a = static_cast<double>(p[i * k + j]);
          acc += static_cast<double>(ec.values.data()[j]) * a * a;
          if (r + 1 <= K_) pre[r + 1] = acc;
        }
        for (index_t r = k + 1; r <= K_; ++r) pre[r] = acc;
        full_[i * C_ + c] = acc;
      }
    }
  }

  index_t max_k() const { return K_; }
  // [N, C] logits from the top-k components per class; k < 0 or k > max_k() → all components.
  std::vector<double> logits(index_t k) const {
    std::vector<double> out(static_cast<std::size_t>(N_ * C_));
    const bool all = k < 0 || k > K_;
    for (index_t i = 0; i < N_ * C_; ++i) out[i] = all ? full_[i] : prefix_[i * (K_ + 1) + k];
    return out;
  }
  const std::vector<double>& full() const { return full_; }
  index_t rows() const { return N_; }
  index_t classes() const { return C_; }

 private:
  index_t N_, C_, K_ = 0;
  std::vector<double> prefix_, full_;
};

inline std::vector<std::int64_t> argmax_rows(const std::vector<double>& logits, index_t N, index_t C) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(N));
  for (index_t i = 0; i < N; ++i) {
    index_t best = 0;
    for (index_t c = 1; c < C; ++c)
      if (logits[i * C + c] > logits[i * C + best]) best = c;
    out[i] = best;
  }
  return out;
}

struct Exactness {
  double max_abs_err = 0;
  double max_rel_err = 0;   // max_abs_err / max |model logit|
  double max_abs_logit = 0;
};

template <class T>
Exactness exactness(const Tensor<T>& model_logits, const std::vector<double>& reconstructed) {
  BILIN_CHECK(model_logits.numel() == static_cast<index_t>(reconstructed.size()), "exactness", "model logits have ",
              model_logits.numel(), " entries, the reconstruction ", reconstructed.size());
  const auto m = model_logits.to_vector();
  Exactness e;
  for (std::size_t i = 0; i < m.size(); ++i) {
    e.max_abs_err = std::max(e.max_abs_err, std::fabs(static_cast<double>(m[i]) - reconstructed[i]));
    e.max_abs_logit = std::max(e.max_abs_logit, std::fabs(static_cast<double>(m[i])));
  }
  e.max_rel_err = e.max_abs_logit > 0 ? e.max_abs_err / e.max_abs_logit : e.max_abs_err;
  return e;
}

struct TruncationPoint {
  index_t k = 0;      // components kept per class
  bool all = false;   // the full decomposition
  double accuracy = 0;
  double agreement = 0;  // fraction of inputs where the truncated model predicts what the full one does
};

template <class T>
std::vector<TruncationPoint> truncation_curve(const ComponentLogits<T>& cl, const std::vector<std::int64_t>& labels,
                                              const std::vector<index_t>& ks) {
  const index_t N = cl.rows(), C = cl.classes();
  BILIN_CHECK(static_cast<index_t>(labels.size()) == N, "truncation_curve", labels.size(), " labels for ", N, " inputs");
  const auto full_pred = argmax_rows(cl.full(), N, C);
  std::vector<TruncationPoint> out;
  for (index_t k : ks) {
    TruncationPoint p;
    p.all = k <= 0 || k > cl.max_k();
    p.k = k;
    const auto pred = argmax_rows(cl.logits(p.all ? -1 : k), N, C);
    index_t correct = 0, agree = 0;
    for (index_t i = 0; i < N; ++i) {
      correct += pred[i] == labels[i];
      agree += pred[i] == full_pred[i];
    }
    p.accuracy = N ? static_cast<double>(correct) / static_cast<double>(N) : 0;
    p.agreement = N ? static_cast<double>(agree) / static_cast<double>(N) : 0;
    out.push_back(p);
  }
  return out;
}

}  // namespace bilin::interp
