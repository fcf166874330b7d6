// bilin/autograd/gradcheck.hpp — analytic gradients against central finite differences.
//
// Contract: gradcheck(f, inputs) treats f as a function of the (leaf, contiguous, double)
// input tensors returning a tensor y of any shape. It draws a fixed random cotangent r of y's
// shape, and compares the analytic gradient of L = Σ r⊙y (one backward with seed r, i.e. a
// vector–Jacobian product, which involves every entry of the Jacobian) with central
// differences, one input element at a time, refined by Richardson extrapolation:
// numeric = (4·D(h/2) − D(h)) / 3 with D(h) = (L(x+h) − L(x−h)) / 2h, whose error is O(h⁴), so
// a large step (1e-3) keeps rounding noise near 1e-12 while truncation stays below it. The error of an element is
// |analytic − numeric| / max(|analytic|, |numeric|, floor): relative for gradients larger than
// `floor`, absolute (scaled by 1/floor) below it, so entries that are zero analytically do not
// turn rounding noise into huge "relative" errors. Callers choose inputs away from kinks
// (relu at 0, abs at 0, clamp bounds, ties of max) — farther than the step — where no
// derivative exists.
#pragma once
#include <cmath>
#include <functional>
#include <sstream>

#include "engine.hpp"

namespace bilin {

struct GradcheckOptions {
  double step = 1e-3;     // h (scaled by max(1, |x|))
  double tolerance = 1e-6;
  double floor = 1e-4;
  std::uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = false;
  double max_error = 0;    // as defined above
  std::size_t input = 0;   // where the max error occurred
  index_t element = 0;
  double analytic = 0, numeric = 0;
  std::string report() const {
    std::ostringstream os;
    os << (ok ? "ok" : "FAILED") << ": max error " << max_error << " at input " << input << " element " << element
       << " (analytic " << analytic << ", numeric " << numeric << ")";
    return os.str();
  }
};

template <class F>
GradcheckResult gradcheck(F&& f, std::vector<TensorD> inputs, const GradcheckOptions& opt = {}) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    BILIN_CHECK(inputs[i].is_contiguous() && inputs[i].is_leaf(), "gradcheck", "input ", i,
                " must be a contiguous leaf tensor");
    inputs[i].requires_grad_(true);
    inputs[i].set_grad(TensorD());
  }
  TensorD y = f(inputs);
  Generator gen(opt.seed);
  const TensorD r = TensorD::randn(y.shape(), gen);
  y.backward(r);
  auto L = [&]() {
    NoGradGuard ng;
    const TensorD v = f(inputs);
    const std::vector<double> a = v.to_vector(), b = r.to_vector();
    long double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<long double>(a[i]) * b[i];
    return static_cast<double>(s);
  };
  GradcheckResult res;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const TensorD g = inputs[i].grad();
    double* x = inputs[i].data();
    for (index_t e = 0; e < inputs[i].numel(); ++e) {
      const double x0 = x[e], h = opt.step * std::max(1.0, std::abs(x0));
      auto central = [&](double step) {
        x[e] = x0 + step;
        const double lp = L();
        x[e] = x0 - step;
        const double lm = L();
        x[e] = x0;
        return (lp - lm) / (2 * step);
      };
      const double numeric = (4 * central(h / 2) - central(h)) / 3;
      const double analytic = g.defined() ? g.data()[e] : 0.0;
      const double err =
          std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), opt.floor});
      if (!(err <= res.max_error)) {  // also catches NaN
        res.max_error = std::isnan(err) ? INFINITY : err;
        res.input = i;
        res.element = e;
        res.analytic = analytic;
        res.numeric = numeric;
      }
    }
  }
  res.ok = res.max_error <= opt.tolerance;
  return res;
}

}  // namespace bilin
