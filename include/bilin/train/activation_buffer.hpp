// bilin/train/activation_buffer.hpp — language-model activations at hook points, harvested
// into shuffled in-memory buffers for SAE training.
//
// Contract:
// - HookTarget {layer, hook}: one hook point of one layer; name() = "<layer>-<hook>" (the
//   official "{layer}-{point}" naming).
// - harvest(model, tokens, ctx, starts, targets) runs windows tokens[s .. s+ctx) through
//   blocks 0..max layer only (nn::Transformer::run_hooked: no final norm, no logits, no graph)
//   and returns, per target, the activations of positions 1..ctx−1 of every window as rows
//   [windows·(ctx−1), d_model] (position 0 is dropped, as the paper's code does: it sees no
//   context). A non-finite activation throws bilin::Error("harvest", …) naming the layer, the
//   hook point, the token offset of the window and the position in it.
// - ActivationBuffer(model, tokens, ctx, targets, capacity, windows_per_forward, seed): per
//   target a buffer of `capacity` rows (rounded up to whole windows), filled from windows drawn
//   at random from `tokens` (data::WindowSampler, so every fill is a fresh i.i.d. sample of the
//   text). batch(target, fill_offset, batch) returns rows in a shuffled order: the buffer is read
//   in passes, each pass a different permutation of its rows drawn from (seed, fill, pass), so a
//   batch is a pure function of the fill and the offset — a resumed run sees the same batches.
//   refill() replaces every row with fresh windows. sampler_state()/set_sampler_state() expose
//   the window sampler's state for checkpoints (take it before a refill to redo that fill).
#pragma once
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "../data/text.hpp"
#include "../nn/transformer.hpp"

namespace bilin::train {

struct HookTarget {
  index_t layer = 0;
  nn::HookPoint hook = nn::HookPoint::MlpOut;
  std::string name() const { return std::to_string(layer) + "-" + nn::hook_point_name(hook); }
};

inline std::vector<TensorF> harvest(nn::Transformer<float>& model, std::span<const data::token_t> tokens, index_t ctx,
                                    std::span<const std::uint64_t> starts, const std::vector<HookTarget>& targets) {
  BILIN_CHECK(!targets.empty(), "harvest", "no hook targets given");
  BILIN_CHECK(ctx >= 2, "harvest", "windows need at least 2 tokens (position 0 is dropped), got ctx = ", ctx);
  index_t last = 0;
  for (const auto& t : targets) last = std::max(last, t.layer);
  NoGradGuard ng;
  const data::TokenBatch b = data::batch_at(tokens, ctx, starts);
  const index_t W = static_cast<index_t>(starts.size()), d = model.config().d_model;
  std::vector<TensorF> out(targets.size());
  model.run_hooked(b.inputs, last, [&](index_t layer, nn::HookPoint p, const TensorF& a) {
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (targets[i].layer != layer || targets[i].hook != p) continue;
      const TensorF c = a.is_contiguous() ? a : a.contiguous();
      TensorF rows = TensorF::empty({W * (ctx - 1), d});
      for (index_t w = 0; w < W; ++w)
        for (index_t t = 1; t < ctx; ++t) {
          const float* src = c.data() + (w * ctx + t) * d;
          for (index_t j = 0; j < d; ++j)
            if (!std::isfinite(src[j]))
              throw Error("harvest", msg("non-finite activation ", src[j], " at layer ", layer, ", hook ",
                                         nn::hook_point_name(p), ", window at token ", starts[static_cast<std::size_t>(w)],
                                         ", position ", t, ", dimension ", j));
          std::copy_n(src, d, rows.data() + (w * (ctx - 1) + t - 1) * d);
        }
      out[i] = rows;
    }
    return a;
  });
  return out;
}

class ActivationBuffer {
 public:
  ActivationBuffer(nn::Transformer<float>& model, std::span<const data::token_t> tokens, index_t ctx,
                   std::vector<HookTarget> targets, index_t capacity, index_t windows_per_forward, std::uint64_t seed)
      : model_(model), tokens_(tokens), ctx_(ctx), targets_(std::move(targets)), per_forward_(windows_per_forward),
        seed_(seed), sampler_(tokens, ctx, seed) {
    BILIN_CHECK(ctx >= 2 && ctx <= model.config().n_ctx, "ActivationBuffer", "ctx = ", ctx, " must be in [2, n_ctx = ",
                model.config().n_ctx, "]");
    BILIN_CHECK(capacity > 0 && windows_per_forward > 0, "ActivationBuffer",
                "capacity and windows per forward must be positive, got ", capacity, ", ", windows_per_forward);
    for (const auto& t : targets_)
      BILIN_CHECK(t.layer >= 0 && t.layer < static_cast<index_t>(model.n_layer()), "ActivationBuffer", "layer ",
                  t.layer, " is out of range (the model has ", model.n_layer(), " layers)");
    windows_ = (capacity + ctx - 2) / (ctx - 1);
    rows_ = windows_ * (ctx - 1);
    for (std::size_t i = 0; i < targets_.size(); ++i) data_.push_back(TensorF::empty({rows_, model.config().d_model}));
  }

  index_t rows() const { return rows_; }
  index_t d() const { return model_.config().d_model; }
  const std::vector<HookTarget>& targets() const { return targets_; }
  std::int64_t fills() const { return fill_; }
  const TensorF& rows_of(std::size_t target) const { return data_.at(target); }
  std::pair<std::uint64_t, std::uint64_t> sampler_state() const { return sampler_.state(); }
  void set_sampler_state(std::pair<std::uint64_t, std::uint64_t> s) { sampler_.set_state(s); }
  void set_fill_count(std::int64_t f) { fill_ = f; }

  void refill() {
    for (index_t w = 0; w < windows_; w += per_forward_) {
      const index_t m = std::min(per_forward_, windows_ - w);
      const std::vector<std::uint64_t> starts = sampler_.next_starts(m);
      const std::vector<TensorF> acts = harvest(model_, tokens_, ctx_, starts, targets_);
      for (std::size_t i = 0; i < targets_.size(); ++i)
        std::copy_n(acts[i].data(), acts[i].numel(), data_[i].data() + w * (ctx_ - 1) * d());
    }
    ++fill_;
    perm_pass_ = -1;
  }

  // Rows offset .. offset+batch of the current fill's read order (offset may exceed rows():
  // the buffer is read again in a fresh order).
  TensorF batch(std::size_t target, std::int64_t offset, index_t batch) {
    const index_t D = d();
    TensorF out = TensorF::empty({batch, D});
    for (index_t r = 0; r < batch; ++r) {
      const std::int64_t pos = offset + r;
      const std::int64_t pass = pos / rows_;
      if (pass != perm_pass_) make_perm(pass);
      const index_t src = perm_[static_cast<std::size_t>(pos % rows_)];
      std::copy_n(data_[target].data() + src * D, D, out.data() + r * D);
    }
    return out;
  }

 private:
  void make_perm(std::int64_t pass) {
    perm_.resize(static_cast<std::size_t>(rows_));
    std::iota(perm_.begin(), perm_.end(), index_t(0));
    Generator g(seed_ * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(fill_) * 1000003ull +
                static_cast<std::uint64_t>(pass));
    for (index_t i = rows_ - 1; i > 0; --i)
      std::swap(perm_[static_cast<std::size_t>(i)], perm_[static_cast<std::size_t>(g.randint(static_cast<std::uint64_t>(i + 1)))]);
    perm_pass_ = pass;
  }

  nn::Transformer<float>& model_;
  std::span<const data::token_t> tokens_;
  index_t ctx_;
  std::vector<HookTarget> targets_;
  index_t per_forward_, windows_ = 0, rows_ = 0;
  std::uint64_t seed_;
  data::WindowSampler sampler_;
  std::vector<TensorF> data_;
  std::int64_t fill_ = 0, perm_pass_ = -1;
  std::vector<index_t> perm_;
};

}  // namespace bilin::train
