// bilin/interp/lm_mlp.hpp — one transformer layer's MLP as a bilinear form, and the output
// directions the paper reads it with.
//
// Contract:
// - bilinear_mlp(model, layer) → LayerMlp {W, V [h, d] (left/right halves of the up-projection),
//   P [d, h] (down-projection)}, contiguous copies, such that mlp_out(x) = P((Wx) ⊙ (Vx)) and so
//   uᵀ mlp_out(x) = xᵀ Q(u) x exactly (interaction_batch.hpp). Throws bilin::Error("analyze_lm",
//   …) when the layer is out of range, when its MLP is not bilinear (a GLU or ReLU MLP: Q(u) is
//   exact only for bilinear layers, whose gate is the identity) or when it has biases.
// - mlp_forward(model, layer, X [N, d]) runs the model's own MLP module on mlp_in rows (no graph).
// - Output directions, each as rows of a [m, d] tensor in mlp_out space:
//   unembedding_directions(model, tokens): rows U[t] of the unembedding, multiplied by the final
//   norm's weight when it has one (the weightless RMSNorm only rescales: the direction is U[t]);
//   contrast_directions(model, pairs): U[a] − U[b] likewise; random_directions(m, d, gen): unit
//   Gaussian directions (the control). Output-SAE encoder rows are sae.encoder() itself.
// - Token ids out of range throw naming the id and the vocabulary size.
#pragma once
#include <cmath>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../nn/transformer.hpp"

namespace bilin::interp {

struct LayerMlp {
  TensorF W, V, P;  // [h, d], [h, d], [d, h]
  index_t layer = 0;
  index_t d() const { return W.size(1); }
  index_t hidden() const { return W.size(0); }
};

inline LayerMlp bilinear_mlp(nn::Transformer<float>& model, index_t layer) {
  const auto& c = model.config();
  BILIN_CHECK(layer >= 0 && layer < c.n_layer, "analyze_lm", "layer ", layer, " does not exist (the model has ",
              c.n_layer, " layers)");
  BILIN_CHECK(c.mlp == nn::MlpKind::Bilinear, "analyze_lm", "layer ", layer, "'s MLP is ", nn::mlp_kind_name(c.mlp),
              ", not bilinear: Q(u) is exact only for bilinear layers (gate = identity), where uᵀMLP(x) = "
              "xᵀQ(u)x with Q(u) = ½(Wᵀdiag(Pᵀu)V + Vᵀdiag(Pᵀu)W); a gated (GLU) or ReLU MLP has no exact "
              "interaction matrix");
  BILIN_CHECK(!c.bias, "analyze_lm", "layer ", layer, "'s MLP has biases; this analysis expects the paper's bias-free ",
              "bilinear MLP");
  auto& mlp = *model.block(static_cast<std::size_t>(layer)).mlp;
  auto* up = dynamic_cast<nn::Bilinear<float>*>(mlp.up.get());
  BILIN_CHECK(up != nullptr && up->gate() == Gate::None, "analyze_lm", "layer ", layer,
              "'s up-projection is not a bilinear layer");
  LayerMlp m;
  m.W = up->w_l().contiguous();
  m.V = up->w_r().contiguous();
  m.P = mlp.down->weight.contiguous();
  m.layer = layer;
  return m;
}

inline TensorF mlp_forward(nn::Transformer<float>& model, index_t layer, const TensorF& X) {
  NoGradGuard ng;
  return model.block(static_cast<std::size_t>(layer)).mlp->forward(X).contiguous();
}

namespace detail {
inline const float* final_norm_weight(nn::Transformer<float>& model) {
  const auto& n = model.transformer->n_f;
  if (!n->norm || !model.config().norm_affine) return nullptr;
  for (const auto& [name, t] : n->norm->named_parameters())
    if (t.numel() == model.config().d_model) return t.data();
  return nullptr;
}
inline void check_token(nn::Transformer<float>& model, index_t t) {
  BILIN_CHECK(t >= 0 && t < model.config().vocab, "analyze_lm", "token id ", t, " is outside the vocabulary (",
              model.config().vocab, " tokens)");
}
}  // namespace detail

inline TensorF contrast_directions(nn::Transformer<float>& model, const std::vector<std::pair<index_t, index_t>>& pairs) {
  const index_t d = model.config().d_model;
  const TensorF U = model.lm_head->weight.contiguous();  // [vocab, d]
  const float* g = detail::final_norm_weight(model);
  TensorF out = TensorF::empty({static_cast<index_t>(pairs.size()), d});
  for (std::size_t r = 0; r < pairs.size(); ++r) {
    const auto [a, b] = pairs[r];
    detail::check_token(model, a);
    if (b >= 0) detail::check_token(model, b);
    for (index_t j = 0; j < d; ++j) {
      const float v = U.data()[a * d + j] - (b >= 0 ? U.data()[b * d + j] : 0.0f);
      out.data()[static_cast<index_t>(r) * d + j] = g ? v * g[j] : v;
    }
  }
  return out;
}

// b = −1 in a pair means "no contrast": the row is U[a] alone.
inline TensorF unembedding_directions(nn::Transformer<float>& model, const std::vector<index_t>& tokens) {
  std::vector<std::pair<index_t, index_t>> pairs;
  for (index_t t : tokens) pairs.emplace_back(t, -1);
  return contrast_directions(model, pairs);
}

inline TensorF random_directions(index_t m, index_t d, Generator& gen) {
  TensorF out = TensorF::empty({m, d});
  for (index_t r = 0; r < m; ++r) {
    double s = 0;
    for (index_t j = 0; j < d; ++j) {
      const double v = gen.normal();
      out.data()[r * d + j] = static_cast<float>(v);
      s += v * v;
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (index_t j = 0; j < d; ++j) out.data()[r * d + j] *= inv;
  }
  return out;
}

}  // namespace bilin::interp
