// bilin/kernels/gemm_driver.hpp — the Goto/BLIS loop nest around the micro-kernel.
//
// Contract: gemm_blocked<T, Blocking>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
// max_threads) computes C = alpha·op(A)·op(B) + beta·C (M, N, K ≥ 1, alpha ≠ 0; gemm.hpp
// handles the degenerate cases) with up to max_threads OpenMP threads.
//
// Loop nest (Goto & van de Geijn): jc over NC columns → pc over KC-deep slices → (all threads
// pack the KC×NC slice of op(B) together, barrier) → ic over the thread's own MC rows → pack
// MC×KC of op(A) into a thread-local buffer (or, for op(A) = N with a leading dimension that
// does not alias in L1, read A in place) → jr over NR-wide B micro-panels → ir over MR-tall
// A micro-panels (the A block and the current B micro-panel stay in L2) → micro-kernel.
//
// Determinism: the K slicing depends only on K, and every C element is accumulated by one
// thread in ascending k with the same micro-kernel arithmetic whichever tile (full, short or
// right-edge) it falls in, so the result is bit-identical for any thread count and split.
// Buffers are thread_local and only grow, so steady-state calls do not allocate.
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

#include <omp.h>

#include "gemm_microkernel.hpp"
#include "gemm_pack.hpp"

namespace bilin::kernels::gemm_detail {

// Register and cache blocking for the compile-time SIMD target. MR×NV accumulators plus NV
// B vectors plus one broadcast must fit the register file (AVX-512: 28 + 2 + 1 of 32 zmm).
// A 512-deep KC×NR B micro-panel (64 KiB, streamed from L2) runs the kernel as fast as a
// 256-deep L1-resident one and halves the read-modify-write passes over C; MC = 224 keeps the
// 448 KiB A block and the B micro-panel together in a 1 MiB L2. With data in L1, the 14×32,
// 12×32, 8×48 and 6×64 float tiles all run at the FMA peak; 14×32 has the most FMAs per load
// (28 per 16) and its 32-wide panels divide the training shapes' N = 512 and 1024 exactly.
// (Measurements behind these choices: bench/RESULTS.md.)
template <class T>
struct gemm_default_blocking {
  using S = gemm_simd<T>;
  static constexpr int W = S::width;
  static constexpr int MR = S::registers >= 32 ? 14 : (W > 1 ? 6 : 4);
  static constexpr int NV = S::registers >= 32 ? 2 : (W > 1 ? 2 : 4);
  static constexpr int NR = NV * W;
  static constexpr index_t KC = S::registers >= 32 ? 512 : 256;
  static constexpr index_t MC = MR * 16;
  static constexpr index_t NC = NR * 128;
};

// 64-byte aligned scratch that only grows; one per thread and role.
template <class T>
class scratch {
 public:
  scratch() = default;
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  ~scratch() { std::free(p_); }
  T* get(std::size_t n) {
    if (n > cap_) {
      std::free(p_);
      const std::size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
      p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
      if (!p_) throw std::bad_alloc();
      cap_ = n;
    }
    return p_;
  }

 private:
  T* p_ = nullptr;
  std::size_t cap_ = 0;
};

template <class T, int Role>
T* thread_scratch(std::size_t n) {
  thread_local scratch<T> s;
  return s.get(n);
}

template <class T>
using kernel_fn = void (*)(index_t, const T*, index_t, const T*, T, T, T*, index_t);

// Row counts that get a kernel of their own: the powers of two below MR, and MR. An edge panel
// of mr rows runs the kernel for kernel_rows<MR>(mr) ≥ mr rows (the smallest of those) on a
// zero-padded copy of its A rows; a full set of 1..MR kernels would cost a compile of every row
// count in every program that multiplies matrices, for edge panels that are a small share of
// the work. Each row's sum does not depend on the kernel's row count (gemm_microkernel.hpp), so
// the padded run gives the same bits as an exact-size kernel would.
template <int MR>
constexpr int kernel_rows(int mr) {
  int r = 1;
  while (r < mr) r *= 2;
  return r < MR ? r : MR;
}

// table[ak][mr]: the micro-kernel run for mr rows (1..MR), kernel_rows<MR>(mr) tall, and A
// layout (ak = k-major).
template <class T, int MR, int NV, std::size_t... I>
constexpr std::array<std::array<kernel_fn<T>, MR + 1>, 2> make_kernel_table(std::index_sequence<I...>) {
  return {{{nullptr, &micro_kernel<T, kernel_rows<MR>(static_cast<int>(I) + 1), NV, false>...},
           {nullptr, &micro_kernel<T, kernel_rows<MR>(static_cast<int>(I) + 1), NV, true>...}}};
}

// Copy the mr×kb A panel at ap (stride as; k-major or row layout as the kernel reads it) into
// dst as `rows` rows in the same layout, rows past mr zero. Returns the stride for dst.
template <class T>
index_t pad_a_panel(bool k_major, const T* ap, index_t as, int mr, int rows, index_t kb, T* dst) {
  if (k_major) {
    for (index_t k = 0; k < kb; ++k) {
      std::copy_n(ap + k * as, mr, dst + k * rows);
      std::fill_n(dst + k * rows + mr, rows - mr, T(0));
    }
    return rows;
  }
  for (int i = 0; i < mr; ++i) std::copy_n(ap + i * as, kb, dst + i * kb);
  std::fill_n(dst + mr * kb, (rows - mr) * kb, T(0));
  return kb;
}

inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }
inline index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }
// Split n into the fewest blocks of at most max_block, equal in size, a multiple of unit.
inline index_t balanced_block(index_t n, index_t max_block, index_t unit) {
  return round_up(ceil_div(n, ceil_div(n, max_block)), unit);
}

// Thread grid tm × tn (returns tm): split rows when each thread gets several of the mpanels
// A micro-panels, else columns.
inline int row_threads(index_t mpanels, int nt) {
  int tm = nt;
  while (tm > 1 && (nt % tm != 0 || mpanels < 4 * tm)) --tm;
  return tm;
}

// body(tid, nt) on a team of max_threads OpenMP threads, or on the calling thread alone.
template <class Body>
void run_team(int max_threads, Body&& body) {
  if (max_threads > 1) {
#pragma omp parallel num_threads(max_threads)
    body(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
  body(0, 1);
}

// K slice depth: a function of K alone, so the summation order never depends on threads.
template <class Blocking>
index_t k_slice(index_t K) { return balanced_block(K, Blocking::KC, 1); }

template <class T, class Blocking>
void gemm_blocked(Trans ta, Trans tb, index_t M, index_t N, index_t K, T alpha, const T* A, index_t lda, const T* B,
                  index_t ldb, T beta, T* C, index_t ldc, int max_threads) {
  constexpr int MR = Blocking::MR, NV = Blocking::NV, NR = Blocking::NR;
  static constexpr auto kernels = make_kernel_table<T, MR, NV>(std::make_index_sequence<MR>{});
  const index_t kc = k_slice<Blocking>(K);
  const index_t nc = balanced_block(N, Blocking::NC, NR);
  T* const bpack = thread_scratch<T, 0>(static_cast<std::size_t>(kc * nc));

  auto body = [&](int tid, int nt) {
    const int tm = row_threads(ceil_div(M, MR), nt);
    const int tn = nt / tm;
    const int ti = tid / tn, tj = tid % tn;
    // Equal row counts, not whole panels: a thread's last, shorter panel runs a kernel for
    // fewer rows, which computes those elements exactly as a full one would.
    const index_t row0 = M * ti / tm, row1 = M * (ti + 1) / tm;
    const index_t mc = row1 > row0 ? balanced_block(row1 - row0, Blocking::MC, MR) : MR;
    T* const apack = thread_scratch<T, 1>(static_cast<std::size_t>(packed_a_size(mc, kc)));
    T* const apad = thread_scratch<T, 2>(static_cast<std::size_t>(MR * kc));
    const auto& kern = kernels[ta == Trans::T];
    const bool a_in_place = ta == Trans::N && a_rows_streamable(lda * index_t(sizeof(T)), MR);
    alignas(64) T tile[MR * NR];

    for (index_t jc = 0; jc < N; jc += nc) {
      const index_t ncb = std::min(nc, N - jc);
      const index_t qn = ceil_div(ncb, NR);
      for (index_t pc = 0; pc < K; pc += kc) {
        const index_t kb = std::min(kc, K - pc);
        const T beta_eff = pc == 0 ? beta : T(1);
        pack_b<NR>(tb, B, ldb, pc, kb, jc, qn * tid / nt, qn * (tid + 1) / nt, ncb, bpack);
        if (nt > 1) {
#pragma omp barrier
        }
        const index_t q0 = qn * tj / tn, q1 = qn * (tj + 1) / tn;
        for (index_t ic = row0; ic < row1; ic += mc) {
          const index_t mb = std::min(mc, row1 - ic);
          const T* abase = apack;
          index_t as = lda;
          if (a_in_place) abase = A + ic * lda + pc;
          else as = pack_a(ta, A, lda, ic, mb, pc, kb, apack);
          // The block's last panel may be short: pad its A rows once, for every q.
          const index_t ir_edge = (mb - 1) / MR * MR;
          const int mr_edge = static_cast<int>(mb - ir_edge);
          const T* ap_edge = abase + (ta == Trans::N ? ir_edge * as : ir_edge);
          index_t as_edge = as;
          if (kernel_rows<MR>(mr_edge) != mr_edge) {
            as_edge = pad_a_panel(ta == Trans::T, ap_edge, as, mr_edge, kernel_rows<MR>(mr_edge), kb, apad);
            ap_edge = apad;
          }
          for (index_t q = q0; q < q1; ++q) {
            const T* bp = bpack + q * NR * kb;
            const index_t j = jc + q * NR;
            const int nr = static_cast<int>(std::min<index_t>(NR, N - j));
            for (index_t ir = 0; ir < mb; ir += MR) {
              const int mr = static_cast<int>(std::min<index_t>(MR, mb - ir));
              const bool edge = ir == ir_edge;
              const T* ap = edge ? ap_edge : abase + (ta == Trans::N ? ir * as : ir);
              T* c = C + (ic + ir) * ldc + j;
              if (nr == NR && kernel_rows<MR>(mr) == mr) {
                kern[mr](kb, ap, edge ? as_edge : as, bp, alpha, beta_eff, c, ldc);
              } else {
                // Right edge or padded rows: run the kernel on a full-size copy of the tile.
                if (beta_eff != T(0))
                  for (int r = 0; r < mr; ++r)
                    for (int s = 0; s < nr; ++s) tile[r * NR + s] = c[r * ldc + s];
                kern[mr](kb, ap, edge ? as_edge : as, bp, alpha, beta_eff, tile, NR);
                for (int r = 0; r < mr; ++r)
                  for (int s = 0; s < nr; ++s) c[r * ldc + s] = tile[r * NR + s];
              }
            }
          }
        }
        if (nt > 1) {
#pragma omp barrier
        }
      }
    }
  };

  run_team(max_threads, body);
}

}  // namespace bilin::kernels::gemm_detail
