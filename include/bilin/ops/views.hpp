// bilin/ops/views.hpp — differentiable views and copies of Tensor<T>.
//
// Contract: reshape (of contiguous data), view, flatten, transpose, permute, slice, narrow,
// select, chunk, split, squeeze, unsqueeze and expand return tensors that share storage with
// their input (no copy); writing through a view (copy_/fill_) changes the base. Each records
// a node so gradients flow back to the base: reshape → reshape back, permute → inverse
// permutation, slice/select → the gradient placed into zeros of the base's shape, expand →
// summed over the expanded axes (by the engine). reshape copies only when the input is not
// contiguous (like PyTorch); view() never copies and throws instead. Index arguments follow
// Python: negative values count from the end; slice bounds are clamped, narrow/select are
// range-checked.
#pragma once
#include <numeric>

#include "../autograd/function.hpp"
#include "../autograd/untracked.hpp"
#include "../core/tensor.hpp"
#include "../kernels/elementwise.hpp"

namespace bilin {

namespace detail {
template <class T>
Tensor<T> make_view(const Tensor<T>& base, Shape shape, Strides strides, index_t offset) {
  auto p = std::make_shared<TensorImpl<T>>();
  p->storage = base.storage();
  p->shape = std::move(shape);
  p->strides = std::move(strides);
  p->offset = offset;
  return Tensor<T>(p);
}

// Resolve one -1 extent and check the element count.
inline Shape infer_shape(Shape shape, index_t n, const Shape& from, const char* op) {
  index_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      BILIN_CHECK(infer < 0, op, "only one extent may be -1, got ", to_string(shape));
      infer = static_cast<int>(i);
    } else {
      BILIN_CHECK(shape[i] >= 0, op, "invalid extent ", shape[i], " in ", to_string(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    BILIN_CHECK(known != 0 && n % known == 0, op, "cannot reshape ", to_string(from), " (", n, " elements) into ",
                to_string(shape));
    shape[infer] = n / known;
  }
  BILIN_CHECK(numel(shape) == n, op, "cannot reshape ", to_string(from), " (", n, " elements) into ",
              to_string(shape), " (", numel(shape), " elements)");
  return shape;
}

// Gradient of a view: zeros of the base's shape with g written where the view looked.
template <class T, class MakeView>
Tensor<T> scatter_into_zeros(const Shape& base_shape, const Tensor<T>& g, MakeView&& view_of) {
  auto z = Tensor<T>::zeros(base_shape);
  Tensor<T> v = view_of(z);
  kernels::strided_copy(v.shape(), g.data(), g.strides(), v.data(), v.strides());
  return z;
}

inline void check_float_op(const char* op, bool ok) {
  BILIN_CHECK(ok, op, "needs a floating-point tensor");
}
}  // namespace detail

template <class T>
Tensor<T> Tensor<T>::view(const Shape& shape) const {
  const Shape s = detail::infer_shape(shape, numel(), this->shape(), "view");
  BILIN_CHECK(is_contiguous(), "view", "tensor of shape ", to_string(this->shape()),
              " is not contiguous; call contiguous() or use reshape()");
  Tensor out = detail::make_view(*this, s, contiguous_strides(s), offset());
  const Shape in_shape = this->shape();
  return autograd::record(out, "view", {*this}, [in_shape](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(in_shape)};
  });
}

template <class T>
Tensor<T> Tensor<T>::reshape(const Shape& shape) const {
  if (is_contiguous()) return view(shape);
  return contiguous().view(shape);
}

template <class T>
Tensor<T> Tensor<T>::flatten(index_t start, index_t end) const {
  if (dim() == 0) return reshape({1});
  const int s = normalize_axis(start, shape().size(), "flatten");
  const int e = normalize_axis(end, shape().size(), "flatten");
  BILIN_CHECK(s <= e, "flatten", "start axis ", start, " comes after end axis ", end);
  Shape ns(shape().begin(), shape().begin() + s);
  index_t m = 1;
  for (int i = s; i <= e; ++i) m *= shape()[i];
  ns.push_back(m);
  ns.insert(ns.end(), shape().begin() + e + 1, shape().end());
  return reshape(ns);
}

template <class T>
Tensor<T> Tensor<T>::permute(const std::vector<index_t>& order) const {
  const std::size_t nd = shape().size();
  BILIN_CHECK(order.size() == nd, "permute", "order has ", order.size(), " axes but the tensor has shape ",
              to_string(shape()));
  std::vector<index_t> ax(nd);
  std::vector<bool> seen(nd, false);
  Shape s(nd);
  Strides st(nd);
  for (std::size_t i = 0; i < nd; ++i) {
    ax[i] = normalize_axis(order[i], nd, "permute");
    BILIN_CHECK(!seen[ax[i]], "permute", "axis ", order[i], " appears twice");
    seen[ax[i]] = true;
    s[i] = shape()[ax[i]];
    st[i] = strides()[ax[i]];
  }
  Tensor out = detail::make_view(*this, s, st, offset());
  std::vector<index_t> inverse(nd);
  for (std::size_t i = 0; i < nd; ++i) inverse[ax[i]] = static_cast<index_t>(i);
  return autograd::record(out, "permute", {*this}, [inverse](const Tensor& g) {
    return std::vector<Tensor>{g.permute(inverse)};
  });
}

template <class T>
Tensor<T> Tensor<T>::transpose(index_t a, index_t b) const {
  const std::size_t nd = shape().size();
  std::vector<index_t> order(nd);
  std::iota(order.begin(), order.end(), index_t{0});
  std::swap(order[normalize_axis(a, nd, "transpose")], order[normalize_axis(b, nd, "transpose")]);
  return permute(order);
}

template <class T>
Tensor<T> Tensor<T>::t() const {
  BILIN_CHECK(dim() == 2, "t", "needs a 2-D tensor, got shape ", to_string(shape()), "; use transpose(a, b)");
  return transpose(0, 1);
}

template <class T>
Tensor<T> Tensor<T>::slice(index_t axis, index_t start, index_t stop, index_t step) const {
  const int ax = normalize_axis(axis, shape().size(), "slice");
  BILIN_CHECK(step > 0, "slice", "step must be positive, got ", step);
  const index_t n = shape()[ax];
  auto clampi = [n](index_t i) { return std::clamp<index_t>(i < 0 ? i + n : i, 0, n); };
  const index_t lo = clampi(start), hi = std::max(clampi(stop), clampi(start));
  Shape s = shape();
  Strides st = strides();
  s[ax] = (hi - lo + step - 1) / step;
  st[ax] = strides()[ax] * step;
  Tensor out = detail::make_view(*this, s, st, offset() + lo * strides()[ax]);
  const Shape base = shape();
  return autograd::record(out, "slice", {*this}, [base, ax, lo, hi, step](const Tensor& g) {
    return std::vector<Tensor>{detail::scatter_into_zeros(base, g, [&](const Tensor& z) {
      NoGradGuard ng;
      return z.slice(ax, lo, hi, step);
    })};
  });
}

template <class T>
Tensor<T> Tensor<T>::narrow(index_t axis, index_t start, index_t length) const {
  const int ax = normalize_axis(axis, shape().size(), "narrow");
  const index_t n = shape()[ax];
  const index_t s = start < 0 ? start + n : start;
  BILIN_CHECK(s >= 0 && length >= 0 && s + length <= n, "narrow", "range [", start, ", ", start, "+", length,
              ") is outside axis ", axis, " of shape ", to_string(shape()));
  return slice(ax, s, s + length);
}

template <class T>
Tensor<T> Tensor<T>::select(index_t axis, index_t index) const {
  const int ax = normalize_axis(axis, shape().size(), "select");
  const index_t n = shape()[ax];
  const index_t i = index < 0 ? index + n : index;
  BILIN_CHECK(i >= 0 && i < n, "select", "index ", index, " is out of range for axis ", axis, " of shape ",
              to_string(shape()));
  Shape s = shape();
  Strides st = strides();
  s.erase(s.begin() + ax);
  st.erase(st.begin() + ax);
  Tensor out = detail::make_view(*this, s, st, offset() + i * strides()[ax]);
  const Shape base = shape();
  return autograd::record(out, "select", {*this}, [base, ax, i](const Tensor& g) {
    return std::vector<Tensor>{detail::scatter_into_zeros(base, g, [&](const Tensor& z) {
      NoGradGuard ng;
      return z.select(ax, i);
    })};
  });
}

template <class T>
std::vector<Tensor<T>> Tensor<T>::split(index_t size, index_t axis) const {
  const int ax = normalize_axis(axis, shape().size(), "split");
  BILIN_CHECK(size > 0, "split", "split size must be positive, got ", size);
  std::vector<Tensor> parts;
  for (index_t s = 0; s < shape()[ax]; s += size) parts.push_back(slice(ax, s, s + size));
  return parts;
}

template <class T>
std::vector<Tensor<T>> Tensor<T>::chunk(index_t chunks, index_t axis) const {
  BILIN_CHECK(chunks > 0, "chunk", "number of chunks must be positive, got ", chunks);
  const int ax = normalize_axis(axis, shape().size(), "chunk");
  const index_t n = shape()[ax];
  return split(std::max<index_t>(1, (n + chunks - 1) / chunks), ax);
}

template <class T>
Tensor<T> Tensor<T>::squeeze() const {
  Shape s;
  for (index_t e : shape())
    if (e != 1) s.push_back(e);
  return is_contiguous() ? reshape(s) : [&] {
    Strides st;
    for (std::size_t i = 0; i < shape().size(); ++i)
      if (shape()[i] != 1) st.push_back(strides()[i]);
    Tensor out = detail::make_view(*this, s, st, offset());
    const Shape base = shape();
    return autograd::record(out, "squeeze", {*this}, [base](const Tensor& g) {
      return std::vector<Tensor>{g.reshape(base)};
    });
  }();
}

template <class T>
Tensor<T> Tensor<T>::squeeze(index_t axis) const {
  const int ax = normalize_axis(axis, shape().size(), "squeeze");
  if (shape()[ax] != 1) return *this;  // PyTorch semantics: squeezing a non-1 axis is a no-op
  Shape s = shape();
  Strides st = strides();
  s.erase(s.begin() + ax);
  st.erase(st.begin() + ax);
  Tensor out = detail::make_view(*this, s, st, offset());
  const Shape base = shape();
  return autograd::record(out, "squeeze", {*this}, [base](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(base)};
  });
}

template <class T>
Tensor<T> Tensor<T>::unsqueeze(index_t axis) const {
  const int ax = normalize_axis(axis, shape().size() + 1, "unsqueeze");
  Shape s = shape();
  Strides st = strides();
  const index_t new_stride = ax < dim() ? strides()[ax] * shape()[ax] : 1;
  s.insert(s.begin() + ax, 1);
  st.insert(st.begin() + ax, new_stride);
  Tensor out = detail::make_view(*this, s, st, offset());
  return autograd::record(out, "unsqueeze", {*this}, [ax](const Tensor& g) {
    return std::vector<Tensor>{g.squeeze(ax)};
  });
}

template <class T>
Tensor<T> Tensor<T>::expand(const Shape& target) const {
  BILIN_CHECK(target.size() >= shape().size(), "expand", "cannot expand shape ", to_string(shape()), " to ",
              to_string(target), " (fewer dimensions)");
  Shape s = target;
  const std::size_t lead = target.size() - shape().size();
  for (std::size_t i = 0; i < shape().size(); ++i) {
    if (s[lead + i] == -1) s[lead + i] = shape()[i];
    BILIN_CHECK(shape()[i] == s[lead + i] || shape()[i] == 1, "expand", "cannot expand shape ", to_string(shape()),
                " to ", to_string(target), " (axis ", lead + i, ")");
  }
  check_shape(s, "expand");
  Tensor out = detail::make_view(*this, s, broadcast_strides(shape(), strides(), s), offset());
  // the engine sums the gradient back over the expanded axes
  return autograd::record(out, "expand", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

template <class T>
Tensor<T> Tensor<T>::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

template <class T>
Tensor<T> Tensor<T>::clone() const {
  Tensor out = detail::contiguous_copy(*this);
  return autograd::record(out, "clone", {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

template <class T>
template <class U>
Tensor<U> Tensor<T>::to() const {
  auto out = Tensor<U>::empty(shape());
  U* o = out.data();
  const T* d = data();
  std::size_t k = 0;
  for_each_offset([&](index_t off) { o[k++] = static_cast<U>(d[off]); });
  return out;
}

template <class T>
Tensor<T>& Tensor<T>::fill_(T value) {
  BILIN_CHECK(!(autograd::is_grad_enabled() && requires_grad()), "fill_",
              "in-place change of a tensor that requires grad; wrap it in NoGradGuard");
  T* d = data();
  for_each_offset([&](index_t off) { d[off] = value; });
  return *this;
}

template <class T>
Tensor<T>& Tensor<T>::copy_(const Tensor& src) {
  BILIN_CHECK(!(autograd::is_grad_enabled() && requires_grad()), "copy_",
              "in-place change of a tensor that requires grad; wrap it in NoGradGuard");
  const Shape b = broadcast_shapes(src.shape(), shape(), "copy_");
  BILIN_CHECK(b == shape(), "copy_", "source shape ", to_string(src.shape()), " does not broadcast to ",
              to_string(shape()));
  kernels::strided_copy(shape(), src.data(), broadcast_strides(src.shape(), src.strides(), shape()), data(),
                        strides());
  return *this;
}

}  // namespace bilin
