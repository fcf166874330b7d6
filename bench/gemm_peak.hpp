// bench/gemm_peak.hpp — measure this machine's fp32 FMA peak in the running program.
//
// Contract: fma_peak_gflops(threads) runs `threads` OpenMP threads, each executing a tight
// loop of 12 independent vector FMAs (zmm with AVX-512, ymm with AVX2+FMA; written in inline
// asm so the compiler can neither drop nor reorder them), and returns the best total
// GFLOP/s over `repeats` runs of about `seconds` each. Counting: one FMA on W float lanes =
// 2·W FLOP. Without AVX2/FMA it returns 0 (no meaningful peak to compare against).
// bf16_dot_peak_gflops / amx_peak_gflops do the same with the two bf16 instructions of
// kernels/gemm_bf16_kernels.hpp (vdpbf16ps: 2 multiply-adds per fp32 lane; tdpbf16ps: a
// 16×16×32 tile product), 0 where the build or the machine lacks them.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>

#include <omp.h>

#include <bilin/kernels/gemm_bf16_kernels.hpp>

namespace bilin_bench {

// Executes iters × 12 vector FMAs; returns FLOP per iteration.
inline double fma_loop(std::int64_t iters) {
#if defined(__AVX512F__) && defined(__GNUC__)
#define BILIN_FMA12(R)                                                                                          \
  "vfmadd231" R " %%zmm12,%%zmm13,%%zmm0\n vfmadd231" R " %%zmm12,%%zmm13,%%zmm1\n vfmadd231" R                 \
  " %%zmm12,%%zmm13,%%zmm2\n vfmadd231" R " %%zmm12,%%zmm13,%%zmm3\n vfmadd231" R " %%zmm12,%%zmm13,%%zmm4\n"  \
  "vfmadd231" R " %%zmm12,%%zmm13,%%zmm5\n vfmadd231" R " %%zmm12,%%zmm13,%%zmm6\n vfmadd231" R                 \
  " %%zmm12,%%zmm13,%%zmm7\n vfmadd231" R " %%zmm12,%%zmm13,%%zmm8\n vfmadd231" R " %%zmm12,%%zmm13,%%zmm9\n"   \
  "vfmadd231" R " %%zmm12,%%zmm13,%%zmm10\n vfmadd231" R " %%zmm12,%%zmm13,%%zmm11\n"
  __asm__ volatile(
      "vpxord %%zmm0,%%zmm0,%%zmm0\n vmovaps %%zmm0,%%zmm1\n vmovaps %%zmm0,%%zmm2\n vmovaps %%zmm0,%%zmm3\n"
      "vmovaps %%zmm0,%%zmm4\n vmovaps %%zmm0,%%zmm5\n vmovaps %%zmm0,%%zmm6\n vmovaps %%zmm0,%%zmm7\n"
      "vmovaps %%zmm0,%%zmm8\n vmovaps %%zmm0,%%zmm9\n vmovaps %%zmm0,%%zmm10\n vmovaps %%zmm0,%%zmm11\n"
      "vmovaps %%zmm0,%%zmm12\n vmovaps %%zmm0,%%zmm13\n"
      "1:\n" BILIN_FMA12("ps") "dec %0\n jnz 1b\n vzeroupper\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "cc");
#undef BILIN_FMA12
  return 12.0 * 16 * 2;
#elif defined(__AVX2__) && defined(__FMA__) && defined(__GNUC__)
#define BILIN_FMA12                                                                                          \
  "vfmadd231ps %%ymm12,%%ymm13,%%ymm0\n vfmadd231ps %%ymm12,%%ymm13,%%ymm1\n vfmadd231ps %%ymm12,%%ymm13,%%ymm2\n" \
  "vfmadd231ps %%ymm12,%%ymm13,%%ymm3\n vfmadd231ps %%ymm12,%%ymm13,%%ymm4\n vfmadd231ps %%ymm12,%%ymm13,%%ymm5\n" \
  "vfmadd231ps %%ymm12,%%ymm13,%%ymm6\n vfmadd231ps %%ymm12,%%ymm13,%%ymm7\n vfmadd231ps %%ymm12,%%ymm13,%%ymm8\n" \
  "vfmadd231ps %%ymm12,%%ymm13,%%ymm9\n vfmadd231ps %%ymm12,%%ymm13,%%ymm10\n vfmadd231ps %%ymm12,%%ymm13,%%ymm11\n"
  __asm__ volatile(
      "vxorps %%ymm0,%%ymm0,%%ymm0\n vmovaps %%ymm0,%%ymm1\n vmovaps %%ymm0,%%ymm2\n vmovaps %%ymm0,%%ymm3\n"
      "vmovaps %%ymm0,%%ymm4\n vmovaps %%ymm0,%%ymm5\n vmovaps %%ymm0,%%ymm6\n vmovaps %%ymm0,%%ymm7\n"
      "vmovaps %%ymm0,%%ymm8\n vmovaps %%ymm0,%%ymm9\n vmovaps %%ymm0,%%ymm10\n vmovaps %%ymm0,%%ymm11\n"
      "vmovaps %%ymm0,%%ymm12\n vmovaps %%ymm0,%%ymm13\n"
      "1:\n" BILIN_FMA12 "dec %0\n jnz 1b\n vzeroupper\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "cc");
#undef BILIN_FMA12
  return 12.0 * 8 * 2;
#else
  (void)iters;
  return 0.0;
#endif
}

// The best total GFLOP/s of `loop` (iterations → FLOP per iteration) on `threads` threads.
template <class Loop>
double loop_peak_gflops(Loop loop, int threads, double seconds = 0.05, int repeats = 5) {
  // Calibrate the iteration count on one thread so each run lasts about `seconds`.
  std::int64_t iters = 1 << 16;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    loop(iters);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > seconds / 4 || iters > (std::int64_t{1} << 40)) {
      iters = static_cast<std::int64_t>(static_cast<double>(iters) * seconds / std::max(s, 1e-9));
      break;
    }
    iters *= 4;
  }
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    double flops = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
    flops += loop(iters) * static_cast<double>(iters);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flops / s * 1e-9);
  }
  return best;
}

inline double fma_peak_gflops(int threads, double seconds = 0.05, int repeats = 5) {
  return loop_peak_gflops(fma_loop, threads, seconds, repeats);
}

// 12 independent vdpbf16ps per iteration (AVX512-BF16): each does 16 lanes × 2 multiply-adds.
inline double bf16_dot_loop(std::int64_t iters) {
#if defined(__AVX512BF16__) && defined(__GNUC__)
#define BILIN_DP12(I)                                                                                          \
  I " %%zmm12,%%zmm13,%%zmm0\n" I " %%zmm12,%%zmm13,%%zmm1\n" I " %%zmm12,%%zmm13,%%zmm2\n" I                     \
    " %%zmm12,%%zmm13,%%zmm3\n" I " %%zmm12,%%zmm13,%%zmm4\n" I " %%zmm12,%%zmm13,%%zmm5\n" I                     \
    " %%zmm12,%%zmm13,%%zmm6\n" I " %%zmm12,%%zmm13,%%zmm7\n" I " %%zmm12,%%zmm13,%%zmm8\n" I                     \
    " %%zmm12,%%zmm13,%%zmm9\n" I " %%zmm12,%%zmm13,%%zmm10\n" I " %%zmm12,%%zmm13,%%zmm11\n"
  __asm__ volatile("vpxord %%zmm12,%%zmm12,%%zmm12\n vpxord %%zmm13,%%zmm13,%%zmm13\n"
                   "1:\n" BILIN_DP12("vdpbf16ps") "dec %0\n jnz 1b\n vzeroupper\n"
                   : "+r"(iters)
                   :
                   : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                     "xmm11", "xmm12", "xmm13", "cc");
#undef BILIN_DP12
  return 12.0 * 32 * 2;
#else
  (void)iters;
  return 0.0;
#endif
}

inline double bf16_dot_peak_gflops(int threads) { return loop_peak_gflops(bf16_dot_loop, threads); }

// 4 independent tdpbf16ps per iteration on tiles already loaded (AMX-BF16): each does
// 16 × 16 outputs × 32 multiply-adds. Needs the tile state (gemm_bf16_kernels.hpp).
inline double amx_loop(std::int64_t iters) {
#if defined(BILIN_HAVE_AMX)
  using bilin::kernels::gemm_bf16_detail::AmxBackend;
  AmxBackend::begin();
  alignas(64) static const std::uint32_t ones[256] = {};
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_loadd(6, ones, 64);
  _tile_loadd(7, ones, 64);
  for (std::int64_t i = 0; i < iters; ++i) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  AmxBackend::end();
  return 4.0 * 16 * 16 * 32 * 2;
#else
  (void)iters;
  return 0.0;
#endif
}

// The GEMM's own AMX micro-kernel (AmxBackend::kernel, alpha = beta = 1, C in place) over one
// packed 32 × 256 A panel and one 256 × 32 B panel, 36 KiB in all, so every tile load hits L1:
// what the kernel's tile loads between its tile products leave of amx_loop's peak, before any
// packing, cache miss or threading. A GEMM's fraction of this is its loss to everything else.
inline double amx_kernel_loop(std::int64_t iters) {
#if defined(BILIN_HAVE_AMX)
  using bilin::kernels::gemm_bf16_detail::AmxBackend;
  constexpr bilin::index_t kb = 256;
  alignas(64) thread_local std::uint32_t a[kb / 2 * 32], b[kb / 2 * 32];
  alignas(64) thread_local float c[32 * 32];
  std::fill(std::begin(a), std::end(a), 0x3F803F80u);  // bf16 pairs (1, 1)
  std::fill(std::begin(b), std::end(b), 0x3F803F80u);
  AmxBackend::begin();
  for (std::int64_t i = 0; i < iters; ++i) AmxBackend::kernel(kb, a, b, 1.0f, 1.0f, c, 32, false);
  AmxBackend::end();
  return 2.0 * 32 * 32 * kb;
#else
  (void)iters;
  return 0.0;
#endif
}

inline double amx_kernel_gflops(int threads) {
#if defined(BILIN_HAVE_AMX)
  if (!bilin::kernels::gemm_bf16_detail::amx_permitted()) return 0;
#endif
  return loop_peak_gflops(amx_kernel_loop, threads);
}

inline double amx_peak_gflops(int threads) {
#if defined(BILIN_HAVE_AMX)
  if (!bilin::kernels::gemm_bf16_detail::amx_permitted()) return 0;
#endif
  return loop_peak_gflops(amx_loop, threads);
}

}  // namespace bilin_bench
