// The language model (nn/transformer.hpp): parameter names and counts as in the paper's code,
// gradchecks in double (one full block, the whole tiny model's loss, the fused cross-entropy on
// logits), causality, KV-cache decoding against the full forward, config JSON.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>
#include <bilin/nn/transformer.hpp>
#include <bilin/optim/adamw.hpp>

using namespace bilin;
using Catch::Matchers::Contains;
using In = std::vector<TensorD>;

namespace {
nn::TransformerConfig tiny(nn::MlpKind kind = nn::MlpKind::Bilinear) {
  nn::TransformerConfig c;
  c.vocab = 11;
  c.n_layer = 2;
  c.d_model = 8;
  c.n_head = 2;
  c.d_hidden = 12;
  c.n_ctx = 16;
  c.mlp = kind;
  return c;
}
IndexTensor random_ids(Generator& g, index_t B, index_t Tn, index_t V) {
  auto t = IndexTensor::empty({B, Tn});
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<std::int64_t>(g.randint(V));
  return t;
}
}  // namespace

TEST_CASE("Transformer: official parameter names and the paper's parameter count") {
  Generator gen(1);
  for (auto kind : {nn::MlpKind::Bilinear, nn::MlpKind::GluSilu, nn::MlpKind::Relu}) {
    auto c = tiny(kind);
    nn::Transformer<float> m(c, gen);
    std::vector<std::string> names;
    for (auto& [n, t] : m.named_parameters()) names.push_back(n);
    const bool gated = kind != nn::MlpKind::Relu;
    std::vector<std::string> want{"transformer.wte.weight"};
    for (int i = 0; i < 2; ++i)
      for (const char* p : {"attn.qkv.weight", "attn.o.weight", "mlp.up.weight", "mlp.down.weight"})
        want.push_back("transformer.h." + std::to_string(i) + "." + p);
    want.push_back("lm_head.weight");
    CHECK(names == want);
    CHECK(nn::Transformer<float>::official_name("transformer.h.1.mlp.up.weight") == "transformer.h.1.mlp.w.weight");
    CHECK(nn::Transformer<float>::official_name("transformer.h.0.mlp.down.weight") == "transformer.h.0.mlp.p.weight");
    const index_t D = 8, H = 12, V = 11, L = 2;
    const index_t per_layer = 3 * D * D + D * D + (gated ? 2 : 1) * H * D + H * D;
    CHECK(m.num_parameters() == 2 * V * D + L * per_layer);
  }
  // the benchmark model: bilinear 4 layers d256 h1024 vocab 4096
  nn::TransformerConfig big;
  nn::Transformer<float> m(big, gen);
  CHECK(m.num_parameters() == 2 * 4096 * 256 + 4 * (4 * 256 * 256 + 3 * 1024 * 256));
  // affine norms add their weights
  auto c = tiny();
  c.norm_affine = true;
  nn::Transformer<float> a(c, gen);
  CHECK(a.num_parameters() == nn::Transformer<float>(tiny(), gen).num_parameters() + (2 * 2 + 1) * 8);
}

TEST_CASE("gradcheck: one full transformer block (double)") {
  Generator gen(2);
  for (auto kind : {nn::MlpKind::Bilinear, nn::MlpKind::GluSilu}) {
    for (bool affine : {false, true}) {
      auto c = tiny(kind);
      c.norm_affine = affine;
      nn::TransformerBlock<double> block(c, gen);
      auto params = block.parameters();
      if (affine) {  // move the norm weights off 1 so their gradient is generic
        NoGradGuard ng;
        for (auto& [n, p] : block.named_parameters())
          if (n.find("norm") != std::string::npos) p.copy_(TensorD::uniform(p.shape(), gen, 0.5, 1.5));
      }
      In inputs{TensorD::randn({2, 6, 8}, gen)};
      for (auto& p : params) inputs.push_back(p);
      auto r = gradcheck([&](In& x) { return block.forward(x[0]); }, inputs);
      INFO(nn::mlp_kind_name(kind) << " affine=" << affine << ": " << r.report());
      CHECK(r.max_error <= 1e-6);
    }
  }
}

TEST_CASE("gradcheck: the whole tiny model's loss w.r.t. every parameter (double)") {
  Generator gen(3);
  nn::Transformer<double> m(tiny(), gen);
  auto ids = random_ids(gen, 2, 7, 11), tgt = random_ids(gen, 2, 7, 11);
  auto r = gradcheck([&](In&) { return m.loss(ids, tgt); }, m.parameters());
  INFO(r.report());
  CHECK(r.max_error <= 1e-6);
}

TEST_CASE("gradcheck: fused cross-entropy on logits (double)") {
  Generator gen(4);
  auto tgt = IndexTensor::from_vector({0, 4, 2, 4, 1, 3}, {2, 3});
  for (Reduction red : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    CrossEntropyOptions o;
    o.reduction = red;
    auto r = gradcheck([&](In& x) { return cross_entropy(x[0], tgt, o); }, {TensorD::randn({2, 3, 5}, gen)});
    INFO(r.report());
    CHECK(r.max_error <= 1e-6);
  }
  // equals −log softmax at the target, averaged
  auto logits = TensorD::randn({6, 5}, gen);
  auto t1 = tgt.reshape({6});
  const double ce = cross_entropy(logits, t1).item();
  auto ls = log_softmax(logits);
  double want = 0;
  for (index_t i = 0; i < 6; ++i) want -= ls.at({i, t1.data()[i]});
  CHECK(ce == Approx(want / 6).epsilon(1e-13));
}

TEST_CASE("Transformer is causal, and KV-cache decoding equals the full forward") {
  Generator gen(5);
  for (auto kind : {nn::MlpKind::Bilinear, nn::MlpKind::Relu}) {
    nn::Transformer<double> m(tiny(kind), gen);
    NoGradGuard ng;
    auto ids = random_ids(gen, 1, 12, 11);
    auto full = m.forward(ids);  // [1, 12, V]
    auto ids2 = ids.clone();
    ids2.data()[8] = (ids2.data()[8] + 1) % 11;
    auto changed = m.forward(ids2);
    for (index_t t = 0; t < 12; ++t) {
      double d = 0;
      for (index_t v = 0; v < 11; ++v) d = std::max(d, std::abs(full.at({0, t, v}) - changed.at({0, t, v})));
      if (t < 8) CHECK(d == 0.0);
      else CHECK(d > 0.0);
    }
    auto caches = m.make_caches();
    auto row = [&](index_t t) { return full.select(0, 0).select(0, t); };
    auto logits = m.forward_step(ids.reshape({12}).narrow(0, 0, 4).contiguous(), caches);  // prefill 4
    for (index_t v = 0; v < 11; ++v) CHECK(logits.data()[v] == Approx(row(3).at({v})).epsilon(1e-12).margin(1e-12));
    for (index_t t = 4; t < 12; ++t) {
      logits = m.forward_step(ids.reshape({12}).narrow(0, t, 1).contiguous(), caches);
      for (index_t v = 0; v < 11; ++v) CHECK(logits.data()[v] == Approx(row(t).at({v})).epsilon(1e-12).margin(1e-12));
    }
    CHECK(caches[0].len == 12);
  }
}

TEST_CASE("TransformerConfig JSON round trip and validation") {
  auto c = tiny(nn::MlpKind::GluGelu);
  c.norm_affine = true;
  c.attn_scale = false;
  c.rope_base = 500;
  auto d = nn::TransformerConfig::from_json(c.to_json());
  CHECK(d.to_json() == c.to_json());
  CHECK(d.mlp == nn::MlpKind::GluGelu);
  c.n_head = 3;
  CHECK_THROWS_WITH(c.validate(), Contains("not divisible by n_head"));
  CHECK_THROWS_WITH(nn::TransformerConfig::from_json("{\"vocab\": 5}"), Contains("lacks 'n_layer'"));
  CHECK_THROWS_WITH(nn::TransformerConfig::from_json("[1]"), Contains("must be an object"));
  Generator gen(1);
  nn::Transformer<float> m(tiny(), gen);
  CHECK_THROWS_WITH(m.forward(IndexTensor::zeros({1, 17})), Contains("exceeds n_ctx"));
  CHECK_THROWS_WITH(m.forward(IndexTensor::from_vector({11}, {1, 1})), Contains("out of range"));
}

TEST_CASE("a tiny model learns a deterministic sequence (float, AdamW)") {
  Generator gen(6);
  auto c = tiny();
  c.vocab = 8;
  nn::Transformer<float> m(c, gen);
  // x_{t+1} = (3 x_t + 1) mod 8: perfectly predictable from the previous token
  auto ids = IndexTensor::empty({4, 12}), tgt = IndexTensor::empty({4, 12});
  for (index_t b = 0; b < 4; ++b) {
    std::int64_t x = b;
    for (index_t t = 0; t < 12; ++t) {
      ids.at({b, t}) = x;
      x = (3 * x + 1) % 8;
      tgt.at({b, t}) = x;
    }
  }
  optim::AdamWOptions o;
  o.lr = 1e-2;
  optim::AdamW<float> opt(m.parameters(), o);
  float first = 0, last = 0;
  for (int s = 0; s < 150; ++s) {
    opt.zero_grad();
    auto loss = m.loss(ids, tgt);
    if (s == 0) first = loss.item();
    last = loss.item();
    loss.backward();
    opt.step();
  }
  CHECK(first > 1.5f);
  CHECK(last < 0.05f);
}
