// bilin/nn/transformer.hpp — the decoder-only language model of the bilinear-decomposition
// paper (tdooms/bilinear-decomposition src/language/transformer.py).
//
// Contract:
// - TransformerConfig: vocab, n_layer, d_model, n_head, d_hidden, n_ctx, mlp kind (bilinear
//   default; glu-relu/glu-silu/glu-gelu; plain relu), bias (false), norm (true: RMSNorm, false:
//   identity), norm_affine (false: the official RMSNorm has no weight), norm_eps (1e-8),
//   rope_base (10000), attn_scale (true: the official x + attn(n1(x)) / √(2·n_layer)),
//   qkv_bias / o_bias (true: which attention projections get a bias when bias is on; the
//   authors' later code has bias on the MLP and qkv only).
//   to_json()/from_json() round-trip it (checkpoint metadata); validate() throws
//   bilin::Error("TransformerConfig", ...) naming the bad field.
// - Transformer(config, gen): token embedding → n_layer blocks
//       x = x + s · attn(n1(x));   x = x + mlp(n2(x))          (s = 1/√(2·n_layer) or 1)
//   → final norm n_f → untied unembedding lm_head (no bias). Attention: causal, multi-head,
//   rotary (nn/attention.hpp); MLP: nn::MLP(d_model, d_hidden, kind), whose parameter count
//   follows the paper's code (bilinear/GLU up-projection 2·d_hidden·d_model, ReLU
//   d_hidden·d_model, down d_model·d_hidden).
// - Parameter names mirror the official state dict ("transformer.wte.weight",
//   "transformer.h.{i}.attn.qkv.weight", "transformer.h.{i}.attn.o.weight", "lm_head.weight"),
//   except that nn::MLP calls the MLP's two layers "up"/"down" where the official code says
//   "w"/"p"; official_name() maps a bilin name to the official one.
// - forward(ids [B, T]) → logits [B, T, vocab]; loss(ids, targets) = mean cross-entropy over all
//   B·T positions (targets[b][t] is the token after ids[b][t]), computed by the fused
//   unembedding + cross-entropy op (ops/lm_head.hpp) so the full logits never exist. T <= n_ctx.
// - forward_step(ids of new tokens, caches) runs one sequence incrementally with a per-layer
//   key/value cache (make_caches()) and returns the logits of the last new token [vocab].
// - Hook points (the official Sight names): resid_pre (block input), resid_mid (residual after
//   attention, input of n2), mlp_in (n2's output), mlp_out (MLP output before the residual add),
//   resid_post (block output). run_hooked(ids, last_layer, hook) runs blocks 0..last_layer only
//   (no final norm, no logits) and calls hook(layer, point, activation [B, T, d_model]) at every
//   hook point of those layers; the tensor it returns replaces the activation from there on, so
//   one entry point serves reading (return it unchanged) and patching (return a reconstruction
//   or zeros). loss_hooked(ids, targets, hook) is loss() with the hook applied in every layer.
#pragma once
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../io/json.hpp"
#include "../ops/lm_head.hpp"
#include "../ops/softmax.hpp"
#include "attention.hpp"
#include "bilinear.hpp"
#include "embedding.hpp"
#include "rmsnorm.hpp"

namespace bilin::nn {

enum class HookPoint { ResidPre, ResidMid, MlpIn, MlpOut, ResidPost };
inline constexpr HookPoint kHookPoints[] = {HookPoint::ResidPre, HookPoint::ResidMid, HookPoint::MlpIn,
                                            HookPoint::MlpOut, HookPoint::ResidPost};

inline const char* hook_point_name(HookPoint h) {
  switch (h) {
    case HookPoint::ResidPre: return "resid_pre";
    case HookPoint::ResidMid: return "resid_mid";
    case HookPoint::MlpIn: return "mlp_in";
    case HookPoint::MlpOut: return "mlp_out";
    case HookPoint::ResidPost: return "resid_post";
  }
  return "?";
}

// Accepts the official names with '_' or '-' ("mlp_out", "mlp-out").
inline HookPoint parse_hook_point(std::string name) {
  for (auto& c : name)
    if (c == '-') c = '_';
  for (HookPoint h : kHookPoints)
    if (name == hook_point_name(h)) return h;
  throw Error("HookPoint", msg("unknown hook point '", name, "' (expected resid_pre, resid_mid, mlp_in, mlp_out or ",
                               "resid_post)"));
}

struct TransformerConfig {
  index_t vocab = 4096, n_layer = 4, d_model = 256, n_head = 4, d_hidden = 1024, n_ctx = 256;
  MlpKind mlp = MlpKind::Bilinear;
  bool bias = false;
  bool norm = true;
  bool norm_affine = false;
  double norm_eps = 1e-8;
  double rope_base = 10000.0;
  bool attn_scale = true;
  bool qkv_bias = true, o_bias = true;

  index_t d_head() const { return n_head > 0 ? d_model / n_head : 0; }
  double attn_residual_scale() const { return attn_scale ? 1.0 / std::sqrt(2.0 * static_cast<double>(n_layer)) : 1.0; }

  void validate() const {
    auto pos = [](index_t v, const char* name) {
      BILIN_CHECK(v > 0, "TransformerConfig", name, " must be positive, got ", v);
    };
    pos(vocab, "vocab");
    pos(n_layer, "n_layer");
    pos(d_model, "d_model");
    pos(n_head, "n_head");
    pos(d_hidden, "d_hidden");
    pos(n_ctx, "n_ctx");
    BILIN_CHECK(d_model % n_head == 0, "TransformerConfig", "d_model = ", d_model, " is not divisible by n_head = ",
                n_head);
    BILIN_CHECK(d_head() % 2 == 0, "TransformerConfig", "d_head = ", d_head(), " must be even (rotary embeddings)");
    BILIN_CHECK(norm_eps >= 0, "TransformerConfig", "norm_eps must be >= 0, got ", norm_eps);
    BILIN_CHECK(rope_base > 1, "TransformerConfig", "rope_base must be > 1, got ", rope_base);
  }

  json::Value to_json_value() const {
    json::Value v = json::Value::object();
    v["vocab"] = vocab;
    v["n_layer"] = n_layer;
    v["d_model"] = d_model;
    v["n_head"] = n_head;
    v["d_hidden"] = d_hidden;
    v["n_ctx"] = n_ctx;
    v["mlp"] = mlp_kind_name(mlp);
    v["bias"] = bias;
    v["norm"] = norm;
    v["norm_affine"] = norm_affine;
    v["norm_eps"] = norm_eps;
    v["rope_base"] = rope_base;
    v["attn_scale"] = attn_scale;
    if (!qkv_bias) v["qkv_bias"] = false;  // written only when not the default, so older readers see no change
    if (!o_bias) v["o_bias"] = false;
    return v;
  }
  std::string to_json() const { return to_json_value().dump(); }

  static TransformerConfig from_json_value(const json::Value& v) {
    BILIN_CHECK(v.is_object(), "TransformerConfig", "config JSON must be an object, got ", v.type_name());
    TransformerConfig c;
    auto get_int = [&](const char* k, index_t& dst) {
      const json::Value* f = v.find(k);
      BILIN_CHECK(f, "TransformerConfig", "config JSON lacks '", k, "'");
      dst = f->as_int();
    };
    get_int("vocab", c.vocab);
    get_int("n_layer", c.n_layer);
    get_int("d_model", c.d_model);
    get_int("n_head", c.n_head);
    get_int("d_hidden", c.d_hidden);
    get_int("n_ctx", c.n_ctx);
    if (const auto* f = v.find("mlp")) c.mlp = parse_mlp_kind(f->as_string());
    if (const auto* f = v.find("bias")) c.bias = f->as_bool();
    if (const auto* f = v.find("norm")) c.norm = f->as_bool();
    if (const auto* f = v.find("norm_affine")) c.norm_affine = f->as_bool();
    if (const auto* f = v.find("norm_eps")) c.norm_eps = f->as_double();
    if (const auto* f = v.find("rope_base")) c.rope_base = f->as_double();
    if (const auto* f = v.find("attn_scale")) c.attn_scale = f->as_bool();
    if (const auto* f = v.find("qkv_bias")) c.qkv_bias = f->as_bool();
    if (const auto* f = v.find("o_bias")) c.o_bias = f->as_bool();
    c.validate();
    return c;
  }
  static TransformerConfig from_json(const std::string& s) { return from_json_value(json::parse(s)); }
};

// RMSNorm, or the identity when the config turns normalization off (official Norm(False)).
template <class T>
class Norm : public Layer<T> {
 public:
  Norm(const TransformerConfig& c) : on_(c.norm) {
    if (on_) norm = this->register_module("norm", std::make_shared<RMSNorm<T>>(c.d_model, c.norm_eps, c.norm_affine));
  }
  Tensor<T> forward(const Tensor<T>& x) override { return on_ ? norm->forward(x) : x; }
  std::shared_ptr<RMSNorm<T>> norm;

 private:
  bool on_;
};

template <class T>
class TransformerBlock : public Layer<T> {
 public:
  TransformerBlock(const TransformerConfig& c, Generator& gen) : scale_(c.attn_residual_scale()) {
    attn = this->register_module(
        "attn", std::make_shared<CausalSelfAttention<T>>(c.d_model, c.n_head, c.n_ctx, gen, c.bias && c.qkv_bias,
                                                         c.rope_base, c.bias && c.o_bias));
    mlp = this->register_module("mlp", std::make_shared<MLP<T>>(c.d_model, c.d_hidden, c.mlp, false, c.bias, gen));
    n1 = this->register_module("n1", std::make_shared<Norm<T>>(c));
    n2 = this->register_module("n2", std::make_shared<Norm<T>>(c));
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    Tensor<T> a = attn->forward(n1->forward(x));
    Tensor<T> h = x + (scale_ == 1.0 ? a : a * scale_);
    return h + mlp->forward(n2->forward(h));
  }
  // forward() with hook(point, activation) → replacement at every hook point of this block.
  template <class Hook>
  Tensor<T> forward_hooked(Tensor<T> x, Hook&& hook) {
    x = hook(HookPoint::ResidPre, x);
    Tensor<T> a = attn->forward(n1->forward(x));
    Tensor<T> h = hook(HookPoint::ResidMid, x + (scale_ == 1.0 ? a : a * scale_));
    Tensor<T> m = hook(HookPoint::MlpOut, mlp->forward(hook(HookPoint::MlpIn, n2->forward(h))));
    return hook(HookPoint::ResidPost, h + m);
  }
  // x [T_new, d_model] of one sequence; see CausalSelfAttention::forward_step.
  Tensor<T> forward_step(const Tensor<T>& x, AttentionCache<T>& cache) {
    NoGradGuard ng;
    Tensor<T> a = attn->forward_step(n1->forward(x), cache);
    Tensor<T> h = x + (scale_ == 1.0 ? a : a * scale_);
    return h + mlp->forward(n2->forward(h));
  }

  std::shared_ptr<CausalSelfAttention<T>> attn;
  std::shared_ptr<MLP<T>> mlp;
  std::shared_ptr<Norm<T>> n1, n2;

 private:
  double scale_;
};

template <class T>
class Transformer : public Module<T> {
 public:
  // The official model nests embedding, blocks and final norm under "transformer".
  struct Blocks : Module<T> {
    std::vector<std::shared_ptr<TransformerBlock<T>>> items;
    void add(std::shared_ptr<TransformerBlock<T>> b) {
      items.push_back(b);
      this->register_module(std::to_string(items.size() - 1), b);
    }
  };
  struct Trunk : Module<T> {
    std::shared_ptr<Embedding<T>> wte;
    std::shared_ptr<Blocks> h;
    std::shared_ptr<Norm<T>> n_f;
    Trunk(const TransformerConfig& c, Generator& gen) {
      wte = this->register_module("wte", std::make_shared<Embedding<T>>(c.vocab, c.d_model, gen));
      h = this->register_module("h", std::make_shared<Blocks>());
      for (index_t i = 0; i < c.n_layer; ++i) h->add(std::make_shared<TransformerBlock<T>>(c, gen));
      n_f = this->register_module("n_f", std::make_shared<Norm<T>>(c));
    }
  };

  Transformer(const TransformerConfig& config, Generator& gen) : config_((config.validate(), config)) {
    transformer = this->register_module("transformer", std::make_shared<Trunk>(config_, gen));
    lm_head = this->register_module("lm_head", std::make_shared<Linear<T>>(config_.d_model, config_.vocab, false, gen));
  }

  // Final hidden states [B, T, d_model] (after n_f).
  Tensor<T> hidden(const IndexTensor& ids) {
    BILIN_CHECK(ids.dim() == 2, "Transformer", "ids must be [B, T], got ", to_string(ids.shape()));
    BILIN_CHECK(ids.size(1) <= config_.n_ctx, "Transformer", "sequence length ", ids.size(1), " exceeds n_ctx = ",
                config_.n_ctx);
    Tensor<T> x = transformer->wte->forward(ids);
    for (auto& b : transformer->h->items) x = b->forward(x);
    return transformer->n_f->forward(x);
  }
  Tensor<T> forward(const IndexTensor& ids) { return lm_head->forward(hidden(ids)); }

  // hook(layer, HookPoint, activation [B, T, d_model]) → the activation to continue with.
  using HookFn = std::function<Tensor<T>(index_t, HookPoint, const Tensor<T>&)>;
  // Blocks 0..last_layer with the hook; returns resid_post of last_layer.
  Tensor<T> run_hooked(const IndexTensor& ids, index_t last_layer, const HookFn& hook) {
    BILIN_CHECK(last_layer >= 0 && last_layer < static_cast<index_t>(n_layer()), "Transformer", "layer ", last_layer,
                " is out of range (the model has ", n_layer(), " layers)");
    return run_blocks(ids, last_layer, hook);
  }
  Tensor<T> loss_hooked(const IndexTensor& ids, const IndexTensor& targets, const HookFn& hook) {
    BILIN_CHECK(targets.shape() == ids.shape(), "Transformer", "targets of shape ", to_string(targets.shape()),
                " do not match ids of shape ", to_string(ids.shape()));
    Tensor<T> x = run_blocks(ids, static_cast<index_t>(n_layer()) - 1, hook);
    return linear_cross_entropy(transformer->n_f->forward(x), lm_head->weight, targets);
  }
  Tensor<T> operator()(const IndexTensor& ids) { return forward(ids); }
  Tensor<T> loss(const IndexTensor& ids, const IndexTensor& targets) {
    BILIN_CHECK(targets.shape() == ids.shape(), "Transformer", "targets of shape ", to_string(targets.shape()),
                " do not match ids of shape ", to_string(ids.shape()));
    return linear_cross_entropy(hidden(ids), lm_head->weight, targets);
  }

  std::vector<AttentionCache<T>> make_caches() const {
    std::vector<AttentionCache<T>> c;
    for (auto& b : transformer->h->items) c.push_back(b->attn->make_cache());
    return c;
  }
  // ids: the new tokens of one sequence (1-D). Returns the logits after the last one [vocab].
  Tensor<T> forward_step(const IndexTensor& ids, std::vector<AttentionCache<T>>& caches) {
    NoGradGuard ng;
    BILIN_CHECK(ids.dim() == 1 && ids.numel() > 0, "Transformer", "forward_step needs a non-empty 1-D id tensor, got ",
                to_string(ids.shape()));
    BILIN_CHECK(caches.size() == transformer->h->items.size(), "Transformer", "got ", caches.size(),
                " caches for ", transformer->h->items.size(), " layers");
    Tensor<T> x = transformer->wte->forward(ids);
    for (std::size_t i = 0; i < caches.size(); ++i) x = transformer->h->items[i]->forward_step(x, caches[i]);
    Tensor<T> last = x.narrow(0, x.size(0) - 1, 1);
    return lm_head->forward(transformer->n_f->forward(last)).reshape({config_.vocab});
  }

  const TransformerConfig& config() const { return config_; }
  std::size_t n_layer() const { return transformer->h->items.size(); }
  TransformerBlock<T>& block(std::size_t i) { return *transformer->h->items.at(i); }

  // The official state-dict name of a bilin parameter name (".mlp.up." → ".mlp.w.",
  // ".mlp.down." → ".mlp.p."); other names are already identical.
  static std::string official_name(std::string name) {
    auto repl = [&](const std::string& from, const std::string& to) {
      const auto p = name.find(from);
      if (p != std::string::npos) name.replace(p, from.size(), to);
    };
    repl(".mlp.up.", ".mlp.w.");
    repl(".mlp.down.", ".mlp.p.");
    return name;
  }

  std::shared_ptr<Trunk> transformer;
  std::shared_ptr<Linear<T>> lm_head;

 private:
  Tensor<T> run_blocks(const IndexTensor& ids, index_t last_layer, const HookFn& hook) {
    BILIN_CHECK(ids.dim() == 2, "Transformer", "ids must be [B, T], got ", to_string(ids.shape()));
    BILIN_CHECK(ids.size(1) <= config_.n_ctx, "Transformer", "sequence length ", ids.size(1), " exceeds n_ctx = ",
                config_.n_ctx);
    Tensor<T> x = transformer->wte->forward(ids);
    for (index_t l = 0; l <= last_layer; ++l)
      x = transformer->h->items[static_cast<std::size_t>(l)]->forward_hooked(
          x, [&](HookPoint p, const Tensor<T>& a) { return hook(l, p, a); });
    return x;
  }

  TransformerConfig config_;
};

}  // namespace bilin::nn
