// bilin/optim/sgd.hpp — stochastic gradient descent with momentum / Nesterov, PyTorch equations.
//
// Contract (PyTorch 1.13 torch.optim.SGD, maximize = False), for each parameter p with
// gradient g:
//   d ← g + wd·p                                   (when weight_decay ≠ 0)
//   momentum ≠ 0:  b ← d on the parameter's first step, else b ← μ·b + (1 − dampening)·d
//                  d ← d + μ·b (nesterov) or d ← b
//   p ← p − lr·d
// State: "momentum_buffer.i" once parameter i has taken a step with momentum ≠ 0.
// Nesterov requires momentum > 0 and dampening = 0 (as in PyTorch).
#pragma once
#include "optimizer.hpp"

namespace bilin::optim {

struct SGDOptions {
  double lr = 1e-2, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};

template <class T>
class SGD : public Optimizer<T> {
 public:
  SGD(std::vector<Tensor<T>> params, const SGDOptions& opt = {}) : Optimizer<T>(std::move(params), opt.lr), opt_(opt) {
    BILIN_CHECK(opt.momentum >= 0 && opt.weight_decay >= 0, "sgd", "momentum and weight_decay must be >= 0, got ",
                opt.momentum, ", ", opt.weight_decay);
    BILIN_CHECK(!opt.nesterov || (opt.momentum > 0 && opt.dampening == 0), "sgd",
                "nesterov momentum requires momentum > 0 and dampening = 0");
  }

  std::string kind() const override { return "sgd"; }
  const SGDOptions& options() const { return opt_; }

  void step() override {
    NoGradGuard ng;
    const T lr = static_cast<T>(this->lr_), wd = static_cast<T>(opt_.weight_decay);
    const T mu = static_cast<T>(opt_.momentum), keep = static_cast<T>(1.0 - opt_.dampening);
    const bool has_wd = opt_.weight_decay != 0, has_mom = opt_.momentum != 0, nesterov = opt_.nesterov;
    if (buf_.size() < this->params_.size()) buf_.resize(this->params_.size());
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      Tensor<T>& p = this->params_[i];
      const Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      BILIN_CHECK(g.shape() == p.shape() && g.is_contiguous(), "sgd", "gradient of parameter ", i, " has shape ",
                  to_string(g.shape()), ", parameter has ", to_string(p.shape()));
      const bool first = !buf_[i].defined();
      if (has_mom && first) buf_[i] = Tensor<T>::empty(p.shape());
      T* pp = p.data();
      const T* gp = g.data();
      T* bp = has_mom ? buf_[i].data() : nullptr;
      const index_t n = p.numel();
#pragma omp parallel for simd schedule(static) if (n >= 4 * detail::kUpdateChunk && !omp_in_parallel())
      for (index_t j = 0; j < n; ++j) {
        T d = gp[j];
        if (has_wd) d = d + wd * pp[j];
        if (has_mom) {
          const T b = first ? d : mu * bp[j] + keep * d;
          bp[j] = b;
          d = nesterov ? d + mu * b : b;
        }
        pp[j] = pp[j] - lr * d;
      }
    }
    ++this->steps_;
  }

  NamedTensors<T> state_dict() const override {
    NamedTensors<T> out = Optimizer<T>::state_dict();
    this->export_buffers(out, "momentum_buffer", buf_);
    return out;
  }
  void load_state_dict(const NamedTensors<T>& sd) override {
    Optimizer<T>::load_state_dict(sd);
    this->import_buffers(sd, "momentum_buffer", buf_);
  }

 private:
  SGDOptions opt_;
  std::vector<Tensor<T>> buf_;
};

}  // namespace bilin::optim
