// bilin/nn/dropout.hpp — inverted dropout, seeded and reproducible.
//
// Contract: Dropout(p, seed). In training mode each element is kept with probability 1 − p and
// scaled by 1/(1 − p), zeroed otherwise (torch.nn.Dropout); in eval mode, or with p = 0, the
// input is returned unchanged. The mask comes from the layer's own counter-based Generator, so
// a run is reproducible for any thread count; generator() exposes its (seed, counter) state for
// checkpoints. p must be in [0, 1); the gradient flows through the same mask.
#pragma once
#include "../ops/elementwise.hpp"
#include "module.hpp"

namespace bilin::nn {

template <class T>
class Dropout : public Layer<T> {
 public:
  explicit Dropout(double p, std::uint64_t seed = 0) : p_(p), gen_(seed) {
    BILIN_CHECK(p >= 0 && p < 1, "Dropout", "p must be in [0, 1), got ", p);
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    if (!this->is_training() || p_ == 0) return x;
    auto mask = Tensor<T>::empty(x.shape());
    gen_.fill_uniform(mask.data(), mask.numel(), 0.0, 1.0);
    const T p = static_cast<T>(p_), scale = static_cast<T>(1.0 / (1.0 - p_));
    T* m = mask.data();
    const index_t n = mask.numel();
#pragma omp parallel for simd schedule(static) if (n >= kernels::kParallelGrain && !omp_in_parallel())
    for (index_t i = 0; i < n; ++i) m[i] = m[i] >= p ? scale : T(0);
    return x * mask;
  }
  double p() const { return p_; }
  Generator& generator() { return gen_; }

 private:
  double p_;
  Generator gen_;
};

}  // namespace bilin::nn
