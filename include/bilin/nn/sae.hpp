// bilin/nn/sae.hpp — the TopK sparse autoencoder of the paper's official code (src/sae/sae.py,
// after Gao et al. 2024).
//
// Contract:
// - SaeConfig: d (input width), n_latents (= expansion·d), k, relu (false: the official TopK
//   keeps the k largest pre-activations whatever their sign; true: ReLU after the selection).
//   validate() throws bilin::Error("SAE", …) naming the bad field: d ≤ 0, n ≤ 0, k ≤ 0, k ≥ n.
// - TopKSAE(config, gen): parameters named as the official state dict, "w_enc.weight" [n, d],
//   "w_dec.weight" [d, n], "b_dec" [d]; no encoder bias. Init: decoder columns drawn from a
//   Gaussian and normalised to unit length, W_enc = W_decᵀ (tied init), b_dec = 0.
// - encode(x [B, d]) → SparseCode {values [B, k], indices [B, k]}: h = TopK(W_enc (x − b_dec));
//   decode(code) → x̂ = W_dec h + b_dec; forward(x) = decode(encode(x)); loss(x) = mean squared
//   error over all elements (the official loss). All differentiable (ops/sparse_code.hpp; only
//   the encoder's forward is dense). dense_codes(x) gives h as a dense [B, n] matrix.
// - normalize_decoder() rescales every decoder column to unit length (ConstrainedAdam does it
//   after each step; optim/constrained_adam.hpp).
// - An input whose width is not d throws bilin::Error naming both widths.
#pragma once
#include <cmath>
#include <memory>

#include "../kernels/columns.hpp"
#include "../ops/sparse_code.hpp"
#include "../ops/softmax.hpp"
#include "linear.hpp"
#include "module.hpp"

namespace bilin::nn {

struct SaeConfig {
  index_t d = 0, n_latents = 0, k = 0;
  bool relu = false;

  static SaeConfig with_expansion(index_t d, index_t expansion, index_t k, bool relu = false) {
    BILIN_CHECK(expansion > 0, "SAE", "expansion must be positive, got ", expansion);
    return SaeConfig{d, d * expansion, k, relu};
  }
  void validate() const {
    BILIN_CHECK(d > 0, "SAE", "d must be positive, got ", d);
    BILIN_CHECK(n_latents > 0, "SAE", "the number of latents must be positive, got ", n_latents);
    BILIN_CHECK(k > 0 && k < n_latents, "SAE", "k = ", k, " must satisfy 0 < k < n = ", n_latents, " latents");
  }
};

template <class T>
class TopKSAE : public Module<T> {
 public:
  TopKSAE(const SaeConfig& config, Generator& gen) : config_((config.validate(), config)) {
    const index_t d = config_.d, n = config_.n_latents;
    w_enc = this->register_module("w_enc", std::make_shared<Linear<T>>(d, n, false, gen));
    w_dec = this->register_module("w_dec", std::make_shared<Linear<T>>(n, d, false, gen));
    b_dec = this->register_parameter("b_dec", Tensor<T>::zeros({d}));
    NoGradGuard ng;
    const Tensor<T> init = Tensor<T>::randn({d, n}, gen);
    std::copy_n(init.data(), init.numel(), w_dec->weight.data());
    normalize_decoder();
    for (index_t i = 0; i < d; ++i)
      for (index_t j = 0; j < n; ++j) w_enc->weight.data()[j * d + i] = w_dec->weight.data()[i * n + j];
  }

  const SaeConfig& config() const { return config_; }
  index_t d() const { return config_.d; }
  index_t n_latents() const { return config_.n_latents; }
  index_t k() const { return config_.k; }
  const Tensor<T>& encoder() const { return w_enc->weight; }  // [n, d]
  const Tensor<T>& decoder() const { return w_dec->weight; }  // [d, n]

  SparseCode<T> encode(const Tensor<T>& x) {
    check_input(x);
    return topk_encode(x, w_enc->weight, b_dec, config_.k, config_.relu);
  }
  Tensor<T> decode(const SparseCode<T>& c) { return sparse_decode(c.values, c.indices, w_dec->weight, b_dec); }
  Tensor<T> forward(const Tensor<T>& x) { return decode(encode(x)); }
  Tensor<T> loss(const Tensor<T>& x) { return mse(forward(x), x.detach()); }
  Tensor<T> dense_codes(const Tensor<T>& x) {
    NoGradGuard ng;
    const SparseCode<T> c = encode(x);
    return bilin::dense_codes(c.values, c.indices, config_.n_latents);
  }

  void normalize_decoder() {
    NoGradGuard ng;
    kernels::normalize_columns(w_dec->weight.data(), config_.d, config_.n_latents);
  }

  std::shared_ptr<Linear<T>> w_enc, w_dec;
  Tensor<T> b_dec;

 private:
  void check_input(const Tensor<T>& x) const {
    BILIN_CHECK(x.dim() == 2 && x.size(1) == config_.d, "SAE", "input of shape ", to_string(x.shape()),
                " does not match the SAE's d = ", config_.d, " (expected [B, ", config_.d, "])");
  }
  SaeConfig config_;
};

}  // namespace bilin::nn
