// The TopK SAE pieces: row top-k against a partial sort; gradcheck of the SAE loss with the
// TopK support held fixed; the sparse backward against the dense composition of existing ops;
// ConstrainedAdam against a hand-written double reference; the transformer's hook points against
// a manual composition of its blocks; errors that name what was wrong; AuxK reaching dead latents.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>
#include <bilin/nn/sae.hpp>
#include <bilin/nn/transformer.hpp>
#include <bilin/optim/constrained_adam.hpp>
#include <bilin/train/sae_trainer.hpp>

#include "test_support.hpp"

using namespace bilin;
using Catch::Matchers::Contains;

namespace {

using SaeIn = std::vector<TensorD>;

// Dense reference of the SAE loss through existing ops: pre = (x − b)·W_encᵀ, masked to the
// given support, decoded by a dense matmul.
template <class T>
Tensor<T> sae_dense_loss(const Tensor<T>& x, const Tensor<T>& W_enc, const Tensor<T>& W_dec, const Tensor<T>& b,
                         const IndexTensor& idx) {
  const index_t n = W_enc.size(0);
  Tensor<T> mask = Tensor<T>::zeros({x.size(0), n});
  for (index_t e = 0; e < idx.numel(); ++e) mask.data()[(e / idx.size(1)) * n + idx.data()[e]] = T(1);
  Tensor<T> h = linear(x - b, W_enc) * mask;
  return mse(linear(h, W_dec) + b, x);
}

double sae_max_rel_diff(const TensorF& a, const TensorF& b) {
  double scale = 0, diff = 0;
  for (index_t i = 0; i < a.numel(); ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>(b.data()[i])));
    diff = std::max(diff, std::fabs(static_cast<double>(a.data()[i]) - b.data()[i]));
  }
  return diff / scale;
}

nn::TransformerConfig sae_tiny_lm() {
  nn::TransformerConfig c;
  c.vocab = 13;
  c.n_layer = 3;
  c.d_model = 8;
  c.n_head = 2;
  c.d_hidden = 12;
  c.n_ctx = 16;
  return c;
}

}  // namespace

TEST_CASE("topk_rows equals a partial sort, ties to the lower index", "[sae][kernels]") {
  Generator gen(3);
  for (index_t n : {7, 33, 100, 1024}) {
    for (index_t k : {1, 5, 30}) {
      if (k > n) continue;
      const index_t rows = 70;
      TensorF x = TensorF::randn({rows, n}, gen);
      // plant ties: a quarter of each row copies one value
      for (index_t r = 0; r < rows; ++r)
        for (index_t j = 0; j < n; j += 4) x.data()[r * n + j] = x.data()[r * n];
      std::vector<float> v1(rows * k), v2(rows * k);
      std::vector<std::int64_t> i1(rows * k), i2(rows * k);
      kernels::topk_rows(x.data(), rows, n, n, k, v1.data(), i1.data());
      kernels::topk_rows_reference(x.data(), rows, n, n, k, v2.data(), i2.data());
      INFO("n " << n << " k " << k);
      CHECK(v1 == v2);
      CHECK(i1 == i2);
    }
  }
  // NaN rows: distinct, in-range indices (the selection itself is unspecified)
  TensorF x = TensorF::randn({2, 200}, gen);
  x.data()[3] = std::nanf("");
  x.data()[200 + 150] = std::nanf("");
  std::vector<float> v(2 * 20);
  std::vector<std::int64_t> ix(2 * 20);
  kernels::topk_rows(x.data(), 2, 200, 200, 20, v.data(), ix.data());
  for (int r = 0; r < 2; ++r) {
    std::set<std::int64_t> seen(ix.begin() + r * 20, ix.begin() + (r + 1) * 20);
    CHECK(seen.size() == 20);
    CHECK(*seen.begin() >= 0);
    CHECK(*seen.rbegin() < 200);
  }
}

TEST_CASE("gradcheck: SAE loss w.r.t. W_enc, W_dec, b_dec with the TopK support fixed", "[sae][gradcheck]") {
  Generator gen(11);
  const index_t B = 6, d = 5, n = 12, k = 3;
  TensorD x = TensorD::randn({B, d}, gen);
  TensorD We = TensorD::randn({n, d}, gen), Wd = TensorD::randn({d, n}, gen), b = TensorD::randn({d}, gen, 0, 0.3);
  // the support TopK picks at the point of evaluation
  TensorD pre = linear(x - b, We);
  const IndexTensor idx = topk_select(pre, k);
  for (bool relu : {false, true}) {
    auto r = gradcheck(
        [&](SaeIn& in) {
          TensorD v = encode_at(x, in[0], in[2], idx, relu);
          return mse(sparse_decode(v, idx, in[1], in[2]), x);
        },
        {We.clone(), Wd.clone(), b.clone()});
    INFO("relu " << relu << ": " << r.report());
    CHECK(r.max_error <= 1e-6);
  }
  // the input too (the ops are differentiable in x)
  auto rx = gradcheck([&](SaeIn& in) { return sparse_decode(encode_at(in[0], We, b, idx), idx, Wd, b); }, {x.clone()});
  INFO(rx.report());
  CHECK(rx.max_error <= 1e-6);
}

TEST_CASE("sparse SAE backward equals the dense one to rounding", "[sae]") {
  Generator gen(5);
  const index_t B = 300, d = 64, n = 256, k = 12;
  nn::TopKSAE<float> sae(nn::SaeConfig{d, n, k}, gen);
  {
    NoGradGuard ng;  // a non-zero b_dec and untied weights, as after training
    for (index_t i = 0; i < d; ++i) sae.b_dec.data()[i] = static_cast<float>(0.1 * gen.normal());
    for (index_t i = 0; i < n * d; ++i) sae.w_enc->weight.data()[i] += static_cast<float>(0.05 * gen.normal());
  }
  TensorF x = TensorF::randn({B, d}, gen);
  TensorF loss = sae.loss(x);
  loss.backward();
  const TensorF gE = sae.w_enc->weight.grad().clone(), gD = sae.w_dec->weight.grad().clone(),
                gb = sae.b_dec.grad().clone();
  const SparseCode<float> code = [&] {
    NoGradGuard ng;
    return sae.encode(x);
  }();
  TensorF We = sae.w_enc->weight.detach().clone().requires_grad_(), Wd = sae.w_dec->weight.detach().clone().requires_grad_(),
          b = sae.b_dec.detach().clone().requires_grad_();
  TensorF dense = sae_dense_loss(x, We, Wd, b, code.indices);
  CHECK(loss.item() == Approx(dense.item()).epsilon(1e-5));
  dense.backward();
  CHECK(sae_max_rel_diff(gE, We.grad()) < 1e-5);
  CHECK(sae_max_rel_diff(gD, Wd.grad()) < 1e-5);
  CHECK(sae_max_rel_diff(gb, b.grad()) < 1e-5);
  // the reconstruction equals the dense decode of the dense codes
  NoGradGuard ng;
  TensorF xh = sae.forward(x);
  TensorF ref = linear(sae.dense_codes(x), sae.w_dec->weight) + sae.b_dec;
  CHECK(sae_max_rel_diff(xh, ref) < 1e-5);
}

TEST_CASE("SAE init: unit decoder columns, tied encoder, zero b_dec, official names", "[sae]") {
  Generator gen(1);
  nn::TopKSAE<float> sae(nn::SaeConfig::with_expansion(16, 4, 5), gen);
  const auto list = sae.state_dict();
  const std::map<std::string, TensorF> sd(list.begin(), list.end());
  REQUIRE(sd.size() == 3);
  CHECK(sd.at("w_enc.weight").shape() == Shape{64, 16});
  CHECK(sd.at("w_dec.weight").shape() == Shape{16, 64});
  CHECK(sd.at("b_dec").shape() == Shape{16});
  for (index_t j = 0; j < 64; ++j) {
    double s = 0;
    for (index_t i = 0; i < 16; ++i) {
      const float w = sae.decoder().data()[i * 64 + j];
      s += static_cast<double>(w) * w;
      CHECK(sae.encoder().data()[j * 16 + i] == w);
    }
    CHECK(s == Approx(1.0).epsilon(1e-6));
  }
  for (index_t i = 0; i < 16; ++i) CHECK(sae.b_dec.data()[i] == 0.0f);
}

TEST_CASE("ConstrainedAdam: projected gradient, Adam step, renormalised columns", "[sae][optim]") {
  Generator gen(9);
  const index_t d = 6, n = 10;
  TensorF W = TensorF::randn({d, n}, gen).requires_grad_();
  kernels::normalize_columns(W.data(), d, n);
  TensorF other = TensorF::randn({4}, gen).requires_grad_();
  std::vector<double> w(W.data(), W.data() + d * n);
  optim::ConstrainedAdam<float> opt({W, other}, {W}, optim::adam_options(0.01));
  std::vector<double> m(d * n, 0), v(d * n, 0);
  for (int step = 1; step <= 3; ++step) {
    TensorF G = TensorF::randn({d, n}, gen);
    std::vector<double> g(G.data(), G.data() + d * n);
    W.set_grad(G);
    other.set_grad(TensorF::randn({4}, gen));
    opt.step();
    // reference in double: g_j −= (g_j·ŵ_j) ŵ_j; Adam; w_j /= ‖w_j‖
    for (index_t j = 0; j < n; ++j) {
      double ww = 0, gw = 0;
      for (index_t i = 0; i < d; ++i) ww += w[i * n + j] * w[i * n + j], gw += g[i * n + j] * w[i * n + j];
      for (index_t i = 0; i < d; ++i) g[i * n + j] -= gw / ww * w[i * n + j];
    }
    const double bc1 = 1 - std::pow(0.9, step), bc2 = 1 - std::pow(0.999, step);
    for (index_t e = 0; e < d * n; ++e) {
      m[e] = 0.9 * m[e] + 0.1 * g[e];
      v[e] = 0.999 * v[e] + 0.001 * g[e] * g[e];
      w[e] -= 0.01 / bc1 * m[e] / (std::sqrt(v[e]) / std::sqrt(bc2) + 1e-8);
    }
    for (index_t j = 0; j < n; ++j) {
      double s = 0;
      for (index_t i = 0; i < d; ++i) s += w[i * n + j] * w[i * n + j];
      for (index_t i = 0; i < d; ++i) w[i * n + j] /= std::sqrt(s);
    }
    for (index_t e = 0; e < d * n; ++e) CHECK(W.data()[e] == Approx(w[e]).margin(2e-6));
  }
  TensorF notparam = TensorF::randn({d, n}, gen);
  CHECK_THAT(bilin_test::error_of([&] { optim::ConstrainedAdam<float>({W}, {notparam}, optim::adam_options(1e-3)); }),
             Contains("not one of the optimized parameters"));
}

TEST_CASE("SAE errors name the problem", "[sae][errors]") {
  Generator gen(2);
  CHECK_THAT(bilin_test::error_of([&] { nn::TopKSAE<float>(nn::SaeConfig{8, 32, 32}, gen); }),
             Contains("k = 32 must satisfy 0 < k < n = 32"));
  CHECK_THAT(bilin_test::error_of([&] { nn::TopKSAE<float>(nn::SaeConfig{8, 32, 0}, gen); }),
             Contains("k = 0 must satisfy"));
  CHECK_THAT(bilin_test::error_of([&] { nn::TopKSAE<float>(nn::SaeConfig{8, 32, -3}, gen); }),
             Contains("k = -3"));
  nn::TopKSAE<float> sae(nn::SaeConfig{8, 32, 4}, gen);
  CHECK_THAT(bilin_test::error_of([&] { sae.encode(TensorF::randn({3, 9}, gen)); }),
             Contains("input of shape [3,9] does not match the SAE's d = 8"));
  IndexTensor bad = IndexTensor::zeros({3, 4});
  bad.data()[5] = 32;
  CHECK_THAT(bilin_test::error_of([&] { sparse_decode(TensorF::randn({3, 4}, gen), bad, sae.decoder()); }),
             Contains("latent index 32 at row 1 is outside [0, 32)"));
}

TEST_CASE("transformer hook points: read, patch, and run only to the needed layer", "[sae][transformer]") {
  Generator gen(4);
  nn::Transformer<double> model(sae_tiny_lm(), gen);
  auto ids = IndexTensor::empty({2, 10}), tg = IndexTensor::empty({2, 10});
  for (index_t i = 0; i < ids.numel(); ++i)
    ids.data()[i] = static_cast<std::int64_t>(gen.randint(13)), tg.data()[i] = static_cast<std::int64_t>(gen.randint(13));
  NoGradGuard ng;
  // manual composition of layer 1's block
  TensorD x0 = model.transformer->wte->forward(ids);
  TensorD x1 = model.block(0).forward(x0);
  auto& b1 = model.block(1);
  TensorD a = b1.attn->forward(b1.n1->forward(x1));
  TensorD mid = x1 + a * model.config().attn_residual_scale();
  TensorD mlp_in = b1.n2->forward(mid);
  TensorD mlp_out = b1.mlp->forward(mlp_in);
  const std::map<nn::HookPoint, TensorD> want{{nn::HookPoint::ResidPre, x1},
                                              {nn::HookPoint::ResidMid, mid},
                                              {nn::HookPoint::MlpIn, mlp_in},
                                              {nn::HookPoint::MlpOut, mlp_out},
                                              {nn::HookPoint::ResidPost, mid + mlp_out}};
  std::set<index_t> layers_seen;
  std::map<nn::HookPoint, TensorD> got;
  TensorD out = model.run_hooked(ids, 1, [&](index_t l, nn::HookPoint p, const TensorD& t) {
    layers_seen.insert(l);
    if (l == 1) got[p] = t;
    return t;
  });
  CHECK(layers_seen == std::set<index_t>{0, 1});  // layer 2 never runs
  for (const auto& [p, w] : want) {
    INFO(nn::hook_point_name(p));
    REQUIRE(got.count(p));
    for (index_t i = 0; i < w.numel(); ++i) CHECK(got[p].data()[i] == Approx(w.data()[i]).margin(1e-12));
  }
  // an identity hook leaves the loss unchanged; zeroing mlp_out of layer 1 equals the model whose
  // layer-1 MLP down-projection is zero
  const double clean = model.loss(ids, tg).item();
  CHECK(model.loss_hooked(ids, tg, [](index_t, nn::HookPoint, const TensorD& t) { return t; }).item() == Approx(clean).epsilon(1e-12));
  const double zeroed = model.loss_hooked(ids, tg, [](index_t l, nn::HookPoint p, const TensorD& t) {
    return l == 1 && p == nn::HookPoint::MlpOut ? TensorD::zeros(t.shape()) : t;
  }).item();
  std::fill_n(b1.mlp->down->weight.data(), b1.mlp->down->weight.numel(), 0.0);
  CHECK(model.loss(ids, tg).item() == Approx(zeroed).epsilon(1e-12));
  CHECK(zeroed != Approx(clean));
  CHECK(nn::parse_hook_point("mlp-out") == nn::HookPoint::MlpOut);
  CHECK_THAT(bilin_test::error_of([] { nn::parse_hook_point("mlp_mid"); }), Contains("unknown hook point 'mlp_mid'"));
  CHECK_THAT(bilin_test::error_of([&] { model.run_hooked(ids, 3, [](index_t, nn::HookPoint, const TensorD& t) { return t; }); }),
             Contains("layer 3 is out of range (the model has 3 layers)"));
}

TEST_CASE("AuxK: dead latents get a gradient only with the auxiliary loss", "[sae][train]") {
  Generator gen(6);
  const TensorF x = TensorF::randn({16, 8}, gen);
  auto changed_rows = [&](index_t aux_k) {
    train::SaeTrainOptions o;
    o.k = 2;
    o.batch = 16;
    o.dead_tokens = 16;  // dead = not fired in the last step
    o.steps = 10;
    o.lr = 1e-2;
    o.aux_k = aux_k;
    train::SaeTrainer t(nn::SaeConfig{8, 32, 2}, o, 1);
    const std::vector<float> before = t.sae().encoder().to_vector();
    for (int s = 0; s < 3; ++s) t.step(x);
    const std::vector<float> after = t.sae().encoder().to_vector();
    std::set<index_t> rows;
    for (index_t j = 0; j < 32; ++j)
      for (index_t i = 0; i < 8; ++i)
        if (after[j * 8 + i] != before[j * 8 + i]) rows.insert(j);
    return std::make_pair(rows, t.dead_fraction());
  };
  const auto [plain, dead_plain] = changed_rows(0);
  const auto [aux, dead_aux] = changed_rows(6);
  CHECK(dead_plain > 0.2);  // the same 16 rows every step fire few of the 32 latents
  CHECK(plain.size() < 32);
  CHECK(aux.size() > plain.size());
  for (index_t j : plain) CHECK(aux.count(j));
  train::SaeTrainOptions bad;
  bad.aux_k = -1;
  CHECK_THAT(bilin_test::error_of([&] { bad.validate(); }), Contains("--aux-k and --aux-coef must be >= 0"));
}
