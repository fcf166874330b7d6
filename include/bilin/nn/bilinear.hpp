// bilin/nn/bilinear.hpp — the bilinear layer primitive, its GLU variants, and MLP blocks.
//
// Contract:
// - Bilinear(d_in, d_out, gate): g(x) = act(W x + b_W) ⊙ (V x + b_V) with one stacked
//   parameter "weight" = [W; V] of shape [2·d_out, d_in] (left half W, right half V: the
//   layout of the official code's single Linear d → 2h) and optional "bias" [2·d_out].
//   gate = None is the bilinear layer; Relu/Silu/Gelu give ReGLU/SwiGLU/GeGLU. One GEMM, one
//   fused product forward and backward (ops/linear.hpp). w_l()/w_r() are views of the halves.
// - MLP(d, hidden, kind, residual): up-projection (bilinear / GLU / plain ReLU Linear) to
//   `hidden`, then a linear down-projection "down" back to d; with residual, x + mlp(x).
//   Parameter names: "up.weight", ("up.bias"), "down.weight", ("down.bias").
#pragma once
#include <string>

#include "linear.hpp"

namespace bilin::nn {

template <class T>
class Bilinear : public Layer<T> {
 public:
  Bilinear(index_t in_features, index_t out_features, Gate gate, bool bias, Generator& gen)
      : in_(in_features), out_(out_features), gate_(gate) {
    BILIN_CHECK(in_features > 0 && out_features > 0, "Bilinear", "features must be positive, got ", in_features,
                " → ", out_features);
    weight = this->register_parameter("weight", init::linear_default<T>({2 * out_, in_}, in_, gen));
    if (bias) this->bias = this->register_parameter("bias", init::linear_default<T>({2 * out_}, in_, gen));
  }
  Tensor<T> forward(const Tensor<T>& x) override { return bilinear_product(linear(x, weight, bias), gate_); }
  // Views (no copies) of the left (W) and right (V) halves of the stacked weight.
  Tensor<T> w_l() const { return weight.narrow(0, 0, out_); }
  Tensor<T> w_r() const { return weight.narrow(0, out_, out_); }
  Tensor<T> b_l() const { return bias.defined() ? bias.narrow(0, 0, out_) : Tensor<T>(); }
  Tensor<T> b_r() const { return bias.defined() ? bias.narrow(0, out_, out_) : Tensor<T>(); }
  index_t in_features() const { return in_; }
  index_t out_features() const { return out_; }
  Gate gate() const { return gate_; }

  Tensor<T> weight, bias;

 private:
  index_t in_, out_;
  Gate gate_;
};

enum class MlpKind { Bilinear, GluRelu, GluSilu, GluGelu, Relu };

inline MlpKind parse_mlp_kind(const std::string& s) {
  if (s == "bilinear") return MlpKind::Bilinear;
  if (s == "glu-relu") return MlpKind::GluRelu;
  if (s == "glu-silu") return MlpKind::GluSilu;
  if (s == "glu-gelu") return MlpKind::GluGelu;
  if (s == "relu") return MlpKind::Relu;
  throw Error("mlp", "unknown MLP kind '" + s + "' (bilinear, glu-relu, glu-silu, glu-gelu, relu)");
}
inline const char* mlp_kind_name(MlpKind k) {
  switch (k) {
    case MlpKind::Bilinear: return "bilinear";
    case MlpKind::GluRelu: return "glu-relu";
    case MlpKind::GluSilu: return "glu-silu";
    case MlpKind::GluGelu: return "glu-gelu";
    case MlpKind::Relu: return "relu";
  }
  return "?";
}
inline Gate gate_of(MlpKind k) {
  switch (k) {
    case MlpKind::GluRelu: return Gate::Relu;
    case MlpKind::GluSilu: return Gate::Silu;
    case MlpKind::GluGelu: return Gate::Gelu;
    default: return Gate::None;
  }
}

// The up-projection of an MLP as its own layer: bilinear/GLU, or Linear followed by ReLU.
template <class T>
std::shared_ptr<Layer<T>> make_up_projection(MlpKind kind, index_t d, index_t hidden, bool bias, Generator& gen) {
  if (kind == MlpKind::Relu) {
    struct ReluLinear : Linear<T> {
      using Linear<T>::Linear;
      Tensor<T> forward(const Tensor<T>& x) override { return relu(Linear<T>::forward(x)); }
    };
    return std::make_shared<ReluLinear>(d, hidden, bias, gen);
  }
  return std::make_shared<Bilinear<T>>(d, hidden, gate_of(kind), bias, gen);
}

template <class T>
class MLP : public Layer<T> {
 public:
  MLP(index_t d, index_t hidden, MlpKind kind, bool residual, bool bias, Generator& gen)
      : kind_(kind), residual_(residual) {
    up = this->register_module("up", make_up_projection<T>(kind, d, hidden, bias, gen));
    down = this->register_module("down", std::make_shared<Linear<T>>(hidden, d, bias, gen));
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    Tensor<T> y = down->forward(up->forward(x));
    return residual_ ? x + y : y;
  }
  MlpKind kind() const { return kind_; }

  std::shared_ptr<Layer<T>> up;
  std::shared_ptr<Linear<T>> down;

 private:
  MlpKind kind_;
  bool residual_;
};

}  // namespace bilin::nn
