// bilin/nn/attention.hpp — causal multi-head self-attention with rotary position embeddings.
//
// Contract:
// - CausalSelfAttention(d_model, n_head, n_ctx, gen, bias = false, rope_base = 10000,
//   o_bias = bias) owns "qkv.weight" [3·d_model, d_model] (rows [q | k | v], heads contiguous
//   inside each part) and "o.weight" [d_model, d_model] (+ "qkv.bias" when bias, "o.bias" when
//   o_bias), the parameter names and layout of the official bilinear-decomposition Attention,
//   with PyTorch's default Linear init. (The authors' later code has a qkv bias but never an
//   output bias, hence the separate switch.)
// - forward(x [B, T, d_model]), T <= n_ctx: qkv = x·Wqkvᵀ, RoPE on q and k (d_head = d_model /
//   n_head, positions 0..T−1), fused causal softmax(q kᵀ/√d_head) v (ops/attention.hpp), output
//   projection. Differentiable.
// - forward_step(x [T_new, d_model], cache) is inference for ONE sequence with a key/value
//   cache: the new rows sit at positions cache.len .. cache.len + T_new − 1, their rotated keys
//   and values are appended to the cache, and each new query attends to every cached key up
//   to its own position. Cost per new token is O(cache.len · d_model). Throws when the cache
//   would exceed its capacity (n_ctx positions). No gradient is recorded.
#pragma once
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "../ops/attention.hpp"
#include "../ops/rope.hpp"
#include "linear.hpp"

namespace bilin::nn {

// Rotated keys and values of one sequence in one attention layer.
template <class T>
struct AttentionCache {
  index_t capacity = 0, d_model = 0, len = 0;
  std::vector<T> k, v;  // [capacity, d_model] each, first `len` rows valid
  AttentionCache() = default;
  AttentionCache(index_t cap, index_t d) : capacity(cap), d_model(d), k(static_cast<std::size_t>(cap * d)), v(k.size()) {}
  void clear() { len = 0; }
};

template <class T>
class CausalSelfAttention : public Layer<T> {
 public:
  CausalSelfAttention(index_t d_model, index_t n_head, index_t n_ctx, Generator& gen, bool bias = false,
                      double rope_base = 10000.0, std::optional<bool> o_bias = std::nullopt)
      : d_model_(d_model), n_head_(n_head), n_ctx_(n_ctx) {
    BILIN_CHECK(n_head > 0 && d_model > 0 && d_model % n_head == 0, "CausalSelfAttention", "d_model = ", d_model,
                " is not divisible by n_head = ", n_head);
    BILIN_CHECK((d_model / n_head) % 2 == 0, "CausalSelfAttention", "d_head = ", d_model / n_head,
                " must be even for rotary embeddings");
    BILIN_CHECK(n_ctx > 0, "CausalSelfAttention", "n_ctx must be positive, got ", n_ctx);
    qkv = this->register_module("qkv", std::make_shared<Linear<T>>(d_model, 3 * d_model, bias, gen));
    o = this->register_module("o", std::make_shared<Linear<T>>(d_model, d_model, o_bias.value_or(bias), gen));
    rope_table_ = RopeTable<T>(d_model / n_head, n_ctx, rope_base);
  }

  Tensor<T> forward(const Tensor<T>& x) override {
    BILIN_CHECK(x.dim() == 3 && x.size(2) == d_model_, "CausalSelfAttention", "input must be [B, T, ", d_model_,
                "], got ", to_string(x.shape()));
    BILIN_CHECK(x.size(1) <= n_ctx_, "CausalSelfAttention", "sequence length ", x.size(1), " exceeds n_ctx = ",
                n_ctx_);
    Tensor<T> p = rope(qkv->forward(x), rope_table_, 2 * d_model_);
    return o->forward(causal_attention(p, n_head_));
  }

  Tensor<T> forward_step(const Tensor<T>& x, AttentionCache<T>& cache) {
    NoGradGuard ng;
    BILIN_CHECK(x.dim() == 2 && x.size(1) == d_model_, "CausalSelfAttention", "forward_step input must be [T_new, ",
                d_model_, "], got ", to_string(x.shape()));
    BILIN_CHECK(cache.d_model == d_model_ && cache.capacity <= n_ctx_, "CausalSelfAttention",
                "cache was made for d_model ", cache.d_model, " / capacity ", cache.capacity, ", layer has d_model ",
                d_model_, " / n_ctx ", n_ctx_);
    const index_t tn = x.size(0), D = d_model_, dh = D / n_head_, pos = cache.len;
    BILIN_CHECK(pos + tn <= cache.capacity, "CausalSelfAttention", "cache holds ", pos, " of ", cache.capacity,
                " positions; cannot add ", tn, " more");
    const Tensor<T> p = rope(qkv->forward(x).unsqueeze(0), rope_table_, 2 * D, pos);  // [1, tn, 3D]
    const T* pd = p.data();
    for (index_t t = 0; t < tn; ++t) {
      std::copy_n(pd + t * 3 * D + D, D, cache.k.data() + (pos + t) * D);
      std::copy_n(pd + t * 3 * D + 2 * D, D, cache.v.data() + (pos + t) * D);
    }
    cache.len = pos + tn;
    auto z = Tensor<T>::empty({tn, D});
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(dh)));
#pragma omp parallel if (n_head_ > 1 && tn * cache.len * D >= (1 << 16) && !omp_in_parallel())
    {
      kernels::AttnScratch<T> scratch;
#pragma omp for schedule(static)
      for (index_t h = 0; h < n_head_; ++h)
        kernels::attention_forward_head(pd + h * dh, 3 * D, cache.k.data() + h * dh, D, cache.v.data() + h * dh, D,
                                        z.data() + h * dh, D, static_cast<T*>(nullptr), tn, pos, dh, scale, scratch);
    }
    return o->forward(z);
  }

  AttentionCache<T> make_cache() const { return AttentionCache<T>(n_ctx_, d_model_); }
  index_t d_model() const { return d_model_; }
  index_t n_head() const { return n_head_; }
  index_t n_ctx() const { return n_ctx_; }
  const RopeTable<T>& rope_table() const { return rope_table_; }

  std::shared_ptr<Linear<T>> qkv, o;

 private:
  index_t d_model_, n_head_, n_ctx_;
  RopeTable<T> rope_table_;
};

}  // namespace bilin::nn
