// bilin/interp/explain.hpp — why did the model give this input these logits? Eigencomponent
// activations and contributions for one input.
//
// Contract:
// - For one input x [D] (model input space, e.g. 784 pixels) and one class's components,
//   component i has projection a_i = inputs_i·x + offsets_i (= v_i·z̃), activation a_i² ≥ 0 and
//   contribution λ_i a_i²; the contributions sum to the class logit exactly (full
//   decomposition). A feature fires when x matches its positive OR its negative region (the
//   square), and the sign of λ decides whether it pushes the logit up or down.
// - explain(decomps, x, top_classes) → Explanation: logits (from the components), the classes
//   with the highest logits (top_classes of them, highest first) and, for each, all components
//   sorted by contribution (most positive first). ClassExplanation::top_positive(k) /
//   top_negative(k) give the strongest pushes up / down.
// - explanation_json(e, names) → {"logits": [C], "prediction", "classes": [{"class", "name",
//   "logit", "components": [{"component", "eigenvalue", "projection", "contribution"}, …]}]}
//   with every number at full double precision (what `explain --json` writes).
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../core/error.hpp"
#include "../io/json.hpp"
#include "decompose.hpp"

namespace bilin::interp {

struct Contribution {
  index_t component = 0;   // index into the class's Eigencomponents (descending-λ order)
  double eigenvalue = 0;
  double projection = 0;   // v·z̃
  double contribution = 0; // λ (v·z̃)²
};

struct ClassExplanation {
  index_t cls = 0;
  double logit = 0;
  std::vector<Contribution> components;  // sorted by contribution, descending

  std::vector<Contribution> top_positive(std::size_t k) const {
    std::vector<Contribution> out;
    for (const auto& c : components)
      if (out.size() < k && c.contribution > 0) out.push_back(c);
    return out;
  }
  std::vector<Contribution> top_negative(std::size_t k) const {
    std::vector<Contribution> out;
    for (auto it = components.rbegin(); it != components.rend() && out.size() < k; ++it)
      if (it->contribution < 0) out.push_back(*it);
    return out;
  }
  // Share of Σ|contribution| carried by the k largest |contribution| (how few features explain it).
  double top_share(std::size_t k) const {
    std::vector<double> a;
    double total = 0;
    for (const auto& c : components) a.push_back(std::fabs(c.contribution)), total += std::fabs(c.contribution);
    std::sort(a.begin(), a.end(), std::greater<double>());
    double s = 0;
    for (std::size_t i = 0; i < std::min(k, a.size()); ++i) s += a[i];
    return total > 0 ? s / total : 0;
  }
};

struct Explanation {
  std::vector<double> logits;           // [C], Σ of contributions
  std::vector<ClassExplanation> classes; // top classes, highest logit first
  index_t prediction() const { return classes.empty() ? -1 : classes.front().cls; }
};

template <class T>
ClassExplanation explain_class(const Eigencomponents<T>& ec, const T* x, index_t cls) {
  ClassExplanation ce;
  ce.cls = cls;
  const index_t D = ec.input_dim();
  for (index_t i = 0; i < ec.size(); ++i) {
    const T* p = ec.input(i);
    double a = static_cast<double>(ec.offsets.data()[i]);
    for (index_t j = 0; j < D; ++j) a += static_cast<double>(p[j]) * static_cast<double>(x[j]);
    Contribution c{i, static_cast<double>(ec.value(i)), a, static_cast<double>(ec.value(i)) * a * a};
    ce.logit += c.contribution;
    ce.components.push_back(c);
  }
  std::stable_sort(ce.components.begin(), ce.components.end(),
                   [](const Contribution& a, const Contribution& b) { return a.contribution > b.contribution; });
  return ce;
}

template <class T>
Explanation explain(const std::vector<Eigencomponents<T>>& comps, const Tensor<T>& x, index_t top_classes = 3) {
  BILIN_CHECK(!comps.empty(), "explain", "no components");
  const index_t D = comps[0].input_dim();
  BILIN_CHECK(x.defined() && x.numel() == D, "explain", "input must have ", D, " values, got shape ",
              x.defined() ? to_string(x.shape()) : "none");
  const Tensor<T> xx = detail::dense(x);
  std::vector<ClassExplanation> all;
  Explanation e;
  for (index_t c = 0; c < static_cast<index_t>(comps.size()); ++c) {
    all.push_back(explain_class(comps[c], xx.data(), c));
    e.logits.push_back(all.back().logit);
  }
  std::vector<index_t> order(all.size());
  std::iota(order.begin(), order.end(), index_t(0));
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return e.logits[a] > e.logits[b]; });
  const index_t k = std::min<index_t>(std::max<index_t>(top_classes, 1), static_cast<index_t>(all.size()));
  for (index_t i = 0; i < k; ++i) e.classes.push_back(std::move(all[order[i]]));
  return e;
}

inline json::Value explanation_json(const Explanation& e, const std::vector<std::string>& names) {
  const auto name = [&](index_t c) { return c >= 0 && c < static_cast<index_t>(names.size()) ? names[c] : std::to_string(c); };
  json::Value j = json::Value::object();
  j["logits"] = json::Value::array_of(e.logits);
  j["prediction"] = e.prediction();
  json::Value classes = json::Value::array();
  for (const ClassExplanation& ce : e.classes) {
    json::Value cj = json::Value::object();
    cj["class"] = ce.cls;
    cj["name"] = name(ce.cls);
    cj["logit"] = ce.logit;
    json::Value comps = json::Value::array();
    for (const Contribution& c : ce.components) {
      json::Value x = json::Value::object();
      x["component"] = c.component, x["eigenvalue"] = c.eigenvalue, x["projection"] = c.projection;
      x["contribution"] = c.contribution;
      comps.push_back(x);
    }
    cj["components"] = comps;
    classes.push_back(cj);
  }
  j["classes"] = classes;
  return j;
}

}  // namespace bilin::interp
