// bilin/autograd/function.hpp — how an op attaches itself to the graph.
//
// Contract: record(out, name, inputs, backward) returns `out`, and when grad mode is on and
// some input requires grad, first gives `out` a Node holding the inputs and the backward
// closure. The closure receives dL/d(out) and returns one gradient per input (undefined for
// inputs that need none). It may return gradients of the *broadcast* shape: the engine reduces
// them to each input's shape (autograd/engine.hpp). A closure must not capture `out` itself
// (that would make a reference cycle); capture out.detach() instead.
#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "../core/tensor.hpp"

namespace bilin::autograd {

template <class T>
bool any_requires_grad(const std::vector<Tensor<T>>& inputs) {
  if (!is_grad_enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

template <class T, class F>
Tensor<T> record(Tensor<T> out, const char* name, std::vector<Tensor<T>> inputs, F&& backward) {
  if (!any_requires_grad(inputs)) return out;
  auto node = std::make_shared<Node<T>>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::forward<F>(backward);
  out.set_history(std::move(node));
  return out;
}

}  // namespace bilin::autograd
