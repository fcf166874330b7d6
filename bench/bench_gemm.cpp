// bench/bench_gemm.cpp — Google Benchmark suite for bilin::kernels::gemm.
//
// Square sizes 64..2048 (float and double) and the MNIST training shapes, each on 1 and 2
// OpenMP threads; the "GFLOP" rate counter (shown as GFLOP=…/s) is 2·M·N·K per second. Peer comparisons (OpenBLAS,
// Eigen) live in compare_gemm.cpp.
#include <benchmark/benchmark.h>
#include <bilin/core/random.hpp>
#include <bilin/kernels/gemm.hpp>

#include <vector>

#include <omp.h>

namespace {

using bilin::index_t;
using bilin::kernels::Trans;

template <class T>
void run_gemm(benchmark::State& state, Trans ta, Trans tb, index_t M, index_t N, index_t K, int threads) {
  omp_set_num_threads(threads);
  bilin::Generator g(1);
  std::vector<T> A(static_cast<std::size_t>(M * K)), B(static_cast<std::size_t>(K * N)),
      C(static_cast<std::size_t>(M * N));
  for (auto& x : A) x = static_cast<T>(g.uniform(-1, 1));
  for (auto& x : B) x = static_cast<T>(g.uniform(-1, 1));
  const index_t lda = ta == Trans::N ? K : M, ldb = tb == Trans::N ? N : K;
  for (auto _ : state) {
    bilin::kernels::gemm<T>(ta, tb, M, N, K, T(1), A.data(), lda, B.data(), ldb, T(0), C.data(), N);
    benchmark::DoNotOptimize(C.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP"] =
      benchmark::Counter(2e-9 * double(M) * double(N) * double(K), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = threads;
}

template <class T>
void BM_gemm_square(benchmark::State& state) {
  const index_t n = state.range(0);
  run_gemm<T>(state, Trans::N, Trans::N, n, n, n, static_cast<int>(state.range(1)));
}

// Training shapes: X·W (2048×784·784×512), H·W2 (2048×512·512×1024), weight gradient Hᵀ·dY
// ((2048×1024)ᵀ·(2048×512), op(A) = T), input gradient dY·Wᵀ (op(B) = T).
void BM_gemm_train_fwd1(benchmark::State& s) { run_gemm<float>(s, Trans::N, Trans::N, 2048, 512, 784, int(s.range(0))); }
void BM_gemm_train_fwd2(benchmark::State& s) { run_gemm<float>(s, Trans::N, Trans::N, 2048, 1024, 512, int(s.range(0))); }
void BM_gemm_train_wgrad(benchmark::State& s) { run_gemm<float>(s, Trans::T, Trans::N, 1024, 512, 2048, int(s.range(0))); }
void BM_gemm_train_xgrad(benchmark::State& s) { run_gemm<float>(s, Trans::N, Trans::T, 2048, 784, 512, int(s.range(0))); }

void square_args(benchmark::internal::Benchmark* b) {
  for (int t : {1, 2})
    for (int n : {64, 128, 256, 512, 1024, 2048}) b->Args({n, t});
  b->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
}
void thread_args(benchmark::internal::Benchmark* b) {
  b->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_gemm_square<float>)->Apply(square_args);
BENCHMARK(BM_gemm_square<double>)->Apply(square_args);
BENCHMARK(BM_gemm_train_fwd1)->Apply(thread_args);
BENCHMARK(BM_gemm_train_fwd2)->Apply(thread_args);
BENCHMARK(BM_gemm_train_wgrad)->Apply(thread_args);
BENCHMARK(BM_gemm_train_xgrad)->Apply(thread_args);

BENCHMARK_MAIN();
