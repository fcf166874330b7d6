// bilin/ops/reduce.hpp — differentiable reductions over any set of axes.
//
// Contract: sum, mean, max, min, var take a list of axes (empty list = all axes; negative
// axes count from the end; repeated axes are an error) and keepdim. max/min send the gradient
// to the first position of the extreme value in each reduced group; argmax/argmin return
// Tensor<int64_t> indices into the flattened reduced axes (one axis → the index along it).
// var uses `correction` like PyTorch (1 = unbiased, the default; 0 = population).
#pragma once
#include <algorithm>
#include <numeric>

#include "../kernels/reduce.hpp"
#include "elementwise.hpp"

namespace bilin {

using Axes = std::vector<index_t>;

namespace detail {
struct ReducePlan {
  std::vector<bool> reduce;        // per axis: reduced or kept
  std::vector<int> reduced, kept;  // axis numbers
  Shape out_keep, out_drop;        // result shapes with / without size-1 reduced axes
  index_t rows = 1, len = 1;       // rows = kept elements, len = reduced elements
};

inline ReducePlan plan_reduce(const Shape& s, const Axes& axes, const char* op) {
  ReducePlan p;
  std::vector<bool> red(s.size(), axes.empty());
  for (index_t a : axes) {
    const int ax = normalize_axis(a, s.size(), op);
    BILIN_CHECK(!red[ax], op, "axis ", a, " is listed twice");
    red[ax] = true;
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (red[i]) {
      p.reduced.push_back(static_cast<int>(i));
      p.len *= s[i];
      p.out_keep.push_back(1);
    } else {
      p.kept.push_back(static_cast<int>(i));
      p.rows *= s[i];
      p.out_keep.push_back(s[i]);
      p.out_drop.push_back(s[i]);
    }
  }
  p.reduce = std::move(red);
  return p;
}

// max/min/argmax/argmin share this: values [rows] and first-extreme indices [rows].
template <class T>
std::pair<Tensor<T>, std::vector<std::int64_t>> extreme(const Tensor<T>& x, const ReducePlan& p,
                                                        kernels::ReduceOp op, const char* name) {
  BILIN_CHECK(p.len > 0, name, "cannot reduce over an empty axis of shape ", to_string(x.shape()));
  std::vector<T> buffer;
  const T* rows = kernels::as_rows(x.shape(), x.data(), x.strides(), p.reduce, buffer);
  auto out = Tensor<T>::empty(p.out_keep);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(p.rows));
  kernels::reduce_rows(rows, p.rows, p.len, out.data(), op, idx.data());
  return {out, idx};
}

template <class T>
Tensor<T> extreme_op(const Tensor<T>& x, const Axes& axes, bool keepdim, bool is_max) {
  const char* name = is_max ? "max" : "min";
  const ReducePlan p = plan_reduce(x.shape(), axes, name);
  auto [vals, idx] = extreme(x, p, is_max ? kernels::ReduceOp::Max : kernels::ReduceOp::Min, name);
  Tensor<T> out = keepdim ? vals : vals.detach().reshape(p.out_drop);
  const Shape in_shape = x.shape();
  return autograd::record(out, name, {x}, [p, idx = std::move(idx), in_shape](const Tensor<T>& g) {
    // gradient into a [rows, len] block at the chosen index, then undo the permutation
    auto block = Tensor<T>::zeros({p.rows, p.len});
    const Tensor<T> gc = contiguous_copy(g);
    for (index_t r = 0; r < p.rows; ++r) block.data()[r * p.len + idx[r]] = gc.data()[r];
    Shape perm_shape;
    std::vector<index_t> order, inverse(in_shape.size());
    for (int a : p.kept) order.push_back(a);
    for (int a : p.reduced) order.push_back(a);
    for (index_t a : order) perm_shape.push_back(in_shape[a]);
    for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<index_t>(i);
    NoGradGuard ng;
    return std::vector<Tensor<T>>{block.reshape(perm_shape).permute(inverse)};
  });
}
}  // namespace detail

template <class T>
Tensor<T> sum(const Tensor<T>& x, const Axes& axes = {}, bool keepdim = false) {
  const detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, "sum");
  auto out = Tensor<T>::empty(p.out_keep);
  kernels::sum_axes(x.shape(), x.data(), x.strides(), p.reduce, out.data());
  if (!keepdim) out = out.reshape(p.out_drop);
  const Shape in_shape = x.shape(), keep_shape = p.out_keep;
  return autograd::record(out, "sum", {x}, [in_shape, keep_shape](const Tensor<T>& g) {
    NoGradGuard ng;
    return std::vector<Tensor<T>>{g.reshape(keep_shape).expand(in_shape)};
  });
}

template <class T>
Tensor<T> mean(const Tensor<T>& x, const Axes& axes = {}, bool keepdim = false) {
  const detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, "mean");
  BILIN_CHECK(p.len > 0, "mean", "mean over an empty axis of shape ", to_string(x.shape()));
  return sum(x, axes, keepdim) * (1.0 / static_cast<double>(p.len));
}

template <class T>
Tensor<T> var(const Tensor<T>& x, const Axes& axes = {}, int correction = 1, bool keepdim = false) {
  const detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, "var");
  BILIN_CHECK(p.len - correction > 0, "var", "needs more than ", correction, " elements per group, shape ",
              to_string(x.shape()));
  const Tensor<T> d = x - mean(x, axes, true);
  return sum(square(d), axes, keepdim) * (1.0 / static_cast<double>(p.len - correction));
}

template <class T>
Tensor<T> max(const Tensor<T>& x, const Axes& axes = {}, bool keepdim = false) {
  return detail::extreme_op(x, axes, keepdim, true);
}
template <class T>
Tensor<T> min(const Tensor<T>& x, const Axes& axes = {}, bool keepdim = false) {
  return detail::extreme_op(x, axes, keepdim, false);
}

template <class T>
Tensor<std::int64_t> argmax(const Tensor<T>& x, const Axes& axes = {}, bool keepdim = false) {
  const detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, "argmax");
  auto res = detail::extreme(x, p, kernels::ReduceOp::ArgMax, "argmax");
  return Tensor<std::int64_t>::from_vector(res.second, keepdim ? p.out_keep : p.out_drop);
}
template <class T>
Tensor<std::int64_t> argmin(const Tensor<T>& x, const Axes& axes = {}, bool keepdim = false) {
  const detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, "argmin");
  auto res = detail::extreme(x, p, kernels::ReduceOp::ArgMin, "argmin");
  return Tensor<std::int64_t>::from_vector(res.second, keepdim ? p.out_keep : p.out_drop);
}
}  // namespace bilin
