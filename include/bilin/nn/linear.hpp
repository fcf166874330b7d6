// bilin/nn/linear.hpp — Linear: y = x·Wᵀ + b with PyTorch's parameter layout and init.
//
// Contract: weight [out, in], bias [out] when requested; parameters named "weight" and
// "bias" as in torch.nn.Linear, so state dicts map one to one. Input [..., in].
#pragma once
#include "../ops/linear.hpp"
#include "init.hpp"
#include "module.hpp"

namespace bilin::nn {

template <class T>
class Linear : public Layer<T> {
 public:
  Linear(index_t in_features, index_t out_features, bool bias, Generator& gen)
      : in_(in_features), out_(out_features) {
    BILIN_CHECK(in_features > 0 && out_features > 0, "Linear", "features must be positive, got ", in_features,
                " → ", out_features);
    weight = this->register_parameter("weight", init::linear_default<T>({out_, in_}, in_, gen));
    if (bias) this->bias = this->register_parameter("bias", init::linear_default<T>({out_}, in_, gen));
  }
  Tensor<T> forward(const Tensor<T>& x) override { return linear(x, weight, bias); }
  index_t in_features() const { return in_; }
  index_t out_features() const { return out_; }

  Tensor<T> weight, bias;

 private:
  index_t in_, out_;
};

}  // namespace bilin::nn
