// fma_peak — print this machine's measured fp32 FMA peak (bench/gemm_peak.hpp) as one JSON
// line, so comparison scripts (bench/compare_torch_sae.py) can state a fraction of the peak
// measured in the same run.
//
//   fma_peak [--threads 2]
#include <cstdio>

#include <bilin/io/flags.hpp>

#include "gemm_peak.hpp"

int main(int argc, char** argv) {
  try {
    bilin::Flags f("fma_peak", "Measure the fp32 FMA peak (GFLOP/s) on the given number of threads.");
    f.value("threads", "2", "OpenMP threads", "T");
    if (!f.parse(argc, argv)) return 0;
    const int threads = static_cast<int>(f.integer("threads"));
    BILIN_CHECK(threads > 0, "fma_peak", "--threads must be positive, got ", threads);
    std::printf("{\"gflops\":%.3f,\"threads\":%d}\n", bilin_bench::fma_peak_gflops(threads), threads);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fma_peak: error: %s\n", e.what());
    return 1;
  }
}
