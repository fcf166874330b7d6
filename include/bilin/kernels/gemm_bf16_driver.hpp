// bilin/kernels/gemm_bf16_driver.hpp — the cache-blocked loop nest of the native bf16 GEMM.
//
// Contract: gemm_bf16_blocked<Backend>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
// max_threads) computes C = alpha·bf16(op(A))·bf16(op(B)) + beta·C (M, N, K ≥ 1, alpha ≠ 0)
// with a backend of gemm_bf16_kernels.hpp on up to max_threads OpenMP threads.
// The loop nest and the thread grid are gemm_driver.hpp's (jc → pc → shared packing of the
// op(B) slice, barrier → each thread's rows → its A block packed → B panels → A panels), with
// two differences: both operands are always packed (that is where they are rounded to bf16),
// and edge tiles (rows past M, columns past N) are computed whole on zero-padded panels into a
// local tile, then copied. The k slices (balanced, whole 32-k blocks) depend on K alone, and
// a C element is summed by one thread in ascending slices, so results are bit-identical for
// every thread count.
// Large outputs (simd::stream_min_bytes) computed in one k slice over beta = 0 are written
// with non-temporal stores: the same values, without reading C's lines into the cache first.
#pragma once
#include <algorithm>
#include <cstdint>

#include <omp.h>

#include "gemm_bf16_kernels.hpp"
#include "gemm_driver.hpp"

namespace bilin::kernels::gemm_bf16_detail {

// Packs `np` consecutive X-wide panels of op(X) (x from x0, nx valid in all; k slice
// [k0, k0 + kb)) to dst, panel r at dst + r·pw, with `pack` (a gemm_bf16_pack.hpp packer).
// A source with k contiguous is read panel by panel, each row along k. Otherwise every k row
// is contiguous in x: 32-k blocks go outermost and all panels of a block are read in turn, so
// each row is read in one sweep across the panels instead of in X-wide pieces a panel's depth
// apart (short streams the hardware prefetchers do not follow).
template <int X, class Pack>
void pack_strips(Pack pack, const float* src, index_t ld, bool k_contig, index_t x0, index_t nx, index_t np,
                 index_t k0, index_t kb, std::uint32_t* dst, index_t pw) {
  const auto origin = [&](index_t x, index_t k) { return k_contig ? src + x * ld + k : src + k * ld + x; };
  if (k_contig) {
    for (index_t r = 0; r < np; ++r)
      pack(origin(x0 + r * X, k0), ld, true, 0, std::min<index_t>(X, nx - r * X), 0, kb, dst + r * pw);
    return;
  }
  for (index_t t = 0; 32 * t < kb; ++t)
    for (index_t r = 0; r < np; ++r)
      pack(origin(x0 + r * X, k0 + 32 * t), ld, false, 0, std::min<index_t>(X, nx - r * X), 0,
           std::min<index_t>(32, kb - 32 * t), dst + r * pw + t * 16 * X);
}

template <class Bk>
void gemm_bf16_blocked(Trans ta, Trans tb, index_t M, index_t N, index_t K, float alpha, const float* A,
                       index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
                       int max_threads) {
  using gemm_detail::balanced_block;
  using gemm_detail::ceil_div;
  constexpr int MR = Bk::MR, NR = Bk::NR;
  // op(A) transposed (the weight gradient dYᵀ·x) is packed in sweeps along its stored rows:
  // long ones pay, so its blocks are many rows (MC_T) deep in a k slice no deeper than keeps
  // them in L2 (kc_transposed(M): from M alone, so the result stays thread-count independent).
  const bool a_kcontig = ta == Trans::N, b_kcontig = tb == Trans::T;
  const index_t kc = balanced_block(K, a_kcontig ? Bk::KC : Bk::kc_transposed(M), 32);
  const index_t nc = balanced_block(N, Bk::NC, NR);
  const index_t bpanel = Bk::b_panel_words(kc), apanel = Bk::a_panel_words(kc);
  std::uint32_t* const bpack =
      gemm_detail::thread_scratch<std::uint32_t, 20>(static_cast<std::size_t>(ceil_div(nc, NR) * bpanel));
  // One k slice over beta = 0 writes C once and never reads it: when C is far larger than a
  // core's L2 its reader will not find it in cache anyway, so write it past the caches.
  const bool stream = beta == 0.0f && kc >= K && reinterpret_cast<std::uintptr_t>(C) % 64 == 0 && ldc % 16 == 0 &&
                      static_cast<std::size_t>(M * N) * sizeof(float) >= simd::stream_min_bytes;

  auto body = [&](int tid, int nt) {
    const index_t mpanels = ceil_div(M, MR);
    const int tm = gemm_detail::row_threads(mpanels, nt);
    const int tn = nt / tm;
    const int ti = tid / tn, tj = tid % tn;
    // Whole panels per thread (the packed A panels are zero-padded, so a split inside a
    // panel would not save work).
    const index_t row0 = mpanels * ti / tm * MR, row1 = std::min(M, mpanels * (ti + 1) / tm * MR);
    const index_t mc = a_kcontig ? Bk::MC : Bk::MC_T;
    std::uint32_t* const apack =
        gemm_detail::thread_scratch<std::uint32_t, 21>(static_cast<std::size_t>(mc / MR * apanel));
    alignas(64) float tile[MR * NR];
    Bk::begin();
    for (index_t jc = 0; jc < N; jc += nc) {
      const index_t ncb = std::min(nc, N - jc);
      const index_t qn = ceil_div(ncb, NR);
      for (index_t pc = 0; pc < K; pc += kc) {
        const index_t kb = std::min(kc, K - pc);
        const index_t bw = Bk::b_panel_words(kb), aw = Bk::a_panel_words(kb);
        const float beta_eff = pc == 0 ? beta : 1.0f;
        {
          const index_t qa = qn * tid / nt, qb = qn * (tid + 1) / nt;
          pack_strips<NR>(Bk::pack_b, B, ldb, b_kcontig, jc + qa * NR, N - (jc + qa * NR), qb - qa, pc, kb,
                          bpack + qa * bw, bw);
        }
        if (nt > 1) {
#pragma omp barrier
        }
        const index_t q0 = qn * tj / tn, q1 = qn * (tj + 1) / tn;
        for (index_t ic = row0; ic < row1; ic += mc) {
          const index_t mb = std::min(mc, row1 - ic);
          const index_t np = ceil_div(mb, MR);
          pack_strips<MR>(Bk::pack_a, A, lda, a_kcontig, ic, row1 - ic, np, pc, kb, apack, aw);
          for (index_t q = q0; q < q1; ++q) {
            const std::uint32_t* bp = bpack + q * bw;
            const index_t j = jc + q * NR;
            const int nr = static_cast<int>(std::min<index_t>(NR, N - j));
            for (index_t r = 0; r < np; ++r) {
              const index_t i = ic + r * MR;
              const int mr = static_cast<int>(std::min<index_t>(MR, mb - r * MR));
              float* c = C + i * ldc + j;
              if (nr == NR && mr == MR) {
                Bk::kernel(kb, apack + r * aw, bp, alpha, beta_eff, c, ldc, stream);
              } else {
                if (beta_eff != 0.0f)
                  for (int y = 0; y < mr; ++y)
                    for (int x = 0; x < nr; ++x) tile[y * NR + x] = c[y * ldc + x];
                Bk::kernel(kb, apack + r * aw, bp, alpha, beta_eff, tile, NR, false);
                for (int y = 0; y < mr; ++y)
                  for (int x = 0; x < nr; ++x) c[y * ldc + x] = tile[y * NR + x];
              }
            }
          }
        }
        if (nt > 1) {
#pragma omp barrier
        }
      }
    }
    Bk::end();
    if (stream) simd::stream_fence();
  };

  gemm_detail::run_team(max_threads, body);
}

}  // namespace bilin::kernels::gemm_bf16_detail
