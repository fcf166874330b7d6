// bilin/autograd/untracked.hpp — tensor results that record nothing in the graph.
//
// Contract: contiguous_copy(src) returns a fresh contiguous copy of any view; zip(a, b, name, f)
// returns a fresh contiguous tensor f(a, b) over the NumPy broadcast of the two shapes (a
// bilin::Error naming `name` and both shapes when they do not broadcast). Neither records a
// node, whatever the grad mode. Why here, below ops/: the reverse sweep (engine.hpp) needs
// exactly these to own and add gradients, and ops' forwards and backwards use the same two.
#pragma once
#include "../core/tensor.hpp"
#include "../kernels/elementwise.hpp"

namespace bilin::detail {

// Copy `src` (any strides) into a fresh contiguous tensor without recording anything.
template <class T>
Tensor<T> contiguous_copy(const Tensor<T>& src) {
  auto out = Tensor<T>::empty(src.shape());
  kernels::strided_copy(src.shape(), src.data(), src.strides(), out.data(), out.strides());
  return out;
}

// out = f(a, b) with broadcasting, no graph.
template <class T, class F>
Tensor<T> zip(const Tensor<T>& a, const Tensor<T>& b, const char* name, F f) {
  const Shape s = broadcast_shapes(a.shape(), b.shape(), name);
  auto out = Tensor<T>::empty(s);
  kernels::map_binary(s, a.data(), broadcast_strides(a.shape(), a.strides(), s), b.data(),
                      broadcast_strides(b.shape(), b.strides(), s), out.data(), f);
  return out;
}

}  // namespace bilin::detail
