// bilin/interp/quadratic_classifier.hpp — a one-bilinear-layer image classifier seen as one exact
// quadratic form per output.
//
// Contract:
// - BilinearClassifier<T> holds the weights of embed → bilinear layer → head, the layout of the
//   official code (tdooms/bilinear-decomposition, src/image/model.py) and of nn::ImageClassifier:
//     embed     [d, D]  "embed.weight" (undefined: no embedding, the layer reads the D = d pixels)
//     w, v      [h, d]  the halves of "blocks.0.weight" [2h, d] (left rows 0..h-1, right h..2h-1)
//     bw, bv    [h]     the halves of "blocks.0.bias" (optional)
//     head      [C, h]  "head.weight";  head_bias [C] "head.bias" (optional)
//     residual  logits = head(z + g(z)) instead of head(g(z)) (needs h = d)
//   logits(x) = head((w z + bw) ⊙ (v z + bv) [+ z]) [+ head_bias], z = embed·x.
// - The exact form: with z̃ = layer_inputs(x) = [z; 1] when augmented() (any bias or residual),
//   else z̃ = z, every output direction u has uᵀ logits(x) = z̃ᵀ interaction(u) z̃ EXACTLY: the
//   biases are weights on the constant input, the residual's linear term uᵀhead·z becomes the
//   symmetric last row/column, the head bias the last diagonal entry. form_dim() = size of z̃.
// - interaction_operator(u) is the same matrix as a matrix-free operator (Lanczos).
// - input_gradient(X, G) = Σ_c G[n,c] ∂logit_c(x_n)/∂x_n for a batch ([N, D] each), by the chain
//   rule through the three layers (used for FGSM; tested against finite differences).
// - from_tensors(map) builds it from a safetensors TensorMap (bilin checkpoints, PyTorch exports
//   of the official layout); load_bilinear_classifier(path) reads the file. The architecture is
//   checked: a second block ("blocks.1.weight") or a GLU / ReLU block (per the checkpoint's
//   config metadata, or a block weight that is not [2h, d]) throws bilin::Error naming the file,
//   because only a single bilinear layer is an exact quadratic form. residual comes from the
//   config metadata ({"residual": true} in any metadata value that is a JSON object) unless the
//   caller overrides it. input_normalization(metadata) reads the trainer's pixel scaling
//   ("norm_mean"/"norm_std" in "train.config"; default pixel/255).
// - from_module(nn::ImageClassifier) copies the weights of a live model (same checks).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../io/json.hpp"
#include "../io/safetensors.hpp"
#include "../kernels/gemm.hpp"
#include "../nn/classifier.hpp"
#include "bilinear_tensor.hpp"

namespace bilin::interp {

template <class T>
struct BilinearClassifier {
  Tensor<T> embed;
  Tensor<T> w, v;
  Tensor<T> bw, bv;
  Tensor<T> head;
  Tensor<T> head_bias;
  bool residual = false;

  index_t input_dim() const { return embed.defined() ? embed.size(1) : w.size(1); }
  index_t layer_dim() const { return w.size(1); }
  index_t hidden_dim() const { return w.size(0); }
  index_t num_classes() const { return head.size(0); }
  bool augmented() const { return bw.defined() || bv.defined() || residual || head_bias.defined(); }
  index_t form_dim() const { return layer_dim() + (augmented() ? 1 : 0); }

  void validate(const std::string& where = "BilinearClassifier") const {
    BILIN_CHECK(w.defined() && v.defined() && head.defined(), where, "the bilinear layer and the head are required");
    BILIN_CHECK(w.dim() == 2 && w.shape() == v.shape(), where, "left/right halves must be [h, d], got ",
                to_string(w.shape()), " and ", to_string(v.shape()));
    const index_t h = w.size(0), d = w.size(1);
    BILIN_CHECK(!embed.defined() || (embed.dim() == 2 && embed.size(0) == d), where, "embed.weight must be [", d,
                ", D] to feed a layer of width ", d, ", got ", embed.defined() ? to_string(embed.shape()) : "");
    BILIN_CHECK(head.dim() == 2 && head.size(1) == h, where, "head.weight must be [C, ", h, "], got ",
                to_string(head.shape()));
    BILIN_CHECK(!bw.defined() || (bw.dim() == 1 && bw.size(0) == h), where, "left bias must be [", h, "]");
    BILIN_CHECK(!bv.defined() || (bv.dim() == 1 && bv.size(0) == h), where, "right bias must be [", h, "]");
    BILIN_CHECK(!head_bias.defined() || (head_bias.dim() == 1 && head_bias.size(0) == head.size(0)), where,
                "head.bias must be [", head.size(0), "]");
    BILIN_CHECK(!residual || h == d, where, "a residual block needs equal widths, got hidden ", h, " and input ", d);
  }

  // z̃ = [embed·x; 1] (or embed·x), [N, form_dim()].
  Tensor<T> layer_inputs(const Tensor<T>& X) const {
    const Tensor<T> x = check_batch(X, "layer_inputs");
    const index_t N = x.size(0), D = input_dim(), d = layer_dim(), n = form_dim();
    Tensor<T> z = Tensor<T>::empty({N, n});
    if (embed.defined()) {
      const Tensor<T> e = detail::dense(embed);
      kernels::gemm<T>(kernels::Trans::N, kernels::Trans::T, N, d, D, T(1), x.data(), D, e.data(), D, T(0), z.data(), n);
    } else {
      for (index_t i = 0; i < N; ++i) std::copy_n(x.data() + i * D, d, z.data() + i * n);
    }
    if (n > d)
      for (index_t i = 0; i < N; ++i) z.data()[i * n + d] = T(1);
    return z;
  }

  // The model's forward pass, layer by layer (independent of the eigendecomposition).
  Tensor<T> logits(const Tensor<T>& X) const {
    Tensor<T> a, b;
    const Tensor<T> z = layer_inputs(X);
    return forward_from(z, a, b);
  }

  Tensor<T> interaction(const Tensor<T>& u) const {
    BILIN_CHECK(u.defined() && u.dim() == 1 && u.size(0) == num_classes(), "interaction", "output direction must be [",
                num_classes(), "], got ", u.defined() ? to_string(u.shape()) : "none");
    const Tensor<T> uh = hidden_direction(head, u);
    if (!augmented()) return interaction_matrix_hidden(w, v, uh);
    Tensor<T> q = interaction_matrix_hidden(with_bias_input(w, bw), with_bias_input(v, bv), uh);
    const index_t n = form_dim(), last = n - 1;
    if (residual)
      for (index_t j = 0; j < last; ++j) {
        q.data()[j * n + last] += T(0.5) * uh.data()[j];
        q.data()[last * n + j] += T(0.5) * uh.data()[j];
      }
    if (head_bias.defined()) q.data()[last * n + last] += dot(u, head_bias);
    return q;
  }

  InteractionOperator<T> interaction_operator(const Tensor<T>& u) const {
    const Tensor<T> uh = hidden_direction(head, u);
    if (!augmented()) return InteractionOperator<T>(w, v, uh);
    InteractionOperator<T> op(with_bias_input(w, bw), with_bias_input(v, bv), uh);
    if (residual) {
      std::vector<T> l = uh.to_vector();
      l.push_back(T(0));
      op.set_linear(std::move(l));
    }
    if (head_bias.defined()) op.set_constant(dot(u, head_bias));
    return op;
  }

  Tensor<T> input_gradient(const Tensor<T>& X, const Tensor<T>& G) const {
    const Tensor<T> z = layer_inputs(X);
    const index_t N = z.size(0), C = num_classes(), h = hidden_dim(), d = layer_dim(), n = form_dim(),
                  D = input_dim();
    BILIN_CHECK(G.defined() && G.dim() == 2 && G.size(0) == N && G.size(1) == C, "input_gradient",
                "output weights must be [", N, ", ", C, "], got ", G.defined() ? to_string(G.shape()) : "none");
    Tensor<T> a, b;
    forward_from(z, a, b);  // a = w z + bw, b = v z + bv  [N, h]
    const Tensor<T> g = detail::dense(G), P = detail::dense(head);
    std::vector<T> gh(static_cast<std::size_t>(N * h));  // dL/d(hidden product) = G·P
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, N, h, C, T(1), g.data(), C, P.data(), h, T(0), gh.data(), h);
    std::vector<T> ga(static_cast<std::size_t>(N * h)), gb(static_cast<std::size_t>(N * h));
    for (index_t i = 0; i < N * h; ++i) {
      ga[i] = gh[i] * b.data()[i];
      gb[i] = gh[i] * a.data()[i];
    }
    Tensor<T> gz = Tensor<T>::empty({N, d});
    const Tensor<T> W = detail::dense(w), V = detail::dense(v);
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, N, d, h, T(1), ga.data(), h, W.data(), d, T(0), gz.data(), d);
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, N, d, h, T(1), gb.data(), h, V.data(), d, T(1), gz.data(), d);
    if (residual)
      for (index_t i = 0; i < N * d; ++i) gz.data()[i] += gh[i];
    (void)n;
    if (!embed.defined()) return gz;
    Tensor<T> gx = Tensor<T>::empty({N, D});
    const Tensor<T> E = detail::dense(embed);
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, N, D, d, T(1), gz.data(), d, E.data(), D, T(0), gx.data(), D);
    return gx;
  }

 private:
  static T dot(const Tensor<T>& a, const Tensor<T>& b) {
    const auto x = a.to_vector(), y = b.to_vector();
    double s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) s += static_cast<double>(x[i]) * static_cast<double>(y[i]);
    return static_cast<T>(s);
  }

  Tensor<T> check_batch(const Tensor<T>& X, const char* op) const {
    BILIN_CHECK(X.defined() && X.dim() >= 1, op, "expected inputs [N, ", input_dim(), "]");
    const Tensor<T> x = detail::dense(X);
    const index_t D = input_dim();
    BILIN_CHECK(x.numel() % D == 0 && (x.dim() == 1 ? x.size(0) == D : x.numel() / x.size(0) == D), op,
                "inputs of shape ", to_string(X.shape()), " do not have ", D, " features per sample");
    return x.dim() == 2 ? x : x.reshape({x.dim() == 1 ? 1 : x.size(0), D});
  }

  // From z̃ [N, n]: a = w̃ z̃, b = ṽ z̃ (kept for the gradient), logits = head(a ⊙ b [+ z]) [+ bias].
  Tensor<T> forward_from(const Tensor<T>& z, Tensor<T>& a, Tensor<T>& b) const {
    const index_t N = z.size(0), n = z.size(1), d = layer_dim(), h = hidden_dim(), C = num_classes();
    const Tensor<T> W = detail::dense(w), V = detail::dense(v);
    a = Tensor<T>::empty({N, h});
    b = Tensor<T>::empty({N, h});
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::T, N, h, d, T(1), z.data(), n, W.data(), d, T(0), a.data(), h);
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::T, N, h, d, T(1), z.data(), n, V.data(), d, T(0), b.data(), h);
    const auto add_bias = [&](Tensor<T>& t, const Tensor<T>& bias) {
      if (!bias.defined()) return;
      const Tensor<T> bb = detail::dense(bias);
      for (index_t i = 0; i < N; ++i)
        for (index_t o = 0; o < h; ++o) t.data()[i * h + o] += bb.data()[o];
    };
    add_bias(a, bw);
    add_bias(b, bv);
    std::vector<T> g(static_cast<std::size_t>(N * h));
    for (index_t i = 0; i < N * h; ++i) g[i] = a.data()[i] * b.data()[i];
    if (residual)
      for (index_t i = 0; i < N; ++i)
        for (index_t o = 0; o < h; ++o) g[i * h + o] += z.data()[i * n + o];
    Tensor<T> out = Tensor<T>::empty({N, C});
    const Tensor<T> P = detail::dense(head);
    kernels::gemm<T>(kernels::Trans::N, kernels::Trans::T, N, C, h, T(1), g.data(), h, P.data(), h, T(0), out.data(), C);
    if (head_bias.defined()) {
      const Tensor<T> hb = detail::dense(head_bias);
      for (index_t i = 0; i < N; ++i)
        for (index_t c = 0; c < C; ++c) out.data()[i * C + c] += hb.data()[c];
    }
    return out;
  }
};

namespace detail {

// The classifier config stored in a checkpoint's metadata: the first value that is a JSON object
// with an architecture key. Absent or unparsable metadata gives an empty optional.
inline std::optional<json::Value> find_config(const std::map<std::string, std::string>& metadata) {
  for (const char* key : {"model.config", "config", "model", "model_config", "classifier"}) {
    const auto it = metadata.find(key);
    if (it == metadata.end()) continue;
    try {
      json::Value v = json::parse(it->second);
      if (v.is_object()) return v;
    } catch (const Error&) {
    }
  }
  for (const auto& [k, text] : metadata) {
    if (text.find("\"kind\"") == std::string::npos && text.find("\"residual\"") == std::string::npos) continue;
    try {
      json::Value v = json::parse(text);
      if (!v.is_object()) continue;
      if (v.find("kind") || v.find("residual") || v.find("d_hidden")) return v;
      for (const auto& [kk, vv] : v.as_object())
        if (vv.is_object() && (vv.find("kind") || vv.find("residual"))) return vv;
    } catch (const Error&) {
    }
  }
  return std::nullopt;
}

}  // namespace detail

// How the trainer scaled pixels: x = (pixel/255 − mean)/std. bilin's trainer stores
// "norm_mean"/"norm_std" in the "train.config" metadata JSON; absent → mean 0, std 1 (pixel/255,
// the official code's convention).
struct InputNormalization {
  double mean = 0, std = 1;
  float apply(std::uint8_t pixel) const { return static_cast<float>((pixel / 255.0 - mean) / std); }
  float apply(float unit) const { return static_cast<float>((unit - mean) / std); }
};

inline InputNormalization input_normalization(const std::map<std::string, std::string>& metadata) {
  InputNormalization n;
  const auto it = metadata.find("train.config");
  if (it == metadata.end()) return n;
  try {
    const json::Value v = json::parse(it->second);
    if (!v.is_object()) return n;
    if (const json::Value* m = v.find("norm_mean"); m && m->is_number()) n.mean = m->as_double();
    if (const json::Value* s = v.find("norm_std"); s && s->is_number() && s->as_double() > 0) n.std = s->as_double();
  } catch (const Error&) {
  }
  return n;
}

template <class T>
BilinearClassifier<T> from_tensors(const io::TensorMap& map, std::optional<bool> residual = std::nullopt) {
  const std::string src = map.source().empty() ? std::string("checkpoint") : map.source();
  const auto cfg = detail::find_config(map.metadata);
  if (cfg) {
    if (const json::Value* k = cfg->find("kind"); k && k->is_string())
      BILIN_CHECK(k->as_string() == "bilinear", "load_bilinear_classifier", src, ": the block kind is '",
                  k->as_string(), "'; only a bilinear block (no gate) is an exact quadratic form to decompose");
    if (const json::Value* l = cfg->find("n_layer"); l && l->is_int())
      BILIN_CHECK(l->as_int() == 1, "load_bilinear_classifier", src, ": the model has ", l->as_int(),
                  " blocks; the per-class eigendecomposition covers single-layer models (n_layer = 1)");
  }
  BILIN_CHECK(!map.contains("blocks.1.weight"), "load_bilinear_classifier", src,
              ": found blocks.1.weight — the per-class eigendecomposition covers single-layer models only");
  BILIN_CHECK(map.contains("blocks.0.weight") && map.contains("head.weight"), "load_bilinear_classifier", src,
              ": expected the official layout (embed.weight, blocks.0.weight [2h, d], head.weight)");
  const Tensor<T> stacked = map.get<T>("blocks.0.weight");
  BILIN_CHECK(stacked.dim() == 2 && stacked.size(0) % 2 == 0, "load_bilinear_classifier", src,
              ": blocks.0.weight has shape ", to_string(stacked.shape()),
              "; a bilinear block stacks its halves as [2h, d] (a ReLU block's [h, d] cannot be decomposed)");
  const Tensor<T> head = map.get<T>("head.weight");
  BILIN_CHECK(head.dim() == 2 && stacked.size(0) == 2 * head.size(1), "load_bilinear_classifier", src,
              ": blocks.0.weight ", to_string(stacked.shape()), " does not stack two halves of the head's width ",
              head.dim() == 2 ? head.size(1) : -1, " (a ReLU block's [h, d] weight cannot be decomposed)");
  const index_t h = head.size(1);
  BilinearClassifier<T> m;
  if (map.contains("embed.weight")) m.embed = map.get<T>("embed.weight").contiguous();
  m.w = stacked.narrow(0, 0, h).contiguous();
  m.v = stacked.narrow(0, h, h).contiguous();
  if (map.contains("blocks.0.bias")) {
    const Tensor<T> b = map.get<T>("blocks.0.bias");
    BILIN_CHECK(b.dim() == 1 && b.size(0) == 2 * h, "load_bilinear_classifier", src, ": blocks.0.bias has shape ",
                to_string(b.shape()), ", expected [", 2 * h, "]");
    m.bw = b.narrow(0, 0, h).contiguous();
    m.bv = b.narrow(0, h, h).contiguous();
  }
  m.head = head.contiguous();
  if (map.contains("head.bias")) m.head_bias = map.get<T>("head.bias").contiguous();
  if (residual) m.residual = *residual;
  else if (cfg)
    if (const json::Value* r = cfg->find("residual"); r && r->is_bool()) m.residual = r->as_bool();
  m.validate("load_bilinear_classifier");
  return m;
}

template <class T>
BilinearClassifier<T> load_bilinear_classifier(const std::string& path, std::optional<bool> residual = std::nullopt) {
  const io::TensorMap map = io::load_safetensors(path);
  return from_tensors<T>(map, residual);
}

template <class T>
BilinearClassifier<T> from_module(const nn::ImageClassifier<T>& model) {
  const nn::ClassifierConfig& c = model.config();
  BILIN_CHECK(c.kind == nn::MlpKind::Bilinear && c.n_layer == 1, "from_module",
              "the per-class eigendecomposition needs one bilinear block, got ", c.n_layer, " block(s) of kind ",
              nn::mlp_kind_name(c.kind));
  io::TensorMap map;
  for (const auto& [name, t] : model.state_dict()) map.insert(name, t.detach().contiguous());
  map.set_source("ImageClassifier");
  // The model skips the residual on a block that changes the width (no embedding, d_input ≠ d_hidden).
  const bool residual = c.residual && (c.embed || c.d_input == c.d_hidden);
  return from_tensors<T>(map, residual);
}

}  // namespace bilin::interp
