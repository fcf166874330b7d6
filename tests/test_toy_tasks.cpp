// Toy boolean tasks: data, targets, training, and the interaction matrices the paper reads off.
#include <catch2/catch.hpp>

#include <cmath>

#include "bilin/bilin.hpp"
#include "bilin/interp/toy.hpp"
#include "bilin/train/toy_trainer.hpp"

using namespace bilin;
using namespace bilin::interp;
using bilin::train::train_toy;

TEST_CASE("toy targets follow itertools.combinations order and each operation", "[toy]") {
  ToyConfig cfg;
  cfg.n_inputs = 4;
  const auto pairs = cfg.pairs();
  REQUIRE(pairs.size() == 6);
  REQUIRE(pairs[0] == std::pair<index_t, index_t>{0, 1});
  REQUIRE(pairs[2] == std::pair<index_t, index_t>{0, 3});
  REQUIRE(pairs[5] == std::pair<index_t, index_t>{2, 3});
  const TensorF x = TensorF::from({{1, 1, 0, 1}});
  for (auto [op, want] : std::vector<std::pair<BoolOp, std::vector<float>>>{
           {BoolOp::And, {1, 0, 1, 0, 1, 0}},
           {BoolOp::Or, {1, 1, 1, 1, 1, 1}},
           {BoolOp::Xor, {0, 1, 0, 1, 0, 1}},
           {BoolOp::Nor, {0, 0, 0, 0, 0, 0}}}) {
    cfg.operation = {{op, 1.0}};
    const TensorF y = toy_targets(cfg, x);
    for (int p = 0; p < 6; ++p) REQUIRE(y.at({0, p}) == want[p]);
  }
  cfg.operation = {{BoolOp::And, 1.0}, {BoolOp::Xor, 0.5}};
  REQUIRE(toy_targets(cfg, x).at({0, 1}) == 0.5f);
  // Sparsity: P(x = 1) = 1 − sparsity.
  cfg.batch = 4000;
  Generator gen(1);
  const TensorF b = toy_batch<float>(cfg, gen);
  double ones = 0;
  for (index_t k = 0; k < b.numel(); ++k) ones += b.data()[k];
  REQUIRE(ones / static_cast<double>(b.numel()) == Approx(0.3).margin(0.02));
  REQUIRE_THROWS_WITH(parse_bool_op("implies"), Catch::Matchers::Contains("implies"));
}

TEST_CASE("the interaction tensor of a toy model reproduces its outputs", "[toy]") {
  for (bool bias : {false, true}) {
    ToyConfig cfg;
    cfg.bias = bias;
    Generator gen(3);
    ToyModel<double> model(cfg, gen);
    const TensorD B = interactions(model);
    const index_t m = B.size(1);
    REQUIRE(m == cfg.n_inputs + (bias ? 1 : 0));
    cfg.batch = 5;
    const TensorD x = toy_batch<double>(cfg, gen);
    TensorD y;
    {
      NoGradGuard ng;
      y = model.forward(x);
    }
    for (index_t b = 0; b < 5; ++b)
      for (index_t c = 0; c < cfg.n_outputs(); ++c) {
        std::vector<double> z(static_cast<std::size_t>(m), 1.0);
        for (index_t i = 0; i < cfg.n_inputs; ++i) z[i] = x.at({b, i});
        double q = 0;
        for (index_t i = 0; i < m; ++i)
          for (index_t j = 0; j < m; ++j) q += z[i] * B.at({c, i, j}) * z[j];
        REQUIRE(q == Approx(y.at({b, c})).margin(1e-12));
      }
  }
}

TEST_CASE("a trained AND model has the cross-interaction and no self-interaction", "[toy]") {
  ToyConfig cfg;  // 4 inputs, 8 hidden, AND of every pair, 1000 Adam steps, L2 1e-3
  Generator gen(0);
  ToyModel<float> model(cfg, gen);
  const auto losses = train_toy(model, cfg);
  REQUIRE(losses.size() == 1000);
  CAPTURE(losses.front(), losses.back());
  REQUIRE(losses.back() < 0.02 * losses.front());
  const TensorF B = interactions(model);
  const auto pairs = cfg.pairs();
  const index_t n = cfg.n_inputs;
  for (index_t c = 0; c < cfg.n_outputs(); ++c) {
    const auto [i, j] = pairs[c];
    CAPTURE(c, i, j);
    const double cross = B.at({c, i, j});
    REQUIRE(B.at({c, j, i}) == B.at({c, i, j}));
    REQUIRE(cross > 0.35);  // ideal ½ (x_i x_j = 2·½·x_i x_j), shrunk a little by weight decay
    REQUIRE(cross < 0.55);
    for (index_t a = 0; a < n; ++a)
      for (index_t b = 0; b < n; ++b) {
        if ((a == i && b == j) || (a == j && b == i)) continue;
        CAPTURE(a, b);
        REQUIRE(std::fabs(B.at({c, a, b})) < 0.1 * cross);  // self-interaction and other pairs ≈ 0
      }
  }
}

TEST_CASE("a trained XOR model shows the diagonal and the negative cross term", "[toy]") {
  ToyConfig cfg;
  cfg.operation = {{BoolOp::Xor, 1.0}};
  Generator gen(0);
  ToyModel<float> model(cfg, gen);
  train_toy(model, cfg);
  const TensorF B = interactions(model);
  const auto [i, j] = cfg.pairs()[1];  // (0, 2)
  const auto ideal = ideal_interaction(BoolOp::Xor, cfg.n_inputs, i, j);
  CAPTURE(B.at({1, i, i}), B.at({1, j, j}), B.at({1, i, j}));
  REQUIRE(B.at({1, i, i}) > 0.6);
  REQUIRE(B.at({1, j, j}) > 0.6);
  REQUIRE(B.at({1, i, j}) < -0.6);
  REQUIRE(ideal[i * 4 + j] == -1.0);
}
