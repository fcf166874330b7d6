// bilin/ops/indexing.hpp — differentiable gather, index_select, embedding, concat, stack.
//
// Contract (PyTorch semantics):
// - index_select(x, axis, idx): idx is a 1-D Tensor<int64_t>; the result has idx.numel()
//   entries along axis. Repeated indices are allowed; their gradients add up.
// - embedding(weight [V, D], ids [...]) = the rows of weight picked by ids → [..., D].
// - gather(x, axis, index): out[i][j][k] = x[i][index[i][j][k]][k] for axis = 1; index has
//   x's rank and, off the axis, extents no larger than x's.
// - concat(tensors, axis) joins along an existing axis; stack(tensors, axis) along a new one.
// Every index is range-checked; the error names the op, the offending index and the extent.
#pragma once
#include "views.hpp"

namespace bilin {

using IndexTensor = Tensor<std::int64_t>;

namespace detail {
inline std::vector<std::int64_t> checked_indices(const IndexTensor& idx, index_t extent, const char* op) {
  std::vector<std::int64_t> v = idx.to_vector();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] < 0) v[i] += extent;
    BILIN_CHECK(v[i] >= 0 && v[i] < extent, op, "index ", idx.to_vector()[i], " at position ", i,
                " is out of range for an axis of size ", extent);
  }
  return v;
}
}  // namespace detail

template <class T>
Tensor<T> index_select(const Tensor<T>& x, index_t axis, const IndexTensor& idx) {
  BILIN_CHECK(idx.dim() == 1, "index_select", "indices must be 1-D, got shape ", to_string(idx.shape()));
  const int ax = normalize_axis(axis, x.shape().size(), "index_select");
  const std::vector<std::int64_t> iv = detail::checked_indices(idx, x.shape()[ax], "index_select");
  // [outer, extent, inner] view of x; copy whole inner runs
  index_t outer = 1, inner = 1;
  for (int i = 0; i < ax; ++i) outer *= x.shape()[i];
  for (std::size_t i = ax + 1; i < x.shape().size(); ++i) inner *= x.shape()[i];
  const Tensor<T> xc = x.is_contiguous() ? x.detach() : detail::contiguous_copy(x);
  const index_t n = x.shape()[ax], k = static_cast<index_t>(iv.size());
  Shape os = x.shape();
  os[ax] = k;
  auto out = Tensor<T>::empty(os);
#pragma omp parallel for collapse(2) schedule(static) if (outer * k * inner >= kernels::kParallelGrain && !omp_in_parallel())
  for (index_t o = 0; o < outer; ++o)
    for (index_t j = 0; j < k; ++j)
      std::copy_n(xc.data() + (o * n + iv[j]) * inner, inner, out.data() + (o * k + j) * inner);
  const Shape in_shape = x.shape();
  return autograd::record(out, "index_select", {x}, [iv, in_shape, outer, inner, n, k](const Tensor<T>& g) {
    auto gx = Tensor<T>::zeros(in_shape);
    const Tensor<T> gc = g.is_contiguous() ? g : detail::contiguous_copy(g);
    // serial over j so repeated indices add in a fixed order (deterministic), parallel over outer
#pragma omp parallel for schedule(static) if (outer > 1 && outer * k * inner >= kernels::kParallelGrain && !omp_in_parallel())
    for (index_t o = 0; o < outer; ++o)
      for (index_t j = 0; j < k; ++j) {
        T* dst = gx.data() + (o * n + iv[j]) * inner;
        const T* src = gc.data() + (o * k + j) * inner;
        for (index_t t = 0; t < inner; ++t) dst[t] += src[t];
      }
    return std::vector<Tensor<T>>{gx};
  });
}

template <class T>
Tensor<T> embedding(const Tensor<T>& weight, const IndexTensor& ids) {
  BILIN_CHECK(weight.dim() == 2, "embedding", "weight must be [vocab, dim], got shape ", to_string(weight.shape()));
  Shape os = ids.shape();
  os.push_back(weight.size(1));
  return index_select(weight, 0, ids.reshape({ids.numel()})).reshape(os);
}

template <class T>
Tensor<T> gather(const Tensor<T>& x, index_t axis, const IndexTensor& index) {
  const int ax = normalize_axis(axis, x.shape().size(), "gather");
  BILIN_CHECK(index.dim() == x.dim(), "gather", "index of shape ", to_string(index.shape()),
              " must have the rank of the input ", to_string(x.shape()));
  for (index_t d = 0; d < x.dim(); ++d)
    BILIN_CHECK(d == ax || index.shape()[d] <= x.shape()[d], "gather", "index of shape ", to_string(index.shape()),
                " exceeds the input ", to_string(x.shape()), " on axis ", d);
  const std::vector<std::int64_t> iv = detail::checked_indices(index, x.shape()[ax], "gather");
  const Shape os = index.shape();
  auto out = Tensor<T>::empty(os);
  // offset of each output element's source in x, and in a contiguous gradient of x's shape
  std::vector<index_t> src(iv.size()), dst(iv.size());
  {
    const Strides cs = contiguous_strides(x.shape());
    std::vector<index_t> coord(os.size(), 0);
    for (std::size_t e = 0; e < iv.size(); ++e) {
      index_t off = 0, goff = 0;
      for (std::size_t d = 0; d < os.size(); ++d) {
        const index_t c = static_cast<int>(d) == ax ? iv[e] : coord[d];
        off += c * x.strides()[d];
        goff += c * cs[d];
      }
      src[e] = off;
      dst[e] = goff;
      for (std::size_t d = os.size(); d-- > 0;) {
        if (++coord[d] < os[d]) break;
        coord[d] = 0;
      }
    }
  }
  for (std::size_t e = 0; e < src.size(); ++e) out.data()[e] = x.data()[src[e]];
  const Shape in_shape = x.shape();
  return autograd::record(out, "gather", {x}, [dst, in_shape](const Tensor<T>& g) {
    auto gx = Tensor<T>::zeros(in_shape);
    const std::vector<T> gv = g.to_vector();
    for (std::size_t e = 0; e < dst.size(); ++e) gx.data()[dst[e]] += gv[e];
    return std::vector<Tensor<T>>{gx};
  });
}

template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& xs, index_t axis = 0) {
  BILIN_CHECK(!xs.empty(), "concat", "needs at least one tensor");
  const int ax = normalize_axis(axis, xs[0].shape().size(), "concat");
  Shape os = xs[0].shape();
  os[ax] = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    BILIN_CHECK(xs[i].dim() == xs[0].dim(), "concat", "tensor ", i, " has shape ", to_string(xs[i].shape()),
                ", tensor 0 has ", to_string(xs[0].shape()));
    for (index_t d = 0; d < xs[0].dim(); ++d)
      BILIN_CHECK(d == ax || xs[i].shape()[d] == xs[0].shape()[d], "concat", "tensor ", i, " has shape ",
                  to_string(xs[i].shape()), ", incompatible with ", to_string(xs[0].shape()), " off axis ", ax);
    os[ax] += xs[i].shape()[ax];
  }
  auto out = Tensor<T>::empty(os);
  std::vector<index_t> starts;
  index_t at = 0;
  {
    NoGradGuard ng;
    for (const auto& x : xs) {
      starts.push_back(at);
      Tensor<T> dst = out.narrow(ax, at, x.shape()[ax]);
      kernels::strided_copy(x.shape(), x.data(), x.strides(), dst.data(), dst.strides());
      at += x.shape()[ax];
    }
  }
  std::vector<index_t> sizes;
  for (const auto& x : xs) sizes.push_back(x.shape()[ax]);
  return autograd::record(out, "concat", xs, [ax, starts, sizes](const Tensor<T>& g) {
    NoGradGuard ng;
    std::vector<Tensor<T>> gs;
    for (std::size_t i = 0; i < starts.size(); ++i) gs.push_back(g.narrow(ax, starts[i], sizes[i]));
    return gs;
  });
}

template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& xs, index_t axis = 0) {
  BILIN_CHECK(!xs.empty(), "stack", "needs at least one tensor");
  for (std::size_t i = 1; i < xs.size(); ++i)
    BILIN_CHECK(xs[i].shape() == xs[0].shape(), "stack", "tensor ", i, " has shape ", to_string(xs[i].shape()),
                ", tensor 0 has ", to_string(xs[0].shape()));
  const int ax = normalize_axis(axis, xs[0].shape().size() + 1, "stack");
  std::vector<Tensor<T>> u;
  for (const auto& x : xs) u.push_back(x.unsqueeze(ax));
  return concat(u, ax);
}

}  // namespace bilin
