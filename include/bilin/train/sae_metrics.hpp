// bilin/train/sae_metrics.hpp — how good an SAE is, measured on held-out text.
//
// Contract: evaluate_saes(model, tokens, ctx, starts, targets, saes, batch) runs the validation
// windows tokens[s .. s+ctx+1) (inputs and next-token targets) and returns one SaeMetrics per
// (target, sae) pair:
// - nmse = Σ‖x − x̂‖² / Σ‖x‖² (the official "nmse": mse / mean(x²)), explained_variance =
//   1 − Σ‖x − x̂‖² / Σ‖x − x̄‖², l0 = mean number of non-zero latents, over positions 1..ctx−1
//   of every window (position 0 is dropped, as in training).
// - loss_clean: the model's mean next-token cross-entropy; loss_patched: the same with the SAE's
//   reconstruction in place of the hook point's activation at positions 1..ctx−1 (position 0
//   keeps its own, as the SAE never saw it); loss_zero: with those activations set to zero.
//   loss_added = (patched − clean) / clean (the paper's Eq. 4), loss_recovered =
//   1 − (patched − clean) / (zero − clean). The loss averages every position's prediction.
// - val_dead_fraction: latents that never fired on these positions; fired counts per latent
//   are returned too (fire_count) for firing frequencies.
// The clean loss is computed once and shared by all SAEs. No autograd graph is built.
// metrics_json(m) gives the scalar fields as JSON (train_sae's summary and metrics.jsonl).
#pragma once
#include <cmath>
#include <span>
#include <vector>

#include "../data/text.hpp"
#include "../io/json.hpp"
#include "../nn/sae.hpp"
#include "../nn/transformer.hpp"
#include "activation_buffer.hpp"

namespace bilin::train {

struct SaeMetrics {
  double nmse = 0, explained_variance = 0, l0 = 0;
  double loss_clean = 0, loss_patched = 0, loss_zero = 0, loss_added = 0, loss_recovered = 0;
  double val_dead_fraction = 0;
  index_t positions = 0;
  std::vector<std::int64_t> fire_count;
};

inline json::Value metrics_json(const SaeMetrics& m) {
  json::Value v = json::Value::object();
  v["nmse"] = m.nmse;
  v["explained_variance"] = m.explained_variance;
  v["l0"] = m.l0;
  v["loss_clean"] = m.loss_clean;
  v["loss_patched"] = m.loss_patched;
  v["loss_zero"] = m.loss_zero;
  v["loss_added"] = m.loss_added;
  v["loss_recovered"] = m.loss_recovered;
  v["val_dead_fraction"] = m.val_dead_fraction;
  v["val_positions"] = m.positions;
  return v;
}

namespace metrics_detail {
// Replaces positions 1..T−1 of a [B, T, d] activation by f(rows [B·(T−1), d]).
template <class F>
TensorF patch_positions(const TensorF& a, F&& f) {
  const index_t B = a.size(0), T = a.size(1), d = a.size(2);
  const TensorF c = a.is_contiguous() ? a : a.contiguous();
  TensorF rows = TensorF::empty({B * (T - 1), d});
  for (index_t b = 0; b < B; ++b) std::copy_n(c.data() + (b * T + 1) * d, (T - 1) * d, rows.data() + b * (T - 1) * d);
  const TensorF rep = f(rows);
  TensorF out = c.clone();
  for (index_t b = 0; b < B; ++b) std::copy_n(rep.data() + b * (T - 1) * d, (T - 1) * d, out.data() + (b * T + 1) * d);
  return out;
}
}  // namespace metrics_detail

inline std::vector<SaeMetrics> evaluate_saes(nn::Transformer<float>& model, std::span<const data::token_t> tokens,
                                             index_t ctx, std::span<const std::uint64_t> starts,
                                             const std::vector<HookTarget>& targets,
                                             const std::vector<nn::TopKSAE<float>*>& saes, index_t batch = 16) {
  BILIN_CHECK(targets.size() == saes.size(), "evaluate_saes", targets.size(), " targets but ", saes.size(), " SAEs");
  BILIN_CHECK(!starts.empty() && ctx >= 2, "evaluate_saes", "need at least one window of at least 2 tokens");
  NoGradGuard ng;
  const std::size_t S = saes.size();
  std::vector<SaeMetrics> out(S);
  std::vector<double> err(S, 0), sq(S, 0), nnz(S, 0), patched(S, 0), zero(S, 0);
  std::vector<std::vector<double>> sum(S, std::vector<double>(static_cast<std::size_t>(model.config().d_model), 0.0));
  for (std::size_t i = 0; i < S; ++i) out[i].fire_count.assign(static_cast<std::size_t>(saes[i]->n_latents()), 0);
  double clean = 0, rows_total = 0;
  std::size_t windows = 0;
  for (std::size_t w0 = 0; w0 < starts.size(); w0 += static_cast<std::size_t>(batch)) {
    const std::size_t m = std::min(starts.size() - w0, static_cast<std::size_t>(batch));
    const data::TokenBatch b = data::batch_at(tokens, ctx, starts.subspan(w0, m));
    const double wm = static_cast<double>(m);
    clean += model.loss(b.inputs, b.targets).item() * wm;
    for (std::size_t i = 0; i < S; ++i) {
      const HookTarget t = targets[i];
      nn::TopKSAE<float>& sae = *saes[i];
      auto at_target = [&](auto&& f) {
        return [&, f](index_t l, nn::HookPoint p, const TensorF& a) { return l == t.layer && p == t.hook ? f(a) : a; };
      };
      patched[i] += model.loss_hooked(b.inputs, b.targets, at_target([&](const TensorF& a) {
        return metrics_detail::patch_positions(a, [&](const TensorF& x) {
          const SparseCode<float> code = sae.encode(x);
          const TensorF xh = sae.decode(code);
          const index_t d = x.size(1);
          for (index_t r = 0; r < x.size(0); ++r)
            for (index_t j = 0; j < d; ++j) {
              const double xv = x.data()[r * d + j], e = xv - xh.data()[r * d + j];
              err[i] += e * e;
              sq[i] += xv * xv;
              sum[i][static_cast<std::size_t>(j)] += xv;
            }
          for (index_t e = 0; e < code.values.numel(); ++e)
            if (code.values.data()[e] != 0.0f) {
              nnz[i] += 1;
              ++out[i].fire_count[static_cast<std::size_t>(code.indices.data()[e])];
            }
          if (i == 0) rows_total += static_cast<double>(x.size(0));
          return xh;
        });
      })).item() * wm;
      zero[i] += model.loss_hooked(b.inputs, b.targets, at_target([&](const TensorF& a) {
        return metrics_detail::patch_positions(a, [](const TensorF& x) { return TensorF::zeros(x.shape()); });
      })).item() * wm;
    }
    windows += m;
  }
  const double W = static_cast<double>(windows);
  for (std::size_t i = 0; i < S; ++i) {
    SaeMetrics& r = out[i];
    double centered = sq[i];
    for (double s : sum[i]) centered -= s * s / rows_total;
    r.positions = static_cast<index_t>(rows_total);
    r.nmse = err[i] / sq[i];
    r.explained_variance = 1.0 - err[i] / centered;
    r.l0 = nnz[i] / rows_total;
    r.loss_clean = clean / W;
    r.loss_patched = patched[i] / W;
    r.loss_zero = zero[i] / W;
    r.loss_added = (r.loss_patched - r.loss_clean) / r.loss_clean;
    r.loss_recovered = 1.0 - (r.loss_patched - r.loss_clean) / (r.loss_zero - r.loss_clean);
    std::int64_t dead = 0;
    for (auto c : r.fire_count) dead += c == 0;
    r.val_dead_fraction = static_cast<double>(dead) / static_cast<double>(r.fire_count.size());
  }
  return out;
}

}  // namespace bilin::train
