// Interaction matrices, exact per-class decomposition, truncation, explanations, gradients and
// spectral measures — checked against naive loops, the model's own forward pass and finite
// differences on small random models (no data needed).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "bilin/bilin.hpp"
#include "bilin/interp/adversarial.hpp"
#include "bilin/interp/bilinear_tensor.hpp"
#include "bilin/interp/decompose.hpp"
#include "bilin/interp/explain.hpp"
#include "bilin/interp/quadratic_classifier.hpp"
#include "bilin/interp/spectral.hpp"
#include "bilin/interp/truncation.hpp"
#include "bilin/nn/classifier.hpp"

using namespace bilin;
using namespace bilin::interp;

namespace {

// B[c][i][j] = ½ Σ_o P[c,o](W[o,i]V[o,j] + V[o,i]W[o,j]) with plain loops in double.
std::vector<double> naive_tensor(const TensorD& W, const TensorD& V, const TensorD& P) {
  const index_t h = W.size(0), n = W.size(1), C = P.size(0);
  std::vector<double> B(static_cast<std::size_t>(C * n * n), 0.0);
  for (index_t c = 0; c < C; ++c)
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < n; ++j) {
        double s = 0;
        for (index_t o = 0; o < h; ++o) s += P.at({c, o}) * (W.at({o, i}) * V.at({o, j}) + V.at({o, i}) * W.at({o, j}));
        B[(c * n + i) * n + j] = 0.5 * s;
      }
  return B;
}

double quad(const TensorD& Q, const std::vector<double>& x) {
  const index_t n = Q.size(0);
  double s = 0;
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j) s += x[i] * Q.at({i, j}) * x[j];
  return s;
}

nn::ImageClassifier<double> make_model(bool bias, bool residual, bool embed, std::uint64_t seed, index_t D = 12,
                                       index_t d = 7, index_t C = 4) {
  nn::ClassifierConfig cfg;
  cfg.d_input = D;
  cfg.d_hidden = d;
  cfg.d_output = C;
  cfg.bias = bias;
  cfg.residual = residual;
  cfg.embed = embed;
  Generator gen(seed);
  return nn::ImageClassifier<double>(cfg, gen);
}

}  // namespace

TEST_CASE("bilinear tensor and Q(u) match the naive sums, and u·out(x) = xᵀQx", "[interp]") {
  Generator gen(7);
  const index_t h = 6, n = 5, C = 3;
  const TensorD W = TensorD::randn({h, n}, gen), V = TensorD::randn({h, n}, gen), P = TensorD::randn({C, h}, gen);
  const auto ref = naive_tensor(W, V, P);
  const TensorD B = bilinear_tensor(W, V, P);
  REQUIRE(B.shape() == Shape{C, n, n});
  for (index_t k = 0; k < C * n * n; ++k) REQUIRE(B.data()[k] == Approx(ref[k]).margin(1e-12));
  for (index_t c = 0; c < C; ++c)
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < n; ++j) REQUIRE(B.at({c, i, j}) == B.at({c, j, i}));  // exactly symmetric

  const TensorD u = TensorD::randn({C}, gen);
  const TensorD Q = interaction_matrix(W, V, P, u);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j) {
      double s = 0;
      for (index_t c = 0; c < C; ++c) s += u.at({c}) * ref[(c * n + i) * n + j];
      REQUIRE(Q.at({i, j}) == Approx(s).margin(1e-12));
    }
  // uᵀ P((Wx) ⊙ (Vx)) == xᵀ Q x
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<double> x(n);
    for (auto& v : x) v = gen.normal();
    double out = 0;
    for (index_t c = 0; c < C; ++c) {
      double oc = 0;
      for (index_t o = 0; o < h; ++o) {
        double a = 0, b = 0;
        for (index_t j = 0; j < n; ++j) a += W.at({o, j}) * x[j], b += V.at({o, j}) * x[j];
        oc += P.at({c, o}) * a * b;
      }
      out += u.at({c}) * oc;
    }
    REQUIRE(quad(Q, x) == Approx(out).epsilon(1e-12));
  }

  // Matrix-free operator == dense matrix (also with a linear term and a constant).
  const TensorD uh = hidden_direction(P, u);
  InteractionOperator<double> op(W, V, uh);
  const TensorD x = TensorD::randn({n}, gen);
  const TensorD y = op.apply(x);
  for (index_t i = 0; i < n; ++i) {
    double s = 0;
    for (index_t j = 0; j < n; ++j) s += Q.at({i, j}) * x.at({j});
    REQUIRE(y.at({i}) == Approx(s).margin(1e-12));
  }
  std::vector<double> lin(n);
  for (auto& v : lin) v = gen.normal();
  op.set_linear(lin).set_constant(0.7);
  const TensorD y2 = op.apply(x);
  for (index_t i = 0; i < n; ++i) {
    double s = y.at({i});
    if (i < n - 1) s += 0.5 * lin[i] * x.at({n - 1});
    else {
      for (index_t j = 0; j < n - 1; ++j) s += 0.5 * lin[j] * x.at({j});
      s += 0.7 * x.at({n - 1});
    }
    REQUIRE(y2.at({i}) == Approx(s).margin(1e-12));
  }

  // A bias is a weight on the constant input.
  const TensorD b = TensorD::randn({h}, gen);
  const TensorD Wb = with_bias_input(W, b);
  REQUIRE(Wb.shape() == Shape{h, n + 1});
  REQUIRE(Wb.at({2, n}) == b.at({2}));
  REQUIRE(Wb.at({2, 1}) == W.at({2, 1}));

  REQUIRE_THROWS_WITH(interaction_matrix(W, TensorD::zeros({h, n + 1}), P, u), Catch::Matchers::Contains("W and V"));
  REQUIRE_THROWS_WITH(interaction_matrix(W, V, P, TensorD::zeros({C + 1})), Catch::Matchers::Contains("hidden_direction"));
}

TEST_CASE("per-class decomposition is exact for every architecture variant", "[interp]") {
  struct Variant {
    bool bias, residual, embed;
  };
  for (const Variant var : {Variant{false, false, true}, Variant{true, false, true}, Variant{false, true, true},
                            Variant{true, true, true}, Variant{false, false, false}}) {
    CAPTURE(var.bias, var.residual, var.embed);
    const index_t D = var.embed ? 12 : 7;
    auto net = make_model(var.bias, var.residual, var.embed, 11, D);
    const BilinearClassifier<double> m = from_module(net);
    REQUIRE(m.augmented() == (var.bias || var.residual));
    Generator gen(3);
    const TensorD X = TensorD::randn({9, D}, gen);
    TensorD ref;
    {
      NoGradGuard ng;
      ref = net.forward(X);
    }
    const TensorD mine = m.logits(X);
    for (index_t k = 0; k < ref.numel(); ++k) REQUIRE(mine.data()[k] == Approx(ref.data()[k]).margin(1e-12));

    // u·logits(x) = z̃ᵀ Q(u) z̃ for an arbitrary direction.
    const TensorD u = TensorD::randn({m.num_classes()}, gen);
    const TensorD Q = m.interaction(u);
    const TensorD Z = m.layer_inputs(X);
    for (index_t i = 0; i < 9; ++i) {
      std::vector<double> z(Z.data() + i * Z.size(1), Z.data() + (i + 1) * Z.size(1));
      double s = 0;
      for (index_t c = 0; c < m.num_classes(); ++c) s += u.at({c}) * ref.at({i, c});
      REQUIRE(quad(Q, z) == Approx(s).margin(1e-10));
    }
    // The operator form agrees with the dense one.
    const auto op = m.interaction_operator(u);
    const TensorD v = TensorD::randn({m.form_dim()}, gen);
    const TensorD qv = op.apply(v);
    for (index_t i = 0; i < m.form_dim(); ++i) {
      double s = 0;
      for (index_t j = 0; j < m.form_dim(); ++j) s += Q.at({i, j}) * v.at({j});
      REQUIRE(qv.at({i}) == Approx(s).margin(1e-10));
    }

    const auto comps = decompose_classes(m);
    REQUIRE(comps.size() == static_cast<std::size_t>(m.num_classes()));
    ComponentLogits<double> cl(comps, Z, 3);
    const Exactness ex = exactness(ref, cl.full());
    CAPTURE(ex.max_abs_err);
    REQUIRE(ex.max_rel_err < 1e-10);
    // In pixel space too: logit_c = Σ λ (inputs·x + offset)².
    const Explanation e = explain(comps, X.select(0, 0).contiguous(), m.num_classes());
    for (const auto& ce : e.classes) REQUIRE(ce.logit == Approx(ref.at({0, ce.cls})).margin(1e-10));
    REQUIRE(e.prediction() == static_cast<index_t>(argmax_rows(cl.full(), 9, m.num_classes())[0]));

    for (const auto& ec : comps) {
      REQUIRE(ec.size() == m.form_dim());
      for (index_t i = 1; i < ec.size(); ++i) REQUIRE(ec.value(i - 1) >= ec.value(i));  // descending
      for (index_t i = 0; i < ec.size(); ++i) {
        double s = 0, nrm = 0;
        for (index_t j = 0; j < ec.input_dim(); ++j) s += std::pow(ec.input(i)[j], 3);
        for (index_t j = 0; j < ec.form_dim(); ++j) nrm += ec.vector(i)[j] * ec.vector(i)[j];
        REQUIRE(s > 0);  // sign convention
        REQUIRE(nrm == Approx(1.0).epsilon(1e-10));
      }
      // Orthonormal rows.
      for (index_t a = 0; a < ec.size(); ++a)
        for (index_t b = a + 1; b < ec.size(); ++b) {
          double s = 0;
          for (index_t j = 0; j < ec.form_dim(); ++j) s += ec.vector(a)[j] * ec.vector(b)[j];
          REQUIRE(std::fabs(s) < 1e-10);
        }
    }
  }
}

TEST_CASE("float decomposition of a 64-wide model is exact to float tolerance", "[interp]") {
  nn::ClassifierConfig cfg;
  cfg.d_input = 100;
  cfg.d_hidden = 64;
  cfg.d_output = 10;
  Generator gen(5);
  nn::ImageClassifier<float> net(cfg, gen);
  const auto m = from_module(net);
  const TensorF X = TensorF::uniform({200, 100}, gen, 0, 1);
  const TensorF ref = m.logits(X);
  const auto comps = decompose_classes(m);
  ComponentLogits<float> cl(comps, m.layer_inputs(X), 10);
  const Exactness ex = exactness(ref, cl.full());
  CAPTURE(ex.max_abs_err, ex.max_abs_logit);
  REQUIRE(ex.max_rel_err < 1e-5);
  // Truncation: k = all reproduces the model's predictions; agreement grows to 1.
  std::vector<std::int64_t> labels = argmax_rows(cl.full(), 200, 10);
  const auto curve = truncation_curve(cl, labels, {1, 5, 10, 0});
  REQUIRE(curve.back().all);
  REQUIRE(curve.back().accuracy == 1.0);
  REQUIRE(curve.back().agreement == 1.0);
  REQUIRE(curve[2].k == 10);
}

TEST_CASE("matrix-free Lanczos top-k agrees with the dense decomposition", "[interp]") {
  for (bool bias : {false, true}) {
    CAPTURE(bias);
    auto net = make_model(bias, false, true, 21, 40, 48, 3);
    const auto m = from_module(net);
    DecomposeOptions dense_opt, lz;
    lz.top_k = 6;
    lz.matrix_free = true;
    const auto u = class_direction<double>(3, 1);
    const auto full = decompose_direction(m, u, dense_opt);
    const auto top = decompose_direction(m, u, lz);
    REQUIRE(top.size() == 6);
    REQUIRE(top.lanczos_matvecs > 0);
    const auto order = full.by_magnitude();
    std::vector<double> want, got;
    for (int i = 0; i < 6; ++i) want.push_back(full.value(order[i]));
    for (int i = 0; i < 6; ++i) got.push_back(top.value(i));
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    for (int i = 0; i < 6; ++i) REQUIRE(got[i] == Approx(want[i]).epsilon(1e-8));
    // Same vectors up to the (shared) sign convention.
    for (index_t i = 0; i < top.size(); ++i) {
      index_t j = 0;
      while (std::fabs(full.value(j) - top.value(i)) > 1e-8 * std::fabs(top.value(i))) ++j;
      for (index_t p = 0; p < m.form_dim(); ++p) REQUIRE(top.vector(i)[p] == Approx(full.vector(j)[p]).margin(1e-6));
    }
  }
}

TEST_CASE("input gradient matches finite differences", "[interp]") {
  for (bool bias : {false, true})
    for (bool residual : {false, true}) {
      CAPTURE(bias, residual);
      auto net = make_model(bias, residual, true, 31);
      const auto m = from_module(net);
      Generator gen(8);
      const TensorD X = TensorD::randn({3, 12}, gen);
      const TensorD G = TensorD::randn({3, 4}, gen);
      const TensorD g = m.input_gradient(X, G);
      const double h = 1e-6;
      for (index_t i = 0; i < 3; ++i)
        for (index_t p = 0; p < 12; ++p) {
          TensorD Xp = X.clone(), Xm = X.clone();
          Xp.data()[i * 12 + p] += h;
          Xm.data()[i * 12 + p] -= h;
          const TensorD lp = m.logits(Xp), lm = m.logits(Xm);
          double fd = 0;
          for (index_t c = 0; c < 4; ++c) fd += G.at({i, c}) * (lp.at({i, c}) - lm.at({i, c})) / (2 * h);
          REQUIRE(g.at({i, p}) == Approx(fd).margin(1e-6));
        }
    }
}

TEST_CASE("attack directions are unit and the eigenvector direction raises the runner-up logit", "[interp]") {
  auto net = make_model(false, false, true, 41, 30, 16, 5);
  const auto m = from_module(net);
  const auto comps = decompose_classes(m);
  Generator gen(2);
  const TensorD X = TensorD::uniform({20, 30}, gen, 0, 1);
  const auto labels = predict(m, X);
  for (AttackMethod meth : {AttackMethod::eigenvector, AttackMethod::random, AttackMethod::fgsm}) {
    const TensorD dir = attack_directions(meth, m, comps, X, labels);
    for (index_t i = 0; i < 20; ++i) {
      double s = 0;
      for (index_t j = 0; j < 30; ++j) s += dir.at({i, j}) * dir.at({i, j});
      REQUIRE(s == Approx(1.0).epsilon(1e-9));
    }
  }
  // The eigenvector feature's activation grows monotonically along its direction.
  const TensorD dir = attack_directions(AttackMethod::eigenvector, m, comps, X, labels);
  const TensorD l0 = m.logits(X);
  for (index_t i = 0; i < 20; ++i) {
    index_t t = labels[i] == 0 ? 1 : 0;
    for (index_t c = 0; c < 5; ++c)
      if (c != labels[i] && l0.at({i, c}) > l0.at({i, t})) t = c;
    const auto& ec = comps[t];
    const index_t f = ec.top_positive(1).at(0);
    double a0 = ec.offsets.data()[f], a1 = a0;
    for (index_t j = 0; j < 30; ++j) {
      a0 += ec.input(f)[j] * X.at({i, j});
      a1 += ec.input(f)[j] * (X.at({i, j}) + 0.5 * dir.at({i, j}));
    }
    REQUIRE(a1 * a1 > a0 * a0);
  }
  // FGSM raises the loss for a small step (first order).
  const TensorD fg = attack_directions(AttackMethod::fgsm, m, comps, X, labels);
  TensorD Xp = X.clone();
  for (index_t k = 0; k < Xp.numel(); ++k) Xp.data()[k] += 1e-4 * fg.data()[k];
  const TensorD l1 = m.logits(Xp);
  const auto ce = [&](const TensorD& l, index_t i) {
    double mx = -1e300, s = 0;
    for (index_t c = 0; c < 5; ++c) mx = std::max(mx, l.at({i, c}));
    for (index_t c = 0; c < 5; ++c) s += std::exp(l.at({i, c}) - mx);
    return std::log(s) + mx - l.at({i, labels[i]});
  };
  for (index_t i = 0; i < 20; ++i) REQUIRE(ce(l1, i) > ce(l0, i));
  const auto res = adversarial_sweep(m, comps, X, labels, {0.0, 100.0});
  REQUIRE(res.rate(AttackMethod::random)[0] == 0.0);  // ε = 0 never flips
  REQUIRE(res.samples == 20);
}

TEST_CASE("spectral summaries on known spectra", "[interp]") {
  REQUIRE(effective_rank({3.0, 0.0, 0.0}) == Approx(1.0));
  REQUIRE(effective_rank({-2.0, 2.0, 2.0, -2.0}) == Approx(4.0));
  REQUIRE(effective_rank({0.0, 0.0}) == 0.0);
  REQUIRE(top_mass({5.0, -3.0, 1.0, 1.0}, 2) == Approx(0.8));
  REQUIRE(top_mass({1.0, 1.0}, 10) == Approx(1.0));
  REQUIRE(participation_ratio({1.0, 1.0, 1.0}) == Approx(3.0));
  const auto s = summarize({1.0, -1.0, 0.0});
  REQUIRE(s.positive == 1);
  REQUIRE(s.negative == 1);
}

TEST_CASE("checkpoint layout checks name what is wrong", "[interp]") {
  Generator gen(1);
  io::TensorMap map;
  map.insert("embed.weight", TensorF::randn({8, 20}, gen));
  map.insert("blocks.0.weight", TensorF::randn({16, 8}, gen));
  map.insert("head.weight", TensorF::randn({3, 8}, gen));
  const auto m = from_tensors<float>(map);
  REQUIRE(m.hidden_dim() == 8);
  REQUIRE(m.input_dim() == 20);
  REQUIRE(!m.residual);
  // The left half is rows 0..h-1 of the stacked weight.
  REQUIRE(m.w.at({3, 2}) == map.get<float>("blocks.0.weight").at({3, 2}));
  REQUIRE(m.v.at({3, 2}) == map.get<float>("blocks.0.weight").at({11, 2}));

  io::TensorMap two = map;
  two.insert("blocks.1.weight", TensorF::randn({16, 8}, gen));
  REQUIRE_THROWS_WITH(from_tensors<float>(two), Catch::Matchers::Contains("blocks.1.weight"));

  io::TensorMap relu;
  relu.insert("embed.weight", TensorF::randn({8, 20}, gen));
  relu.insert("blocks.0.weight", TensorF::randn({8, 8}, gen));
  relu.insert("head.weight", TensorF::randn({3, 8}, gen));
  REQUIRE_THROWS_WITH(from_tensors<float>(relu), Catch::Matchers::Contains("ReLU"));

  io::TensorMap glu = map;
  glu.metadata["config"] = R"({"kind":"glu-relu","n_layer":1})";
  REQUIRE_THROWS_WITH(from_tensors<float>(glu), Catch::Matchers::Contains("glu-relu"));

  io::TensorMap res = map;
  res.metadata["config"] = R"({"kind":"bilinear","residual":true})";
  REQUIRE(from_tensors<float>(res).residual);
  REQUIRE(!from_tensors<float>(res, false).residual);
}

TEST_CASE("a difference of classes decomposes exactly too", "[interp]") {
  auto net = make_model(true, false, true, 51, 12, 7, 4);
  const auto m = from_module(net);
  TensorD u = TensorD::zeros({4});
  u.data()[2] = 1;
  u.data()[0] = -1;  // "why 2 rather than 0?"
  const auto ec = decompose_direction(m, u);
  Generator gen(4);
  const TensorD X = TensorD::randn({6, 12}, gen);
  const TensorD l = m.logits(X);
  const TensorD proj = component_projections(ec, m.layer_inputs(X));
  for (index_t i = 0; i < 6; ++i) {
    double s = 0;
    for (index_t k = 0; k < ec.size(); ++k) s += ec.value(k) * proj.at({i, k}) * proj.at({i, k});
    REQUIRE(s == Approx(l.at({i, 2}) - l.at({i, 0})).margin(1e-10));
  }
}
