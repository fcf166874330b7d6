// Fused causal attention (ops/attention.hpp) and the attention module (nn/attention.hpp):
// against a naive composition of matmul + masked_fill + softmax, finite differences in double,
// the causal property, and the KV-cache path against the full forward.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>
#include <bilin/nn/attention.hpp>
#include <bilin/ops/attention.hpp>

using namespace bilin;
using Catch::Matchers::Contains;
using In = std::vector<TensorD>;

namespace {
// softmax(q kᵀ · scale, masked causally) v, per head, from differentiable primitives.
template <class T>
Tensor<T> reference_attention(const Tensor<T>& qkv, index_t H) {
  const index_t B = qkv.size(0), Tn = qkv.size(1), D = qkv.size(2) / 3, dh = D / H;
  auto heads = [&](index_t part) {  // [B, H, T, dh]
    return qkv.narrow(2, part * D, D).contiguous().reshape({B, Tn, H, dh}).permute({0, 2, 1, 3});
  };
  Tensor<T> q = heads(0), k = heads(1), v = heads(2);
  Tensor<T> s = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(dh)));
  Mask future = Mask::zeros({Tn, Tn});
  for (index_t i = 0; i < Tn; ++i)
    for (index_t j = i + 1; j < Tn; ++j) future.data()[i * Tn + j] = 1;
  Tensor<T> p = softmax(masked_fill(s, future, -std::numeric_limits<double>::infinity()));
  return matmul(p, v).permute({0, 2, 1, 3}).contiguous().reshape({B, Tn, D});
}

template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to_vector(), y = b.to_vector();
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(static_cast<double>(x[i]) - y[i]));
  return m;
}
}  // namespace

TEST_CASE("causal_attention forward equals the naive composition") {
  Generator gen(5);
  // T = 1, one block, several row blocks with a ragged last one (kAttnRowBlock = 64)
  for (index_t Tn : {1, 7, 64, 65, 150})
    for (index_t H : {1, 3}) {
      const index_t dh = 8, D = H * dh;
      auto qkv = TensorD::randn({2, Tn, 3 * D}, gen);
      INFO("T=" << Tn << " H=" << H);
      CHECK(max_abs_diff(causal_attention(qkv, H), reference_attention(qkv, H)) < 1e-12);
      auto qf = qkv.to<float>();
      CHECK(max_abs_diff(causal_attention(qf, H), reference_attention(qf, H)) < 2e-5);
    }
}

TEST_CASE("gradcheck: causal_attention (double)") {
  Generator gen(6);
  for (index_t Tn : {1, 5, 9}) {
    auto qkv = TensorD::randn({2, Tn, 3 * 2 * 4}, gen);
    auto r = gradcheck([](In& x) { return causal_attention(x[0], 2); }, {qkv});
    INFO("T=" << Tn << ": " << r.report());
    CHECK(r.max_error <= 1e-6);
  }
  // crosses a row block boundary (64) so the dK/dV accumulation over blocks is checked too
  auto qkv = TensorD::randn({1, 70, 3 * 4}, gen);
  auto r = gradcheck([](In& x) { return causal_attention(x[0], 1); }, {qkv});
  INFO(r.report());
  CHECK(r.max_error <= 1e-6);
}

TEST_CASE("causal_attention backward equals the naive composition's on long sequences") {
  Generator gen(7);
  const index_t B = 2, Tn = 200, H = 2, dh = 16, D = H * dh;
  auto a = TensorD::randn({B, Tn, 3 * D}, gen);
  auto b = a.clone();
  a.requires_grad_();
  b.requires_grad_();
  auto seed = TensorD::randn({B, Tn, D}, gen);
  causal_attention(a, H).backward(seed);
  reference_attention(b, H).backward(seed);
  CHECK(max_abs_diff(a.grad(), b.grad()) < 1e-11);
}

TEST_CASE("causal_attention: the future never changes the past") {
  Generator gen(8);
  auto qkv = TensorD::randn({1, 20, 12}, gen);
  auto y0 = causal_attention(qkv, 2);
  auto qkv2 = qkv.clone();
  for (index_t c = 0; c < 12; ++c) qkv2.at({0, 15, c}) += 3.0;  // perturb token 15
  auto y1 = causal_attention(qkv2, 2);
  for (index_t t = 0; t < 20; ++t)
    for (index_t c = 0; c < 4; ++c) {
      if (t < 15) CHECK(y0.at({0, t, c}) == y1.at({0, t, c}));
      else if (c == 0) CHECK(y0.at({0, t, c}) != y1.at({0, t, c}));
    }
}

TEST_CASE("causal_attention: a non-finite value at a later position never reaches an earlier one") {
  Generator gen(9);
  const index_t Tn = 20, D = 4, H = 2, bad = 15;
  auto clean = TensorD::randn({1, Tn, 3 * D}, gen);
  auto seed = TensorD::randn({1, Tn, D}, gen);
  auto run = [&](const TensorD& in, const TensorD& g) {
    auto x = in.clone();
    x.requires_grad_();
    auto y = causal_attention(x, H);
    y.backward(g);
    return std::pair{y.detach(), x.grad()};
  };
  const auto [y0, g0] = run(clean, seed);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  SECTION("NaN in v and k: the outputs and the query gradients before it are unchanged") {
    auto x = clean.clone();
    for (index_t c = D; c < 3 * D; ++c) x.at({0, bad, c}) = nan;  // k and v of every head
    const auto [y1, g1] = run(x, seed);
    for (index_t t = 0; t < bad; ++t)
      for (index_t c = 0; c < D; ++c) {
        CHECK(std::abs(y1.at({0, t, c}) - y0.at({0, t, c})) < 1e-12);
        CHECK(std::abs(g1.at({0, t, c}) - g0.at({0, t, c})) < 1e-12);  // dq
      }
  }
  SECTION("Inf in q: the key and value gradients of later positions are unchanged") {
    auto x = clean.clone();
    auto g = seed.clone();
    for (index_t c = 0; c < D; ++c) x.at({0, bad, c}) = std::numeric_limits<double>::infinity();
    for (index_t c = 0; c < D; ++c) g.at({0, bad, c}) = 0;  // row `bad`'s own output is not finite
    auto ref = seed.clone();
    for (index_t c = 0; c < D; ++c) ref.at({0, bad, c}) = 0;
    const auto [yr, gr] = run(clean, ref);
    const auto [y1, g1] = run(x, g);
    for (index_t t = bad + 1; t < Tn; ++t)
      for (index_t c = D; c < 3 * D; ++c) CHECK(std::abs(g1.at({0, t, c}) - gr.at({0, t, c})) < 1e-12);
  }
  SECTION("NaN in the output gradient: later key/value and other query gradients are unchanged") {
    auto g = seed.clone();
    for (index_t c = 0; c < D; ++c) g.at({0, bad, c}) = nan;
    auto ref = seed.clone();
    for (index_t c = 0; c < D; ++c) ref.at({0, bad, c}) = 0;
    const auto [yr, gr] = run(clean, ref);
    const auto [y1, g1] = run(clean, g);
    for (index_t t = 0; t < Tn; ++t)
      for (index_t c = 0; c < 3 * D; ++c) {
        const bool may_see = (c < D) ? t == bad : t <= bad;
        if (!may_see) CHECK(std::abs(g1.at({0, t, c}) - gr.at({0, t, c})) < 1e-12);
      }
  }
}

TEST_CASE("causal_attention rejects bad shapes") {
  CHECK_THROWS_WITH(causal_attention(TensorF::zeros({2, 3}), 1), Contains("causal_attention"));
  CHECK_THROWS_WITH(causal_attention(TensorF::zeros({1, 3, 10}), 2), Contains("n_head"));
}

TEST_CASE("CausalSelfAttention: parameter names, gradcheck, KV cache = full forward") {
  Generator gen(9);
  nn::CausalSelfAttention<double> attn(8, 2, 16, gen);
  auto names = attn.named_parameters();
  REQUIRE(names.size() == 2);
  CHECK(names[0].first == "qkv.weight");
  CHECK(names[0].second.shape() == Shape{24, 8});
  CHECK(names[1].first == "o.weight");
  CHECK(attn.num_parameters() == 4 * 8 * 8);

  auto x = TensorD::randn({2, 6, 8}, gen);
  auto r = gradcheck([&](In& in) { return attn.forward(in[0]); }, {x.clone()});
  INFO(r.report());
  CHECK(r.max_error <= 1e-6);

  // incremental decoding: prefill 5 tokens, then one at a time
  auto seq = TensorD::randn({1, 12, 8}, gen);
  TensorD full;
  {
    NoGradGuard ng;
    full = attn.forward(seq);
  }
  auto cache = attn.make_cache();
  auto first = attn.forward_step(seq.select(0, 0).narrow(0, 0, 5), cache);
  CHECK(cache.len == 5);
  CHECK(max_abs_diff(first, full.select(0, 0).narrow(0, 0, 5).contiguous()) < 1e-12);
  for (index_t t = 5; t < 12; ++t) {
    auto y = attn.forward_step(seq.select(0, 0).narrow(0, t, 1), cache);
    CHECK(max_abs_diff(y, full.select(0, 0).narrow(0, t, 1).contiguous()) < 1e-12);
  }
  CHECK(cache.len == 12);
  CHECK_THROWS_WITH(attn.forward_step(TensorD::zeros({5, 8}), cache), Contains("cannot add 5 more"));
  CHECK_THROWS_WITH(attn.forward(TensorD::zeros({1, 17, 8})), Contains("exceeds n_ctx"));
}
