// bench_lm — the language model's pieces, each next to the unfused composition it replaces.
//
//   bench_lm [--benchmark_filter=...] [--benchmark_min_time=0.5]
//
// Shapes are the benchmark model (B 16, T 256, d_model 256, 4 heads, vocab 4096):
// - attention: fused causal_attention (forward, forward+backward) vs the composition
//   matmul → masked_fill → softmax → matmul that materializes [B, H, T, T];
// - rms_norm fused vs x·rsqrt(mean(x²)+eps) from primitives; rope forward+backward;
// - unembedding + loss: fused linear_cross_entropy vs linear + cross_entropy;
// - a whole training step (forward, backward, AdamW) in float;
// - decoding one token with the KV cache at context t vs recomputing the whole prefix.
// Threads: OMP_NUM_THREADS (default all cores). Counters report tokens/s where meaningful.
#include <benchmark/benchmark.h>

#include <bilin/bilin.hpp>
#include <bilin/nn/generate.hpp>
#include <bilin/nn/transformer.hpp>
#include <bilin/ops/attention.hpp>
#include <bilin/ops/lm_head.hpp>
#include <bilin/ops/rmsnorm.hpp>
#include <bilin/ops/rope.hpp>
#include <bilin/optim/adamw.hpp>

using namespace bilin;

namespace {
constexpr index_t B = 16, Tn = 256, D = 256, H = 4, V = 4096;

TensorF naive_attention(const TensorF& qkv) {
  const index_t dh = D / H;
  auto heads = [&](index_t part) {
    return qkv.narrow(2, part * D, D).contiguous().reshape({B, Tn, H, dh}).permute({0, 2, 1, 3});
  };
  static Mask future = [] {
    Mask m = Mask::zeros({Tn, Tn});
    for (index_t i = 0; i < Tn; ++i)
      for (index_t j = i + 1; j < Tn; ++j) m.data()[i * Tn + j] = 1;
    return m;
  }();
  TensorF s = matmul(heads(0), heads(1).transpose(-1, -2)) * (1.0 / std::sqrt(double(dh)));
  TensorF p = softmax(masked_fill(s, future, -INFINITY));
  return matmul(p, heads(2)).permute({0, 2, 1, 3}).contiguous().reshape({B, Tn, D});
}

template <bool Backward, bool Fused>
void BM_attention(benchmark::State& st) {
  Generator gen(1);
  auto qkv = TensorF::randn({B, Tn, 3 * D}, gen);
  if (Backward) qkv.requires_grad_();
  auto seed = TensorF::randn({B, Tn, D}, gen);
  for (auto _ : st) {
    TensorF y = Fused ? causal_attention(qkv, H) : naive_attention(qkv);
    if (Backward) {
      y.backward(seed);
      qkv.set_grad(TensorF());
    }
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["tokens/s"] = benchmark::Counter(double(B * Tn), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_TEMPLATE(BM_attention, false, true)->Name("attention_fwd/fused")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_attention, false, false)->Name("attention_fwd/naive")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_attention, true, true)->Name("attention_fwd_bwd/fused")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_attention, true, false)->Name("attention_fwd_bwd/naive")->Unit(benchmark::kMillisecond);

template <bool Fused>
void BM_rmsnorm(benchmark::State& st) {
  Generator gen(2);
  auto x = TensorF::randn({B * Tn, D}, gen).requires_grad_();
  auto seed = TensorF::randn({B * Tn, D}, gen);
  for (auto _ : st) {
    TensorF y = Fused ? rms_norm(x) : x * rsqrt(mean(square(x), {-1}, true) + 1e-8);
    y.backward(seed);
    x.set_grad(TensorF());
  }
}
BENCHMARK_TEMPLATE(BM_rmsnorm, true)->Name("rmsnorm_fwd_bwd/fused")->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_rmsnorm, false)->Name("rmsnorm_fwd_bwd/primitives")->Unit(benchmark::kMicrosecond);

void BM_rope(benchmark::State& st) {
  Generator gen(3);
  RopeTable<float> tab(D / H, Tn);
  auto x = TensorF::randn({B, Tn, 3 * D}, gen).requires_grad_();
  auto seed = TensorF::randn({B, Tn, 3 * D}, gen);
  for (auto _ : st) {
    rope(x, tab, 2 * D).backward(seed);
    x.set_grad(TensorF());
  }
}
BENCHMARK(BM_rope)->Name("rope_fwd_bwd")->Unit(benchmark::kMicrosecond);

template <bool Fused>
void BM_lm_loss(benchmark::State& st) {
  Generator gen(4);
  auto x = TensorF::randn({B * Tn, D}, gen).requires_grad_();
  auto W = TensorF::randn({V, D}, gen, 0, 0.05).requires_grad_();
  auto t = IndexTensor::empty({B * Tn});
  for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<std::int64_t>(gen.randint(V));
  for (auto _ : st) {
    TensorF l = Fused ? linear_cross_entropy(x, W, t) : cross_entropy(linear(x, W), t);
    l.backward();
    x.set_grad(TensorF());
    W.set_grad(TensorF());
  }
  st.counters["tokens/s"] = benchmark::Counter(double(B * Tn), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_TEMPLATE(BM_lm_loss, true)->Name("unembed_loss_fwd_bwd/fused")->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_lm_loss, false)->Name("unembed_loss_fwd_bwd/linear+cross_entropy")->Unit(benchmark::kMillisecond);

void BM_train_step(benchmark::State& st) {
  Generator gen(5);
  nn::TransformerConfig c;  // vocab 4096, 4 layers, d 256, 4 heads, hidden 1024, ctx 256
  c.mlp = static_cast<nn::MlpKind>(st.range(0));
  nn::Transformer<float> m(c, gen);
  optim::AdamW<float> opt(m.parameters());
  auto ids = IndexTensor::empty({B, Tn}), tgt = IndexTensor::empty({B, Tn});
  for (index_t i = 0; i < ids.numel(); ++i) {
    ids.data()[i] = static_cast<std::int64_t>(gen.randint(V));
    tgt.data()[i] = static_cast<std::int64_t>(gen.randint(V));
  }
  for (auto _ : st) {
    opt.zero_grad();
    TensorF l = m.loss(ids, tgt);
    l.backward();
    opt.step();
  }
  st.SetLabel(nn::mlp_kind_name(c.mlp));
  st.counters["tokens/s"] = benchmark::Counter(double(B * Tn), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_train_step)
    ->Name("train_step")
    ->Arg(static_cast<int>(nn::MlpKind::Bilinear))
    ->Arg(static_cast<int>(nn::MlpKind::GluSilu))
    ->Arg(static_cast<int>(nn::MlpKind::Relu))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// One new token at context length t: cached forward_step vs a full forward over t + 1 tokens.
template <bool Cached>
void BM_decode(benchmark::State& st) {
  Generator gen(6);
  nn::TransformerConfig c;
  nn::Transformer<float> m(c, gen);
  const index_t t = st.range(0);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(t + 1));
  for (auto& v : ids) v = static_cast<std::int64_t>(gen.randint(V));
  NoGradGuard ng;
  auto caches = m.make_caches();
  m.forward_step(IndexTensor::from_vector(std::vector<std::int64_t>(ids.begin(), ids.end() - 1)), caches);
  for (auto _ : st) {
    if (Cached) {
      for (auto& cc : caches) cc.len = t;  // drop the token added by the previous iteration
      benchmark::DoNotOptimize(m.forward_step(IndexTensor::from_vector({ids.back()}), caches).data());
    } else {
      benchmark::DoNotOptimize(m.forward(IndexTensor::from_vector(ids, {1, t + 1})).data());
    }
  }
}
BENCHMARK_TEMPLATE(BM_decode, true)->Name("decode_token/kv_cache")->Arg(16)->Arg(64)->Arg(255)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_decode, false)->Name("decode_token/recompute")->Arg(16)->Arg(64)->Arg(255)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
