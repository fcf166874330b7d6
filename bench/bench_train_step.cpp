// One training step of the paper's MNIST model (embed 784→512, bilinear 512→512, head 512→10):
// forward, cross-entropy, backward, AdamW — and its parts (batch assembly with input noise,
// forward only, optimizer only), at batch 2048 and 256. Synthetic data, so no dataset needed.
//   bench_train_step --benchmark_min_time=0.5
// Counters: samples/s; GFLOP/s counts the GEMM work of the step (2·N·(784·512 + 512·1024 +
// 512·10) forward, twice that minus the unneeded input gradient backward).
#include <benchmark/benchmark.h>

#include <bilin/bilin.hpp>
#include <bilin/data/loader.hpp>
#include <bilin/nn/classifier.hpp>
#include <bilin/optim/adamw.hpp>

using namespace bilin;

namespace {

struct Setup {
  Generator gen{42};
  nn::ClassifierConfig cfg;
  std::unique_ptr<nn::ImageClassifier<float>> model;
  std::unique_ptr<optim::AdamW<float>> opt;
  data::ImageDataset ds;
  std::unique_ptr<data::DataLoader> loader;
  data::Batch batch;

  Setup(index_t B, nn::MlpKind kind) {
    cfg.kind = kind;
    model = std::make_unique<nn::ImageClassifier<float>>(cfg, gen);
    optim::AdamWOptions o;
    o.weight_decay = 0.5;
    opt = std::make_unique<optim::AdamW<float>>(model->parameters(), o);
    const index_t n = 4 * B;
    auto img = Tensor<std::uint8_t>::empty({n, 784});
    auto lab = Tensor<std::int64_t>::empty({n});
    for (index_t i = 0; i < n * 784; ++i) img.data()[i] = static_cast<std::uint8_t>(gen.randint(256));
    for (index_t i = 0; i < n; ++i) lab.data()[i] = static_cast<std::int64_t>(gen.randint(10));
    ds = data::ImageDataset::from_tensors(img, lab, 28, 28);
    data::LoaderOptions lo;
    lo.batch_size = B;
    lo.augment.noise_std = 0.4;
    lo.augment.noise_p = 0.5;
    loader = std::make_unique<data::DataLoader>(ds, lo);
    next();
  }
  void next() {
    if (!loader->next(batch)) {
      loader->start_epoch(loader->position().epoch + 1);
      loader->next(batch);
    }
  }
};

double step_flops(index_t B) {
  const double fwd = 2.0 * static_cast<double>(B) * (784.0 * 512 + 512.0 * 1024 + 512.0 * 10);
  const double bwd = 2 * fwd - 2.0 * static_cast<double>(B) * 784.0 * 512;  // no input gradient
  return fwd + bwd;
}

void BM_TrainStep(benchmark::State& state) {
  const index_t B = state.range(0);
  Setup s(B, static_cast<nn::MlpKind>(state.range(1)));
  for (auto _ : state) {
    s.next();
    Tensor<float> loss = cross_entropy(s.model->forward(s.batch.x), s.batch.y);
    s.opt->zero_grad();
    loss.backward();
    s.opt->step();
    benchmark::DoNotOptimize(loss.item());
  }
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(B), benchmark::Counter::kIsIterationInvariantRate);
  if (state.range(1) == 0)
    state.counters["GFLOP/s"] =
        benchmark::Counter(step_flops(B) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(nn::mlp_kind_name(static_cast<nn::MlpKind>(state.range(1))));
}

void BM_BatchWithNoise(benchmark::State& state) {
  Setup s(state.range(0), nn::MlpKind::Bilinear);
  for (auto _ : state) {
    s.next();
    benchmark::DoNotOptimize(s.batch.x.data());
  }
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Forward(benchmark::State& state) {
  Setup s(state.range(0), nn::MlpKind::Bilinear);
  s.model->eval();
  NoGradGuard ng;
  for (auto _ : state) benchmark::DoNotOptimize(s.model->forward(s.batch.x).data());
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_AdamWStep(benchmark::State& state) {
  Setup s(256, nn::MlpKind::Bilinear);
  Tensor<float> loss = cross_entropy(s.model->forward(s.batch.x), s.batch.y);
  loss.backward();
  for (auto _ : state) s.opt->step();
  state.counters["params"] = static_cast<double>(s.model->num_parameters());
}

}  // namespace

BENCHMARK(BM_TrainStep)
    ->ArgsProduct({{2048, 256}, {static_cast<long>(nn::MlpKind::Bilinear)}})
    ->Args({2048, static_cast<long>(nn::MlpKind::GluRelu)})
    ->Args({2048, static_cast<long>(nn::MlpKind::GluSilu)})
    ->Args({2048, static_cast<long>(nn::MlpKind::Relu)})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_BatchWithNoise)->Arg(2048)->Arg(256)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Forward)->Arg(2048)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AdamWStep)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
