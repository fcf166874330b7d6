// bilin/ops/softmax.hpp — softmax, log_softmax, cross_entropy and mse.
//
// Contract: softmax/log_softmax normalize along one axis (default last), stably (the row max
// is subtracted first). cross_entropy(logits [..., C], targets Tensor<int64_t> [...]) is
// PyTorch's F.cross_entropy on class indices: fused log-softmax + negative log-likelihood,
// optional label smoothing ε (target distribution (1−ε)·onehot + ε/C), ignore_index (those
// rows contribute nothing and are not counted by the mean), reduction mean | sum | none.
// A target outside [0, C) that is not ignore_index throws, naming the row and the value.
#pragma once
#include <cmath>
#include <limits>

#include "reduce.hpp"

namespace bilin {

namespace kernels {
// y[r,:] = softmax(x[r,:]) or log_softmax, rows contiguous.
template <class T>
void softmax_rows(const T* x, T* y, index_t rows, index_t len, bool log) {
  const bool par = rows * len >= kParallelGrain && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
  for (index_t r = 0; r < rows; ++r) {
    const T* xr = x + r * len;
    T* yr = y + r * len;
    T m = -std::numeric_limits<T>::infinity();
    for (index_t j = 0; j < len; ++j) m = std::max(m, xr[j]);
    if (!std::isfinite(m)) m = 0;
    map_contiguous(xr, yr, len, [m](auto v) { return xsimd::exp(v - decltype(v)(m)); });
    const double s = static_cast<double>(sum_contiguous(yr, len));
    if (log) {
      const T lse = static_cast<T>(m + std::log(s));
      for (index_t j = 0; j < len; ++j) yr[j] = xr[j] - lse;
    } else {
      const T inv = static_cast<T>(1.0 / s);
      for (index_t j = 0; j < len; ++j) yr[j] *= inv;
    }
  }
}
}  // namespace kernels

namespace detail {
template <class T>
Tensor<T> softmax_last(const Tensor<T>& x, bool log) {
  const Tensor<T> xc = x.is_contiguous() ? x.detach() : contiguous_copy(x);
  auto out = Tensor<T>::empty(x.shape());
  const index_t len = x.dim() ? x.size(-1) : 1;
  kernels::softmax_rows(xc.data(), out.data(), len ? x.numel() / len : 0, len, log);
  if (!autograd::any_requires_grad<T>({x})) return out;
  const Tensor<T> y = out.detach();
  return autograd::record(out, log ? "log_softmax" : "softmax", {x}, [y, log](const Tensor<T>& g) {
    NoGradGuard ng;
    const Axes last{-1};
    // softmax: y ⊙ (g − Σ g⊙y);  log_softmax: g − softmax ⊙ Σ g
    if (log) return std::vector<Tensor<T>>{g - exp(y) * sum(g, last, true)};
    return std::vector<Tensor<T>>{y * (g - sum(g * y, last, true))};
  });
}
}  // namespace detail

template <class T>
Tensor<T> softmax(const Tensor<T>& x, index_t axis = -1) {
  if (x.dim() == 0) return detail::softmax_last(x.reshape({1}), false).reshape({});
  const int ax = normalize_axis(axis, x.shape().size(), "softmax");
  if (ax == x.dim() - 1) return detail::softmax_last(x, false);
  return detail::softmax_last(x.transpose(ax, -1), false).transpose(ax, -1);
}

template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, index_t axis = -1) {
  if (x.dim() == 0) return detail::softmax_last(x.reshape({1}), true).reshape({});
  const int ax = normalize_axis(axis, x.shape().size(), "log_softmax");
  if (ax == x.dim() - 1) return detail::softmax_last(x, true);
  return detail::softmax_last(x.transpose(ax, -1), true).transpose(ax, -1);
}

enum class Reduction { Mean, Sum, None };

struct CrossEntropyOptions {
  Reduction reduction = Reduction::Mean;
  std::int64_t ignore_index = -100;
  double label_smoothing = 0.0;
};

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<std::int64_t>& targets,
                        const CrossEntropyOptions& opt = {}) {
  BILIN_CHECK(logits.dim() >= 1, "cross_entropy", "logits must have a class axis, got shape ",
              to_string(logits.shape()));
  const index_t C = logits.size(-1);
  const Shape row_shape(logits.shape().begin(), logits.shape().end() - 1);
  BILIN_CHECK(targets.shape() == row_shape, "cross_entropy", "targets of shape ", to_string(targets.shape()),
              " do not match logits of shape ", to_string(logits.shape()), " (expected ", to_string(row_shape), ")");
  BILIN_CHECK(opt.label_smoothing >= 0 && opt.label_smoothing <= 1, "cross_entropy", "label_smoothing must be in [0, 1], got ",
              opt.label_smoothing);
  const index_t rows = numel(row_shape);
  const Tensor<T> x = logits.is_contiguous() ? logits.detach() : detail::contiguous_copy(logits);
  const std::vector<std::int64_t> tv = targets.to_vector();
  for (index_t r = 0; r < rows; ++r)
    BILIN_CHECK(tv[r] == opt.ignore_index || (tv[r] >= 0 && tv[r] < C), "cross_entropy", "target ", tv[r], " at row ",
                r, " is outside [0, ", C, ")");
  auto lse = Tensor<T>::empty({rows});
  auto loss = Tensor<T>::empty(row_shape);
  const double eps = opt.label_smoothing;
  index_t counted = 0;
  for (index_t r = 0; r < rows; ++r) counted += tv[r] != opt.ignore_index;
#pragma omp parallel for schedule(static) if (rows * C >= kernels::kParallelGrain && !omp_in_parallel())
  for (index_t r = 0; r < rows; ++r) {
    const T* xr = x.data() + r * C;
    double m = -std::numeric_limits<double>::infinity(), s = 0, mean_x = 0;
    for (index_t j = 0; j < C; ++j) m = std::max(m, static_cast<double>(xr[j]));
    for (index_t j = 0; j < C; ++j) {
      s += std::exp(static_cast<double>(xr[j]) - m);
      mean_x += static_cast<double>(xr[j]);
    }
    mean_x /= static_cast<double>(C);
    const double l = m + std::log(s);
    lse.data()[r] = static_cast<T>(l);
    loss.data()[r] = tv[r] == opt.ignore_index
                         ? T(0)
                         : static_cast<T>(l - (1 - eps) * static_cast<double>(xr[tv[r]]) - eps * mean_x);
  }
  Tensor<T> out;
  {
    NoGradGuard ng;
    if (opt.reduction == Reduction::None) out = loss;
    else if (opt.reduction == Reduction::Sum) out = sum(loss);
    else out = sum(loss) * (counted ? 1.0 / static_cast<double>(counted) : 0.0);
  }
  if (!autograd::any_requires_grad<T>({logits})) return out;
  const Shape lshape = logits.shape();
  return autograd::record(out, "cross_entropy", {logits}, [x, lse, tv, opt, counted, rows, C, lshape](const Tensor<T>& g) {
    auto gx = Tensor<T>::empty(lshape);
    const Tensor<T> gc = g.is_contiguous() ? g : detail::contiguous_copy(g);
    const double eps = opt.label_smoothing;
    const double scale_all = opt.reduction == Reduction::Mean ? (counted ? 1.0 / static_cast<double>(counted) : 0.0) : 1.0;
#pragma omp parallel for schedule(static) if (rows * C >= kernels::kParallelGrain && !omp_in_parallel())
    for (index_t r = 0; r < rows; ++r) {
      T* gr = gx.data() + r * C;
      if (tv[r] == opt.ignore_index) {
        std::fill_n(gr, C, T(0));
        continue;
      }
      const double s = (opt.reduction == Reduction::None ? static_cast<double>(gc.data()[r])
                                                         : static_cast<double>(gc.data()[0])) * scale_all;
      const T* xr = x.data() + r * C;
      const double l = lse.data()[r];
      for (index_t j = 0; j < C; ++j)
        gr[j] = static_cast<T>(s * (std::exp(static_cast<double>(xr[j]) - l) - eps / static_cast<double>(C)));
      gr[tv[r]] -= static_cast<T>(s * (1 - eps));
    }
    return std::vector<Tensor<T>>{gx};
  });
}

template <class T>
Tensor<T> mse(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::Mean) {
  BILIN_CHECK(pred.shape() == target.shape(), "mse", "prediction of shape ", to_string(pred.shape()),
              " and target of shape ", to_string(target.shape()), " differ");
  Tensor<T> sq = square(pred - target);
  if (reduction == Reduction::None) return sq;
  return reduction == Reduction::Sum ? sum(sq) : mean(sq);
}

}  // namespace bilin
