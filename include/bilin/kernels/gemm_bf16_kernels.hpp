// bilin/kernels/gemm_bf16_kernels.hpp — the two native bf16 micro-kernels and their blocking.
//
// Contract: a backend struct names its register tile MR × NR, cache blocks KC / MC / NC (and
// MC_T, kc_transposed(M) for a transposed op(A), see gemm_bf16_driver.hpp), its
// packers (gemm_bf16_pack.hpp) and kernel(kb, a, b, alpha, beta, c, ldc, stream), which
// computes the full MR × NR tile  C = alpha·Σ_k A(i,k)·B(k,j) + beta·C  (beta == 0: C is not
// read) from one packed A panel and one packed B panel of a kb-deep k slice. Within a tile
// every element is summed in a fixed order of k (whatever the tile's position), so the
// driver's result does not depend on the thread count.
// stream (only with beta == 0, c 64-byte aligned and ldc a multiple of 16): C is written with
// non-temporal stores. A large output that is not in cache then costs one write to memory
// instead of a read for ownership plus a write; the caller fences before C is read.
// - Avx512Bf16Backend: vdpbf16ps (AVX512-BF16: Zen 4/5, Cooper Lake, Sapphire Rapids),
//   14 × 32 tile in 28 zmm accumulators, one broadcast A pair word per row and k pair, the
//   same shape as the fp32 kernel (gemm_microkernel.hpp). vdpbf16ps adds the two products
//   of a pair to the accumulator, each rounded to fp32 (Intel SDM).
// - AmxBackend: AMX-BF16 tiles (Sapphire Rapids and later): a 32 × 32 tile in four 16 × 16
//   fp32 C tiles, two A and two B tiles per 32-deep k block, one tdpbf16ps per C tile. The
//   C tiles are read and written in place when alpha = 1 and beta ∈ {0, 1}, else through a
//   4 KiB buffer. The tile configuration is per thread
//   (amx_configure at the start of each thread's work, amx_release at its end) and Linux
//   grants the tile state to a process only on request (amx_permitted, once per process).
#pragma once
#include <algorithm>
#include <cstdint>

#include "gemm_bf16_pack.hpp"
#include "gemm_microkernel.hpp"

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace bilin::kernels::gemm_bf16_detail {

#if defined(BILIN_HAVE_AVX512BF16)
// What the two backends share: the tile shape and the packers that fill its panels.
template <int MR_, int NR_, auto PackA, auto PackB>
struct Bf16Panels {
  static constexpr int MR = MR_, NR = NR_;
  static index_t a_panel_words(index_t kb) { return packed_pairs(kb) * MR; }
  static index_t b_panel_words(index_t kb) { return packed_pairs(kb) * NR; }
  static constexpr auto pack_a = PackA;
  static constexpr auto pack_b = PackB;
};

struct Avx512Bf16Backend
    : Bf16Panels<14, 32, &pack_pairs_interleaved<14>, &pack_pairs_interleaved<32>> {
  static constexpr index_t KC = 512, MC = MR * 16, NC = NR * 128, MC_T = MC;
  static index_t kc_transposed(index_t) { return KC; }
  static constexpr const char* name = "avx512bf16";
  static void begin() {}
  static void end() {}

  BILIN_GEMM_NOINLINE static void kernel(index_t kb, const std::uint32_t* __restrict a,
                                         const std::uint32_t* __restrict b, float alpha, float beta,
                                         float* __restrict c, index_t ldc, bool stream) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const index_t pairs = (kb + 1) / 2;
    for (index_t p = 0; p < pairs; ++p) {
      const __m512bh b0 = std::bit_cast<__m512bh>(_mm512_load_si512(b));
      const __m512bh b1 = std::bit_cast<__m512bh>(_mm512_load_si512(b + 16));
      BILIN_GEMM_UNROLL(MR)
      for (int i = 0; i < MR; ++i) {
        const __m512bh ai = std::bit_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[i])));
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
      }
      a += MR;
      b += NR;
    }
    const __m512 va = _mm512_set1_ps(alpha);
    if (stream) {
      for (int i = 0; i < MR; ++i)
        for (int v = 0; v < 2; ++v) _mm512_stream_ps(c + i * ldc + 16 * v, _mm512_mul_ps(acc[i][v], va));
    } else if (beta == 0.0f) {
      for (int i = 0; i < MR; ++i)
        for (int v = 0; v < 2; ++v) _mm512_storeu_ps(c + i * ldc + 16 * v, _mm512_mul_ps(acc[i][v], va));
    } else {
      const __m512 vb = _mm512_set1_ps(beta);
      for (int i = 0; i < MR; ++i)
        for (int v = 0; v < 2; ++v) {
          float* p = c + i * ldc + 16 * v;
          _mm512_storeu_ps(p, _mm512_fmadd_ps(acc[i][v], va, _mm512_mul_ps(_mm512_loadu_ps(p), vb)));
        }
    }
  }
};
#endif

#if defined(BILIN_HAVE_AVX512BF16) && defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__linux__)
#define BILIN_HAVE_AMX 1

// Linux hands out the AMX tile data state only to processes that ask (since 5.16).
inline bool amx_permitted() {
  static const bool ok = [] {
    constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
  }();
  return ok;
}

struct alignas(64) AmxTileConfig {
  std::uint8_t palette = 1, start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

struct AmxBackend : Bf16Panels<32, 32, &pack_tiles<true>, &pack_tiles<false>> {
  static constexpr index_t KC = 1024, MC = MR * 4, NC = NR * 128, MC_T = MR * 32;
  // About 2^19 bf16 values of a transposed A in a k slice across all M rows, 256 to KC deep.
  static index_t kc_transposed(index_t M) {
    return std::clamp<index_t>((index_t(1) << 19) / std::max<index_t>(M, 1) / 32 * 32, 256, KC);
  }
  static constexpr const char* name = "amx";
  // Every tile is 16 rows of 64 bytes: C tiles 0–3, A tiles 4–5, B tiles 6–7.
  static void begin() {
    AmxTileConfig cfg;
    for (int t = 0; t < 8; ++t) {
      cfg.colsb[t] = 64;
      cfg.rows[t] = 16;
    }
    // Not _tile_loadconfig: g++ 12 does not treat that builtin as reading the struct and
    // drops the stores that fill it (the instruction then faults on a half-zero config).
    __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
  }
  static void end() { _tile_release(); }

  BILIN_GEMM_NOINLINE static void kernel(index_t kb, const std::uint32_t* __restrict a,
                                         const std::uint32_t* __restrict b, float alpha, float beta,
                                         float* __restrict c, index_t ldc, bool stream) {
    // alpha = 1 with beta = 0 or 1 (every training GEMM, and each later k slice) runs on C
    // itself: the C tiles start at zero or at C and are stored straight back. Other alpha,
    // beta, and streamed output, go through a buffer. Which one runs depends on alpha and
    // beta only (streaming changes how C is written, not what).
    const bool direct = alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && !stream;
    const index_t ldb = ldc * index_t(sizeof(float));
    if (direct && beta == 1.0f) {
      _tile_loadd(0, c, ldb);
      _tile_loadd(1, c + 16, ldb);
      _tile_loadd(2, c + 16 * ldc, ldb);
      _tile_loadd(3, c + 16 * ldc + 16, ldb);
    } else {
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
    }
    const index_t blocks = packed_pairs(kb) / 16;
    for (index_t t = 0; t < blocks; ++t) {
      _tile_loadd(4, a, 64);
      _tile_loadd(6, b, 64);
      _tile_dpbf16ps(0, 4, 6);
      _tile_loadd(7, b + 256, 64);
      _tile_dpbf16ps(1, 4, 7);
      _tile_loadd(5, a + 256, 64);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
      a += 512;
      b += 512;
    }
    if (direct) {
      _tile_stored(0, c, ldb);
      _tile_stored(1, c + 16, ldb);
      _tile_stored(2, c + 16 * ldc, ldb);
      _tile_stored(3, c + 16 * ldc + 16, ldb);
      return;
    }
    alignas(64) float out[MR * NR];
    _tile_stored(0, out, NR * 4);
    _tile_stored(1, out + 16, NR * 4);
    _tile_stored(2, out + 16 * NR, NR * 4);
    _tile_stored(3, out + 16 * NR + 16, NR * 4);
    const __m512 va = _mm512_set1_ps(alpha);
    if (stream) {
      for (int i = 0; i < MR; ++i)
        for (int v = 0; v < 2; ++v)
          _mm512_stream_ps(c + i * ldc + 16 * v, _mm512_mul_ps(_mm512_load_ps(out + i * NR + 16 * v), va));
    } else if (beta == 0.0f) {
      for (int i = 0; i < MR; ++i)
        for (int v = 0; v < 2; ++v)
          _mm512_storeu_ps(c + i * ldc + 16 * v, _mm512_mul_ps(_mm512_load_ps(out + i * NR + 16 * v), va));
    } else {
      const __m512 vb = _mm512_set1_ps(beta);
      for (int i = 0; i < MR; ++i)
        for (int v = 0; v < 2; ++v) {
          float* p = c + i * ldc + 16 * v;
          _mm512_storeu_ps(p, _mm512_fmadd_ps(_mm512_load_ps(out + i * NR + 16 * v), va,
                                              _mm512_mul_ps(_mm512_loadu_ps(p), vb)));
        }
    }
  }
};
#endif

}  // namespace bilin::kernels::gemm_bf16_detail
