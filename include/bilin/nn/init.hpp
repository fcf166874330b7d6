// bilin/nn/init.hpp — seeded initializers matching PyTorch's defaults.
//
// Contract: linear_default(shape, fan_in, gen) draws U(−1/√fan_in, 1/√fan_in), which is what
// PyTorch's nn.Linear gives both its weight (kaiming_uniform_ with a = √5) and its bias.
// normal(shape, gen, std) draws N(0, std²) (nn.Embedding uses std = 1).
#pragma once
#include <cmath>

#include "../core/tensor.hpp"

namespace bilin::nn::init {

template <class T>
Tensor<T> linear_default(const Shape& shape, index_t fan_in, Generator& gen) {
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  return Tensor<T>::uniform(shape, gen, -bound, bound);
}

template <class T>
Tensor<T> normal(const Shape& shape, Generator& gen, double stddev = 1.0) {
  return Tensor<T>::randn(shape, gen, 0.0, stddev);
}

}  // namespace bilin::nn::init
