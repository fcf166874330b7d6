// bilin/nn/rmsnorm.hpp — RMSNorm layer.
//
// Contract: RMSNorm(dim, eps = 1e-8, affine = false): y = x / √(mean(x², −1) + eps), times a
// learned "weight" [dim] (initialized to ones) when affine. The default is the official
// bilinear-decomposition RMSNorm (no parameters, eps 1e-8). Input [..., dim]; the fused op with
// its backward is ops/rmsnorm.hpp.
#pragma once
#include "../ops/rmsnorm.hpp"
#include "module.hpp"

namespace bilin::nn {

template <class T>
class RMSNorm : public Layer<T> {
 public:
  explicit RMSNorm(index_t dim, double eps = 1e-8, bool affine = false) : dim_(dim), eps_(eps) {
    BILIN_CHECK(dim > 0, "RMSNorm", "dim must be positive, got ", dim);
    BILIN_CHECK(eps >= 0, "RMSNorm", "eps must be >= 0, got ", eps);
    if (affine) weight = this->register_parameter("weight", Tensor<T>::ones({dim}));
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    BILIN_CHECK(x.dim() >= 1 && x.size(-1) == dim_, "RMSNorm", "input of shape ", to_string(x.shape()),
                " does not end in dim = ", dim_);
    return rms_norm(x, weight, eps_);
  }
  index_t dim() const { return dim_; }
  double eps() const { return eps_; }
  bool affine() const { return weight.defined(); }

  Tensor<T> weight;  // undefined unless affine

 private:
  index_t dim_;
  double eps_;
};

}  // namespace bilin::nn
