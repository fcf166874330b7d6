// bilin/nn/module.hpp — named, ordered parameters and composition without macros.
//
// Contract:
// - A Module owns named parameters (tensors that require grad), named buffers (state that is
//   saved but not trained) and named child modules, all in registration order.
//   named_parameters()/state_dict() list them recursively with dotted names ("blocks.0.w"),
//   which are also the names used in checkpoints (matching PyTorch's state_dict naming).
// - Parameter handles returned by register_parameter share the tensor the module holds:
//   load_state_dict copies values *into* those tensors (shapes must match exactly), so every
//   handle stays valid. Missing or unexpected names throw in strict mode, naming them.
// - train()/eval() switch the mode of the whole tree (Dropout reads it).
// - Layer<T> is a Module with one tensor in and one tensor out (for Sequential).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"
#include "../ops/views.hpp"

namespace bilin::nn {

using bilin::NamedTensors;  // core/tensor.hpp; nn::NamedTensors stays a name for it

template <class T>
class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;  // parameters are shared handles: copying a module would alias them
  Module& operator=(const Module&) = delete;

  NamedTensors<T> named_parameters() const {
    NamedTensors<T> out;
    collect(out, "", true, false);
    return out;
  }
  std::vector<Tensor<T>> parameters() const {
    std::vector<Tensor<T>> out;
    for (auto& [n, t] : named_parameters()) out.push_back(t);
    return out;
  }
  NamedTensors<T> named_buffers() const {
    NamedTensors<T> out;
    collect(out, "", false, true);
    return out;
  }
  // Parameters and buffers, in registration order.
  NamedTensors<T> state_dict() const {
    NamedTensors<T> out;
    collect(out, "", true, true);
    return out;
  }
  void load_state_dict(const NamedTensors<T>& sd, bool strict = true) {
    std::map<std::string, Tensor<T>> given(sd.begin(), sd.end());
    NoGradGuard ng;
    std::vector<std::string> missing;
    for (auto& [name, t] : state_dict()) {
      auto it = given.find(name);
      if (it == given.end()) {
        missing.push_back(name);
        continue;
      }
      BILIN_CHECK(it->second.shape() == t.shape(), "load_state_dict", "'", name, "' has shape ",
                  to_string(it->second.shape()), " in the checkpoint but ", to_string(t.shape()), " in the model");
      Tensor<T> dst = t;
      dst.copy_(it->second);
      given.erase(it);
    }
    if (strict) {
      std::string m, u;
      for (auto& n : missing) m += (m.empty() ? "" : ", ") + n;
      for (auto& [n, t] : given) u += (u.empty() ? "" : ", ") + n;
      BILIN_CHECK(m.empty() && u.empty(), "load_state_dict", (m.empty() ? "" : "missing: " + m),
                  (m.empty() || u.empty() ? "" : "; "), (u.empty() ? "" : "unexpected: " + u));
    }
  }
  void zero_grad() {
    for (auto& t : parameters()) t.set_grad(Tensor<T>());
  }
  index_t num_parameters() const {
    index_t n = 0;
    for (auto& t : parameters()) n += t.numel();
    return n;
  }
  void train(bool on = true) {
    training_ = on;
    for (auto& [n, c] : children_) c->train(on);
  }
  void eval() { train(false); }
  bool is_training() const { return training_; }

 protected:
  Tensor<T> register_parameter(const std::string& name, Tensor<T> t) {
    check_name(name);
    t.requires_grad_(true);
    params_.emplace_back(name, t);
    return t;
  }
  Tensor<T> register_buffer(const std::string& name, Tensor<T> t) {
    check_name(name);
    buffers_.emplace_back(name, t);
    return t;
  }
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    check_name(name);
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void check_name(const std::string& name) const {
    BILIN_CHECK(!name.empty() && name.find('.') == std::string::npos, "register", "bad name '", name,
                "' (non-empty, no dots)");
    for (auto& [n, t] : params_) BILIN_CHECK(n != name, "register", "name '", name, "' is already used");
    for (auto& [n, t] : buffers_) BILIN_CHECK(n != name, "register", "name '", name, "' is already used");
    for (auto& [n, c] : children_) BILIN_CHECK(n != name, "register", "name '", name, "' is already used");
  }
  void collect(NamedTensors<T>& out, const std::string& prefix, bool params, bool buffers) const {
    if (params)
      for (auto& [n, t] : params_) out.emplace_back(prefix + n, t);
    if (buffers)
      for (auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
    for (auto& [n, c] : children_) c->collect(out, prefix + n + ".", params, buffers);
  }

  NamedTensors<T> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>> children_;
  bool training_ = true;
};

template <class T>
class Layer : public Module<T> {
 public:
  virtual Tensor<T> forward(const Tensor<T>& x) = 0;
  Tensor<T> operator()(const Tensor<T>& x) { return forward(x); }
};

// Children named "0", "1", ... applied in order.
template <class T>
class Sequential : public Layer<T> {
 public:
  Sequential() = default;
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> layer) {
    layers_.push_back(layer);
    return this->register_module(std::to_string(layers_.size() - 1), layer);
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    Tensor<T> h = x;
    for (auto& l : layers_) h = l->forward(h);
    return h;
  }
  std::size_t size() const { return layers_.size(); }
  std::shared_ptr<Layer<T>> operator[](std::size_t i) const { return layers_.at(i); }

 private:
  std::vector<std::shared_ptr<Layer<T>>> layers_;
};

}  // namespace bilin::nn
