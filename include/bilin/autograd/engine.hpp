// bilin/autograd/engine.hpp — the reverse sweep.
//
// Contract: t.backward() (t has one element) or t.backward(seed) (seed has t's shape) visits
// the graph below t once, in an explicit reverse topological order (no recursion, so deep
// graphs cannot overflow the stack). Each node's input gradients are summed back to the
// input's shape when broadcasting expanded it, then accumulated: leaves that require grad add
// into .grad() (across backward calls too, until zero_grad()), non-leaves only keep theirs
// when retain_grad() was called. Without retain_graph the nodes' saved tensors are freed and
// a second backward through them throws. Gradients are computed with grad mode off.
#pragma once
#include <unordered_map>
#include <unordered_set>

#include "../core/tensor.hpp"
#include "../kernels/reduce.hpp"
#include "untracked.hpp"

namespace bilin {

// Sum `g` down to `shape` over the axes that broadcasting expanded (the engine's one place
// for undoing broadcasting; the same kernel as the sum op's forward).
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  BILIN_CHECK(broadcast_shapes(shape, g.shape(), "sum_to") == g.shape(), "sum_to", "gradient of shape ",
              to_string(g.shape()), " does not broadcast from ", to_string(shape));
  const std::size_t lead = g.shape().size() - shape.size();
  std::vector<bool> reduce(g.shape().size());
  for (std::size_t i = 0; i < g.shape().size(); ++i)
    reduce[i] = i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1);
  auto out = Tensor<T>::empty(shape);
  kernels::sum_axes(g.shape(), g.data(), g.strides(), reduce, out.data());
  return out;
}

}  // namespace bilin

namespace bilin::autograd {

template <class T>
void run_backward(const Tensor<T>& root, const Tensor<T>& seed, bool retain_graph) {
  using Impl = TensorImpl<T>;
  NoGradGuard ng;
  BILIN_CHECK(root.requires_grad(), "backward",
              "the tensor does not require grad (no parameter with requires_grad_() was used to compute it)");
  BILIN_CHECK(seed.shape() == root.shape(), "backward", "seed gradient of shape ", to_string(seed.shape()),
              " does not match the tensor's shape ", to_string(root.shape()));

  // Topological order of the non-leaf tensors below root (iterative post-order DFS).
  // shared_ptrs, not raw pointers: releasing a node's inputs mid-sweep must not free tensors
  // that are still waiting in the order.
  using ImplPtr = std::shared_ptr<Impl>;
  std::vector<ImplPtr> order;
  std::unordered_set<Impl*> visited;
  std::vector<std::pair<ImplPtr, std::size_t>> stack{{root.impl_ptr(), 0}};
  visited.insert(root.impl_ptr().get());
  while (!stack.empty()) {
    auto& [impl, next] = stack.back();
    Node<T>* node = impl->grad_fn.get();
    if (node && node->released)
      throw Error("backward", msg("the graph through '", node->name,
                                  "' was already freed by an earlier backward(); pass retain_graph = true "
                                  "to the first call to run backward twice"));
    if (node && next < node->inputs.size()) {
      const ImplPtr& child = node->inputs[next++].impl_ptr();
      if (child && child->grad_fn && visited.insert(child.get()).second) stack.push_back({child, 0});
    } else {
      order.push_back(impl);
      stack.pop_back();
    }
  }

  std::unordered_map<Impl*, Tensor<T>> grads;
  grads[root.impl_ptr().get()] = seed;
  auto accumulate_leaf = [](const Tensor<T>& leaf, const Tensor<T>& g) {
    Tensor<T> cur = leaf.grad();
    if (!cur.defined()) {
      const_cast<Tensor<T>&>(leaf).set_grad(detail::contiguous_copy(g));  // own the buffer
    } else {
      kernels::map_binary(cur.shape(), cur.data(), cur.strides(), g.data(), g.strides(), cur.data(),
                          [](auto a, auto b) { return a + b; });
    }
  };

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Impl* impl = it->get();
    auto found = grads.find(impl);
    if (found == grads.end()) continue;
    Tensor<T> g = found->second;
    grads.erase(found);
    if (impl->retains_grad && impl->grad_fn) {
      Tensor<T> gcopy = detail::contiguous_copy(g);
      if (impl->grad) {
        Tensor<T> cur(impl->grad);
        kernels::map_binary(cur.shape(), cur.data(), cur.strides(), gcopy.data(), gcopy.strides(), cur.data(),
                            [](auto a, auto b) { return a + b; });
      } else {
        impl->grad = gcopy.impl_ptr();
      }
    }
    Node<T>* node = impl->grad_fn.get();
    if (!node) {  // backward() called on a leaf itself
      accumulate_leaf(Tensor<T>(std::shared_ptr<Impl>(root.impl_ptr())), g);
      continue;
    }
    std::vector<Tensor<T>> in_grads = node->backward(g);
    BILIN_CHECK(in_grads.size() == node->inputs.size(), "backward", "op '", node->name, "' returned ",
                in_grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (std::size_t i = 0; i < in_grads.size(); ++i) {
      const Tensor<T>& input = node->inputs[i];
      if (!input.defined() || !input.requires_grad() || !in_grads[i].defined()) continue;
      Tensor<T> gi = sum_to(in_grads[i], input.shape());
      if (input.is_leaf()) {
        accumulate_leaf(input, gi);
      } else {
        auto [slot, fresh] = grads.try_emplace(input.impl_ptr().get(), gi);
        if (!fresh) slot->second = detail::zip(slot->second, gi, "backward", [](auto a, auto b) { return a + b; });
      }
    }
    if (!retain_graph) {
      node->backward = nullptr;
      node->inputs.clear();
      node->released = true;
    }
  }
}

}  // namespace bilin::autograd

namespace bilin {

template <class T>
void Tensor<T>::backward(bool retain_graph) {
  BILIN_CHECK(numel() == 1, "backward", "called without a seed gradient on a tensor of shape ",
              to_string(shape()), "; backward() needs a single-element tensor or an explicit seed of that shape");
  autograd::run_backward(*this, Tensor<T>::ones(shape()), retain_graph);
}

template <class T>
void Tensor<T>::backward(const Tensor<T>& seed, bool retain_graph) {
  autograd::run_backward(*this, seed, retain_graph);
}

}  // namespace bilin
