// bilin/interp/toy.hpp — the paper's toy tasks: boolean operations on every pair of boolean
// inputs, learned by one bilinear MLP, read off its interaction matrices.
//
// Contract (after tdooms/bilinear-decomposition src/toy/model.py):
// - Inputs: n boolean features, each 1 with probability 1 − sparsity (independently).
//   Outputs: one per pair (i, j), i < j, in itertools.combinations order: the weighted sum
//   Σ_op weight_op · op(x_i, x_j) over the configured operations (AND, OR, XOR, NAND, NOR, XNOR).
// - ToyModel: left, right: Linear n → hidden, head: Linear hidden → outputs (no bias by default),
//   forward(x) = head(left(x) ⊙ right(x)); parameter names "left.weight", "right.weight",
//   "head.weight" as in the official code. train/toy_trainer.hpp's train_toy trains it on
//   toy_batch / toy_targets batches.
// - interactions(model) → [outputs, n, n]: the symmetrized B[c] = ½ Σ_o head[c,o](l_o r_oᵀ + r_o l_oᵀ)
//   (bilinear_tensor.hpp); with bias, [outputs, n+1, n+1] over [x; 1] (the biases as weights on
//   the constant input, the head bias on its diagonal), still exact. On boolean inputs x_i² = x_i, so the ideal interaction matrix of
//   AND(x_i, x_j) = x_i x_j has only the cross term Q[i,j] = Q[j,i] = ½ and no self-interaction;
//   XOR = x_i + x_j − 2x_i x_j has Q[i,i] = Q[j,j] = 1, Q[i,j] = −1; OR: diagonal 1, cross −½.
//   ideal_interaction(op, n, i, j) returns that reference matrix.
// - parse_bool_op("and"|"or"|"xor"|"nand"|"nor"|"xnor"); unknown names throw bilin::Error.
//   NAND/NOR/XNOR need a constant term (¬(x∧y) = 1 − xy), which a bias-free bilinear layer can
//   only approximate; enable bias to represent them exactly (the constant input of
//   bilinear_tensor.hpp's with_bias_input).
#pragma once
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"
#include "../nn/linear.hpp"
#include "../nn/module.hpp"
#include "../ops/elementwise.hpp"
#include "bilinear_tensor.hpp"

namespace bilin::interp {

enum class BoolOp { And, Or, Xor, Nand, Nor, Xnor };

inline BoolOp parse_bool_op(const std::string& s) {
  if (s == "and") return BoolOp::And;
  if (s == "or") return BoolOp::Or;
  if (s == "xor") return BoolOp::Xor;
  if (s == "nand") return BoolOp::Nand;
  if (s == "nor") return BoolOp::Nor;
  if (s == "xnor") return BoolOp::Xnor;
  throw Error("toy", "unknown boolean operation '" + s + "' (and, or, xor, nand, nor, xnor)");
}
inline const char* bool_op_name(BoolOp op) {
  switch (op) {
    case BoolOp::And: return "and";
    case BoolOp::Or: return "or";
    case BoolOp::Xor: return "xor";
    case BoolOp::Nand: return "nand";
    case BoolOp::Nor: return "nor";
    default: return "xnor";
  }
}
inline double apply_bool_op(BoolOp op, bool a, bool b) {
  switch (op) {
    case BoolOp::And: return a && b;
    case BoolOp::Or: return a || b;
    case BoolOp::Xor: return a != b;
    case BoolOp::Nand: return !(a && b);
    case BoolOp::Nor: return !(a || b);
    default: return a == b;
  }
}

struct ToyConfig {
  index_t n_inputs = 4;
  index_t n_hidden = 8;
  std::vector<std::pair<BoolOp, double>> operation = {{BoolOp::And, 1.0}};
  double sparsity = 0.7;  // P(feature = 0)
  index_t batch = 512;
  index_t steps = 1000;
  double lr = 0.01;
  double weight_decay = 1e-3;  // the official fit() default 0.1 collapses these small models to 0
  bool bias = false;
  std::uint64_t seed = 0;

  index_t n_outputs() const { return n_inputs * (n_inputs - 1) / 2; }
  std::vector<std::pair<index_t, index_t>> pairs() const {
    std::vector<std::pair<index_t, index_t>> p;
    for (index_t i = 0; i < n_inputs; ++i)
      for (index_t j = i + 1; j < n_inputs; ++j) p.emplace_back(i, j);
    return p;
  }
  void validate() const {
    BILIN_CHECK(n_inputs >= 2 && n_hidden >= 1 && batch >= 1 && steps >= 0, "toy",
                "need n_inputs >= 2, n_hidden >= 1, batch >= 1, steps >= 0 (got ", n_inputs, ", ", n_hidden, ", ", batch,
                ", ", steps, ")");
    BILIN_CHECK(sparsity >= 0 && sparsity <= 1, "toy", "sparsity must be in [0, 1], got ", sparsity);
    BILIN_CHECK(!operation.empty(), "toy", "no operation configured");
  }
};

template <class T>
class ToyModel : public nn::Module<T> {
 public:
  ToyModel(const ToyConfig& cfg, Generator& gen) {
    cfg.validate();
    left = this->register_module("left", std::make_shared<nn::Linear<T>>(cfg.n_inputs, cfg.n_hidden, cfg.bias, gen));
    right = this->register_module("right", std::make_shared<nn::Linear<T>>(cfg.n_inputs, cfg.n_hidden, cfg.bias, gen));
    head = this->register_module("head", std::make_shared<nn::Linear<T>>(cfg.n_hidden, cfg.n_outputs(), cfg.bias, gen));
  }
  Tensor<T> forward(const Tensor<T>& x) { return head->forward(left->forward(x) * right->forward(x)); }

  std::shared_ptr<nn::Linear<T>> left, right, head;
};

// A batch of boolean inputs [B, n] as 0/1 values.
template <class T>
Tensor<T> toy_batch(const ToyConfig& cfg, Generator& gen) {
  Tensor<T> x = Tensor<T>::empty({cfg.batch, cfg.n_inputs});
  for (index_t k = 0; k < x.numel(); ++k) x.data()[k] = gen.uniform() > cfg.sparsity ? T(1) : T(0);
  return x;
}

template <class T>
Tensor<T> toy_targets(const ToyConfig& cfg, const Tensor<T>& x) {
  const auto pairs = cfg.pairs();
  const index_t B = x.size(0), n = cfg.n_inputs, P = static_cast<index_t>(pairs.size());
  const Tensor<T> xx = detail::dense(x);
  Tensor<T> y = Tensor<T>::zeros({B, P});
  for (index_t b = 0; b < B; ++b)
    for (index_t p = 0; p < P; ++p) {
      const bool xi = xx.data()[b * n + pairs[p].first] > T(0.5), xj = xx.data()[b * n + pairs[p].second] > T(0.5);
      double s = 0;
      for (const auto& [op, w] : cfg.operation) s += w * apply_bool_op(op, xi, xj);
      y.data()[b * P + p] = static_cast<T>(s);
    }
  return y;
}

template <class T>
Tensor<T> interactions(const ToyModel<T>& model) {
  NoGradGuard ng;
  const Tensor<T> L = model.left->weight.detach(), R = model.right->weight.detach(), H = model.head->weight.detach();
  if (!model.left->bias.defined()) return bilinear_tensor(L, R, H);
  // Biases: a constant input appended as feature n; the head bias sits on the constant's diagonal.
  Tensor<T> B = bilinear_tensor(with_bias_input(L, model.left->bias.detach()), with_bias_input(R, model.right->bias.detach()), H);
  const index_t C = B.size(0), m = B.size(1);
  const auto hb = model.head->bias.detach().to_vector();
  for (index_t c = 0; c < C; ++c) B.data()[(c * m + m - 1) * m + m - 1] += hb[c];
  return B;
}

// The exact interaction matrix of op(x_i, x_j) on boolean inputs without a constant term
// (NAND/NOR/XNOR: the quadratic part only, their constant 1 is not representable without bias).
inline std::vector<double> ideal_interaction(BoolOp op, index_t n, index_t i, index_t j) {
  std::vector<double> q(static_cast<std::size_t>(n * n), 0.0);
  double diag = 0, cross = 0;  // op = diag·(x_i + x_j) + 2·cross·x_i x_j (+ constant)
  switch (op) {
    case BoolOp::And: cross = 0.5; break;
    case BoolOp::Or: diag = 1, cross = -0.5; break;
    case BoolOp::Xor: diag = 1, cross = -1; break;
    case BoolOp::Nand: cross = -0.5; break;
    case BoolOp::Nor: diag = -1, cross = 0.5; break;
    case BoolOp::Xnor: diag = -1, cross = 1; break;
  }
  q[i * n + i] = diag;
  q[j * n + j] = diag;
  q[i * n + j] = cross;
  q[j * n + i] = cross;
  return q;
}

}  // namespace bilin::interp
