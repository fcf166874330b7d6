// bilin/kernels/gemm_microkernel.hpp — the register-blocked inner kernel of the packed GEMM.
//
// Contract: micro_kernel<T, MR, NV, AKMajor>(kc, a, as, b, alpha, beta, c, ldc) computes the
// MR×NR tile (NR = NV·simd width)
//   C[i][j] = alpha·Σ_k A(i,k)·b[k·NR + j] + beta·C[i][j]
// where A(i,k) = a[k·as + i] if AKMajor else a[i·as + k] (the two layouts pack_a produces)
// and b is a packed B micro-panel (k-major, NR values per k, 64-byte aligned). Each A value
// is broadcast from memory; B is loaded once per k into NV registers; MR·NV accumulators
// stay in registers. beta == 0 writes C without reading it.
// Every C element is summed in the same order (k ascending, one accumulator, one FMA per k)
// whatever MR is, so a remainder tile computed with a smaller MR is bit-identical to the same
// elements computed inside a full tile; that is what makes results independent of the way the
// driver splits work between threads.
#pragma once
#include <algorithm>

#include "gemm_simd.hpp"
#include "gemm_trans.hpp"

namespace bilin::kernels::gemm_detail {

#if defined(__GNUC__)
#define BILIN_GEMM_NOINLINE __attribute__((noinline))
#define BILIN_GEMM_UNROLL(n) _Pragma("GCC unroll 64")
#else
#define BILIN_GEMM_NOINLINE
#define BILIN_GEMM_UNROLL(n)
#endif

template <class T, int MR, int NV, bool AKMajor>
BILIN_GEMM_NOINLINE void micro_kernel(index_t kc, const T* __restrict a, index_t as, const T* __restrict b, T alpha,
                                      T beta, T* __restrict c, index_t ldc) {
  using S = gemm_simd<T>;
  using V = typename S::type;
  constexpr int W = S::width;
  constexpr int NR = NV * W;
  V acc[MR][NV];
  BILIN_GEMM_UNROLL(MR)
  for (int i = 0; i < MR; ++i) {
    BILIN_GEMM_UNROLL(NV)
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
  }
  auto step = [&](index_t k0, index_t k1) {
    for (index_t k = k0; k < k1; ++k) {
      V bv[NV];
      BILIN_GEMM_UNROLL(NV)
      for (int v = 0; v < NV; ++v) bv[v] = S::load(b + v * W);
      BILIN_GEMM_UNROLL(MR)
      for (int i = 0; i < MR; ++i) {
        const V ai = S::broadcast(AKMajor ? a[i] : a[i * as]);
        BILIN_GEMM_UNROLL(NV)
        for (int v = 0; v < NV; ++v) acc[i][v] = S::fmadd(ai, bv[v], acc[i][v]);
      }
      a += AKMajor ? as : 1;
      b += NR;
    }
  };
#ifndef BILIN_GEMM_PF_TAIL
#define BILIN_GEMM_PF_TAIL 96
#endif
  // C is read once, at the end. Request its lines a few hundred cycles before that (early
  // enough to hide an L3 miss, late enough that the A/B streams do not evict them again).
  const index_t tail = std::min<index_t>(kc, BILIN_GEMM_PF_TAIL);
  step(0, kc - tail);
#if defined(__GNUC__)
  if (BILIN_GEMM_PF_TAIL > 0) {
    BILIN_GEMM_UNROLL(MR)
    for (int i = 0; i < MR; ++i) {
      __builtin_prefetch(c + i * ldc, 1, 3);
      __builtin_prefetch(c + i * ldc + NR - 1, 1, 3);
    }
  }
#endif
  step(kc - tail, kc);
  const V va = S::broadcast(alpha);
  if (beta == T(0)) {
    BILIN_GEMM_UNROLL(MR)
    for (int i = 0; i < MR; ++i) {
      BILIN_GEMM_UNROLL(NV)
      for (int v = 0; v < NV; ++v) S::storeu(c + i * ldc + v * W, acc[i][v] * va);
    }
  } else {
    const V vb = S::broadcast(beta);
    BILIN_GEMM_UNROLL(MR)
    for (int i = 0; i < MR; ++i) {
      BILIN_GEMM_UNROLL(NV)
      for (int v = 0; v < NV; ++v) {
        T* p = c + i * ldc + v * W;
        S::storeu(p, S::fmadd(acc[i][v], va, S::loadu(p) * vb));
      }
    }
  }
}

}  // namespace bilin::kernels::gemm_detail
