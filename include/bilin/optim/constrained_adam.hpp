// bilin/optim/constrained_adam.hpp — Adam whose constrained matrices keep unit-norm columns
// (the official SAE optimizer, `ConstrainedAdam` in tdooms/bilinear-decomposition src/sae).
//
// Contract: ConstrainedAdam(params, constrained, options) is optim::AdamW over all params
// (options.decoupled = false and weight_decay = 0 by default: torch.optim.Adam) plus, for every
// tensor in `constrained` (each a 2-D parameter that is also in params, e.g. an SAE decoder
// [d, n]): before the Adam step, each column of its gradient loses its component along the
// same column of the parameter (kernels::remove_column_components); after the step, each
// column is rescaled to unit length. State and checkpoints are AdamW's (kind "adam").
// A constrained tensor that is not 2-D or not among params throws bilin::Error("constrained_adam", …).
#pragma once
#include "../kernels/columns.hpp"
#include "adamw.hpp"

namespace bilin::optim {

inline AdamWOptions adam_options(double lr) {
  AdamWOptions o;
  o.lr = lr;
  o.weight_decay = 0;
  o.decoupled = false;
  return o;
}

template <class T>
class ConstrainedAdam : public AdamW<T> {
 public:
  ConstrainedAdam(std::vector<Tensor<T>> params, std::vector<Tensor<T>> constrained, const AdamWOptions& opt)
      : AdamW<T>(params, opt), constrained_(std::move(constrained)) {
    for (const auto& c : constrained_) {
      BILIN_CHECK(c.dim() == 2, "constrained_adam", "constrained tensors must be matrices, got shape ",
                  to_string(c.shape()));
      bool found = false;
      for (const auto& p : this->params()) found = found || p.data() == c.data();
      BILIN_CHECK(found, "constrained_adam", "constrained tensor of shape ", to_string(c.shape()),
                  " is not one of the optimized parameters");
    }
  }

  void step() override {
    NoGradGuard ng;
    for (auto& c : constrained_) {
      Tensor<T> g = c.grad();
      if (g.defined()) kernels::remove_column_components(g.data(), c.data(), c.size(0), c.size(1));
    }
    AdamW<T>::step();
    for (auto& c : constrained_) kernels::normalize_columns(c.data(), c.size(0), c.size(1));
  }

 private:
  std::vector<Tensor<T>> constrained_;
};

}  // namespace bilin::optim
