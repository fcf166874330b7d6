// bilin/linalg/eigh.hpp — one entry point for symmetric eigendecompositions.
//
// Contract:
//   template <class T> EighResult<T> eigh(const Tensor<T>& A, const EighOptions& opt = {})
// - A: a square 2-D float/double tensor (any strides). eigh decomposes its symmetric part
//   (A + Aᵀ)/2. With opt.check_symmetry (default) it first throws if
//   max|A − Aᵀ| > symmetry_tol·max|A| (symmetry_tol = 0 means 1000·ε of T).
// - result.values: the selected eigenvalues as a 1-D tensor [k], sorted ASCENDING (descending
//   with opt.descending = true) — for every subset and method.
// - result.vectors: [n, k], column i is the unit eigenvector of values[i] (empty tensor when
//   opt.vectors is false).
// - Sign convention: every eigenvector column is scaled by ±1 so that its entry of largest
//   magnitude is positive (ties: the lowest row index). For a repeated eigenvalue any
//   orthonormal basis of its eigenspace may be returned.
// - Subsets (opt.subset): all; largest k; smallest k; largest_magnitude k (the k eigenvalues of
//   largest |λ|); index_range [first, last) of the ascending spectrum. 1 ≤ k ≤ n and
//   0 ≤ first < last ≤ n are checked.
// - Methods (opt.method):
//     jacobi       cyclic Jacobi (jacobi.hpp); for float input it runs in double unless
//                  opt.jacobi_in_double is false — the method for best accuracy, O(n³) per sweep.
//     tridiagonal  Householder + divide and conquer (or QL, opt.tridiag_solver) +
//                  back-transformation (tridiagonal.hpp); eigenvalues only is O(n²) after the
//                  reduction; only the selected vectors are back-transformed.
//     lanczos      thick-restart block Lanczos (lanczos.hpp) on the upper triangle of A
//                  packed for fast products (packed_symmetric.hpp; 2 vectors per pass for
//                  n ≥ 256), for subsets largest, smallest, largest_magnitude with k ≤ n − 2;
//                  iterative, accurate to opt.tol (see LanczosOptions).
//     automatic    lanczos for k-subsets with n ≥ kLanczosMinDim (2000) and k ≤ n/20, else
//                  tridiagonal.
// - result.info: the method used; sweeps (Jacobi sweeps, QL sweeps, or Lanczos restarts);
//   iterations (Jacobi rotations or Lanczos steps); matvecs (Lanczos); converged and
//   all_converged (the direct methods report all pairs converged when they return, and throw
//   if QL exceeds its sweep limit; Jacobi reports whether it met its tolerance within
//   max_iter sweeps); residuals ‖A v_i − λ_i v_i‖₂ per returned pair when opt.residuals is set
//   (one extra GEMM; for Lanczos k extra products, counted in matvecs); for Lanczos always
//   residual_estimates, the ‖B·y‖ bounds its convergence test used (equal to the true residual
//   up to the rounding of the products, ~ε·‖A‖).
// - Errors (bilin::Error, op "eigh"): not 2-D or not square, a NaN/Inf entry (its index is
//   named), asymmetry beyond the tolerance (the worst pair is named), k or the index range out of
//   bounds, lanczos with subset all or index_range or with k > n − 2.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "conventions.hpp"
#include "jacobi.hpp"
#include "lanczos.hpp"
#include "packed_symmetric.hpp"
#include "tridiagonal.hpp"
#include "vector_kernels.hpp"

namespace bilin::linalg {

enum class EighMethod { automatic, jacobi, tridiagonal, lanczos };
enum class EighSubset { all, largest, smallest, largest_magnitude, index_range };
using TridiagSolver = detail::TridiagSolver;

inline const char* method_name(EighMethod m) {
  switch (m) {
    case EighMethod::jacobi: return "jacobi";
    case EighMethod::tridiagonal: return "tridiagonal";
    case EighMethod::lanczos: return "lanczos";
    default: return "automatic";
  }
}

// Below this size the dense tridiagonal path beats Lanczos even for a few eigenpairs (its
// O(n³) reduction is cheap next to Lanczos's many products and restarts), so automatic choices
// (here and in interp/decompose.hpp) use Lanczos only from this n on.
inline constexpr index_t kLanczosMinDim = 2000;

struct EighOptions {
  EighMethod method = EighMethod::automatic;
  bool vectors = true;
  EighSubset subset = EighSubset::all;
  index_t k = 0;                  // for largest / smallest / largest_magnitude
  index_t first = 0, last = 0;    // for index_range: ascending indices [first, last)
  bool descending = false;        // order of the returned values (and vectors)
  double tol = 0;                 // jacobi: relative off-diagonal tolerance (0: ε of the compute
                                  // type); lanczos: residual tolerance (0: 1e-6 float / 1e-12 double)
  index_t max_iter = 0;           // jacobi: sweeps (0: 60); lanczos: restarts (0: 1000). (QL always
                                  // allows 30 sweeps per eigenvalue, LAPACK's limit, and throws beyond.)
  bool check_symmetry = true;
  double symmetry_tol = 0;        // relative to max|A|; 0: 1000·ε of T
  TridiagSolver tridiag_solver = TridiagSolver::automatic;
  bool jacobi_in_double = true;   // run Jacobi on a double copy of float input
  index_t lanczos_ncv = 0;        // Krylov basis size (0: LanczosOptions default)
  index_t lanczos_block = 0;      // vectors per block step (0: 2 for n >= 256, else 1)
  bool lanczos_basis_in_double = false;  // see LanczosOptions::basis_in_double
  std::uint64_t seed = 0;         // Lanczos start vector
  bool residuals = false;         // also compute true residuals (every method)
};

struct EighInfo {
  EighMethod method = EighMethod::automatic;  // the method that actually ran
  index_t sweeps = 0;
  index_t iterations = 0;
  index_t matvecs = 0;
  index_t converged = 0;
  bool all_converged = false;
  double off_norm = 0;             // Jacobi: off-diagonal Frobenius norm at the last sweep start
  std::vector<double> residuals;   // per returned pair, same order as values (opt.residuals)
  std::vector<double> residual_estimates;  // Lanczos: its convergence test's bounds, same order
};

template <class T>
struct EighResult {
  Tensor<T> values;   // [k]
  Tensor<T> vectors;  // [n, k] (columns), empty when vectors were not requested
  EighInfo info;
};

namespace detail {

// Which ascending indices a subset selects, given the ascending eigenvalues w.
inline std::vector<index_t> select_indices(const double* w, index_t n, const EighOptions& opt) {
  std::vector<index_t> idx;
  switch (opt.subset) {
    case EighSubset::all:
      for (index_t i = 0; i < n; ++i) idx.push_back(i);
      break;
    case EighSubset::largest:
      for (index_t i = n - opt.k; i < n; ++i) idx.push_back(i);
      break;
    case EighSubset::smallest:
      for (index_t i = 0; i < opt.k; ++i) idx.push_back(i);
      break;
    case EighSubset::index_range:
      for (index_t i = opt.first; i < opt.last; ++i) idx.push_back(i);
      break;
    case EighSubset::largest_magnitude: {
      index_t lo = 0, hi = n - 1;
      std::vector<index_t> tail;
      for (index_t c = 0; c < opt.k; ++c) {
        if (std::fabs(w[hi]) >= std::fabs(w[lo])) tail.push_back(hi--);
        else idx.push_back(lo++);
      }
      idx.insert(idx.end(), tail.rbegin(), tail.rend());
      break;
    }
  }
  return idx;
}

// (max |row[j]|, any non-finite) of one row; vectorized for contiguous rows (NaN and Inf are
// detected as v·0 ≠ 0, so no branch per element).
template <class T>
std::pair<double, bool> row_absmax_poison(index_t n, const T* row, index_t stride) {
  index_t j = 0;
  T m = 0, p = 0;
  if constexpr (vk_simd<T>) {
    if (stride == 1) {
      using V = VK<T>;
      // two independent accumulator pairs: with one pair, the compare/blend and add
      // dependency chains, not the loads, would bound the loop
      typename V::B vm(T(0)), vp(T(0)), vm2(T(0)), vp2(T(0));
      for (; j + 2 * V::W <= n; j += 2 * V::W) {
        const auto v = V::load(row + j), v2 = V::load(row + j + V::W);
        vm = V::absmax(vm, v);
        vm2 = V::absmax(vm2, v2);
        vp += v * typename V::B(T(0));
        vp2 += v2 * typename V::B(T(0));
      }
      for (; j + V::W <= n; j += V::W) {
        const auto v = V::load(row + j);
        vm = V::absmax(vm, v);
        vp += v * typename V::B(T(0));
      }
      vm = V::absmax(vm, vm2);
      vp += vp2;
      alignas(64) T bm[V::W], bp[V::W];
      vm.store_aligned(bm);
      vp.store_aligned(bp);
      for (index_t t = 0; t < V::W; ++t) {
        m = std::max(m, bm[t]);
        p += bp[t];
      }
    }
  }
  for (; j < n; ++j) {
    const T v = row[j * stride];
    m = std::max(m, std::fabs(v));
    p += v * T(0);
  }
  return {static_cast<double>(m), !(p == T(0))};
}

// max_{i,j} |a_ij − a_ji|. Tiles of W×W (W = SIMD width): the mirror tile is read row by row
// and transposed in registers (edge tiles through a small buffer), then compared row
// against row with vector loads — the plain loop reads A down its columns, the slow direction.
template <class T>
double max_asymmetry(index_t n, const T* a, index_t s0, index_t s1) {
  if constexpr (vk_simd<T>) {
    if (s1 == 1) {
      using V = VK<T>;
      constexpr index_t W = V::W;
      alignas(64) T buf[W * W];
      typename V::B vm(T(0));
      T m = 0;
      // 4W×4W blocks of tiles: the mirror tiles walk down a column of A, a new page per row,
      // and a block uses 4 lines of each page before moving on instead of 1.
      constexpr index_t BW = 4 * W;
      auto tile = [&](index_t i0, index_t j0) {
        const index_t bi = std::min(W, n - i0), bj = std::min(W, n - j0);
        if (bi == W && bj == W) {  // whole tile: transpose the mirror in registers
          typename V::B mt[W];
          for (index_t c = 0; c < W; ++c) mt[c] = V::load(a + (j0 + c) * s0 + i0);
          transpose_tile<T>(mt);
          for (index_t r = 0; r < W; ++r) vm = V::absmax(vm, V::load(a + (i0 + r) * s0 + j0) - mt[r]);
          return;
        }
        for (index_t c = 0; c < bj; ++c) {
          const T* src = a + (j0 + c) * s0 + i0;
          for (index_t r = 0; r < bi; ++r) buf[r * W + c] = src[r];
        }
        for (index_t r = 0; r < bi; ++r) {
          const T* row = a + (i0 + r) * s0 + j0;
          if (bj == W) {
            vm = V::absmax(vm, V::load(row) - V::load(buf + r * W));
          } else {
            for (index_t c = 0; c < bj; ++c) m = std::max(m, std::fabs(row[c] - buf[r * W + c]));
          }
        }
      };
      for (index_t I0 = 0; I0 < n; I0 += BW)
        for (index_t J0 = I0; J0 < n; J0 += BW)
          for (index_t i0 = I0; i0 < std::min(n, I0 + BW); i0 += W)
            for (index_t j0 = std::max(i0, J0); j0 < std::min(n, J0 + BW); j0 += W) tile(i0, j0);
      alignas(64) T lanes[W];
      vm.store_aligned(lanes);
      for (index_t t = 0; t < W; ++t) m = std::max(m, lanes[t]);
      return static_cast<double>(m);
    }
  }
  T m = 0;
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i + 1; j < n; ++j) m = std::max(m, std::fabs(a[i * s0 + j * s1] - a[j * s0 + i * s1]));
  return static_cast<double>(m);
}

template <class T>
void compute_residuals(const std::vector<T>& S, index_t n, const Tensor<T>& values, const Tensor<T>& vectors,
                       std::vector<double>& out) {
  const index_t k = values.numel();
  std::vector<T> AV(static_cast<std::size_t>(n * k));
  kernels::gemm<T>(kernels::Trans::N, kernels::Trans::N, n, k, n, T(1), S.data(), n, vectors.data(), k, T(0), AV.data(), k);
  out.assign(static_cast<std::size_t>(k), 0.0);
  for (index_t r = 0; r < n; ++r)
    for (index_t c = 0; c < k; ++c) {
      const double d = static_cast<double>(AV[r * k + c]) -
                       static_cast<double>(values.data()[c]) * static_cast<double>(vectors.data()[r * k + c]);
      out[c] += d * d;
    }
  for (auto& v : out) v = std::sqrt(v);
}

}  // namespace detail

namespace detail {

// The number of pairs the subset selects; throws for k or a range out of bounds (before any
// O(n³) work).
inline index_t subset_size(index_t n, const EighOptions& opt) {
  switch (opt.subset) {
    case EighSubset::all: return n;
    case EighSubset::largest:
    case EighSubset::smallest:
    case EighSubset::largest_magnitude:
      BILIN_CHECK(opt.k >= 1 && opt.k <= n, "eigh", "k = ", opt.k, " is out of range [1, ", n, "] for a ", n, "x", n,
                  " matrix");
      return opt.k;
    case EighSubset::index_range:
      BILIN_CHECK(opt.first >= 0 && opt.first < opt.last && opt.last <= n, "eigh", "index range [", opt.first, ", ",
                  opt.last, ") is empty or outside [0, ", n, ")");
      return opt.last - opt.first;
  }
  return n;
}

inline bool is_k_subset(EighSubset s) {
  return s == EighSubset::largest || s == EighSubset::smallest || s == EighSubset::largest_magnitude;
}

// opt.method, or for automatic the method the contract names; checks that lanczos can serve.
inline EighMethod choose_method(index_t n, index_t k, const EighOptions& opt) {
  const bool ksubset = is_k_subset(opt.subset);
  EighMethod method = opt.method;
  if (method == EighMethod::automatic)
    method = ksubset && n >= kLanczosMinDim && k * 20 <= n ? EighMethod::lanczos : EighMethod::tridiagonal;
  if (method == EighMethod::lanczos) {
    BILIN_CHECK(ksubset, "eigh", "the lanczos method needs subset largest, smallest or largest_magnitude with k < n");
    BILIN_CHECK(k + 2 <= n, "eigh", "the lanczos method needs k <= n - 2 (got k = ", k, ", n = ", n,
                "); use the tridiagonal method");
  }
  return method;
}

// The input as the methods read it: A (any strides) and, made on first use, its symmetric part
// S = (A + Aᵀ)/2 with contiguous rows (a plain copy when A is exactly symmetric); for the
// lanczos method also the packed upper triangle.
template <class T>
struct EighInput {
  const T* a;
  index_t n, s0, s1;
  double amax = 0, worst = 0;  // max|A|, max|A − Aᵀ|
  std::optional<PackedSymmetric<T>> packed{};
  std::vector<T> S{};

  void make_S() {
    if (!S.empty() || n == 0) return;
    S.resize(static_cast<std::size_t>(n * n));
    if (worst == 0.0 && s1 == 1) {
      for (index_t i = 0; i < n; ++i) std::copy_n(a + i * s0, n, S.data() + i * n);
      return;
    }
    // (A + Aᵀ)/2 over 32×32 tile pairs. The mirror tile is first copied row by row into a
    // small buffer: read straight down a column, the rows of A (n apart, so in the same L1
    // sets) would evict each other.
    constexpr index_t tb = 32;
    T buf[tb * tb], out[tb * tb];
    for (index_t i0 = 0; i0 < n; i0 += tb)
      for (index_t j0 = i0; j0 < n; j0 += tb) {
        const index_t ni = std::min(tb, n - i0), nj = std::min(tb, n - j0);
        for (index_t j = 0; j < nj; ++j)
          for (index_t i = 0; i < ni; ++i) buf[j * tb + i] = a[(j0 + j) * s0 + (i0 + i) * s1];
        for (index_t i = 0; i < ni; ++i)
          for (index_t j = 0; j < nj; ++j) {
            const T v = static_cast<T>(0.5 * (static_cast<double>(a[(i0 + i) * s0 + (j0 + j) * s1]) +
                                              static_cast<double>(buf[j * tb + i])));
            S[(i0 + i) * n + j0 + j] = v;
            out[j * tb + i] = v;
          }
        for (index_t j = 0; j < nj; ++j) std::copy_n(out + j * tb, ni, S.data() + (j0 + j) * n + i0);
      }
  }
};

// Finite entries, max|A| and max|A − Aᵀ|. The lanczos method on contiguous rows packs the
// matrix first (packed_symmetric.hpp: the upper triangle into strips, (A + Aᵀ)/2 so a matrix
// symmetric only to rounding needs no copy), and that pass reports all three on the way, which
// saves two passes over the matrix. Otherwise: a branch-free pass (NaN/Inf poison a sum), then
// max|A − Aᵀ| over tiles so the transposed reads stay in cache. Failures are located by a plain
// loop, only when they happened.
template <class T>
void scan_input(EighInput<T>& in, EighMethod method) {
  const index_t n = in.n, s0 = in.s0, s1 = in.s1;
  const T* a = in.a;
  bool poisoned = false;
  if (method == EighMethod::lanczos && s1 == 1 && s0 >= n) {
    typename PackedSymmetric<T>::Scan scan;
    in.packed.emplace(n, a, s0, PackedSymmetric<T>::symmetrize, &scan);
    in.amax = scan.absmax;
    in.worst = scan.asymmetry;
    poisoned = !scan.finite;
  } else {
    for (index_t i = 0; i < n; ++i) {
      const auto [rmax, rpoison] = row_absmax_poison(n, a + i * s0, s1);
      in.amax = std::max(in.amax, rmax);
      poisoned = poisoned || rpoison;
    }
    if (!poisoned) in.worst = max_asymmetry(n, a, s0, s1);
  }
  if (poisoned) {
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < n; ++j) {
        const T v = a[i * s0 + j * s1];
        BILIN_CHECK(std::isfinite(v), "eigh", "entry (", i, ", ", j, ") of the ", n, "x", n, " input is ", v,
                    "; eigh needs finite entries");
      }
  }
}

// Throws when max|A − Aᵀ| exceeds the tolerance, naming the worst pair.
template <class T>
void check_symmetry(EighInput<T>& in, const EighOptions& opt) {
  const index_t n = in.n, s0 = in.s0, s1 = in.s1;
  const T* a = in.a;
  index_t wi = 0, wj = 0;
  const double stol = (opt.symmetry_tol > 0 ? opt.symmetry_tol : 1000.0 * std::numeric_limits<T>::epsilon()) * in.amax;
  if (in.worst > stol) {
    double w2 = -1;
    for (index_t i = 0; i < n; ++i)
      for (index_t j = i + 1; j < n; ++j) {
        const double dv = std::fabs(static_cast<double>(a[i * s0 + j * s1]) - static_cast<double>(a[j * s0 + i * s1]));
        if (dv > w2) {
          w2 = dv;
          wi = i;
          wj = j;
        }
      }
    in.worst = w2;
  }
  BILIN_CHECK(in.worst <= stol, "eigh", "the ", n, "x", n, " matrix is not symmetric: |A(", wi, ",", wj, ") - A(", wj, ",", wi,
              ")| = ", in.worst, " exceeds ", stol, " (symmetry_tol x max|A|); pass check_symmetry = false to use (A + A^T)/2");
}

// What a method hands to finish(): ascending values of the selected pairs and their vectors
// ([n, k] columns in ascending order, undefined when not computed).
template <class T>
struct EighPairs {
  std::vector<double> w;
  Tensor<T> vec;
};

template <class T>
EighPairs<T> run_lanczos(EighInput<T>& in, index_t k, const EighOptions& opt, EighInfo& info) {
  const index_t n = in.n;
  LanczosOptions lo;
  lo.k = k;
  lo.which = opt.subset == EighSubset::largest    ? Which::largest
             : opt.subset == EighSubset::smallest ? Which::smallest
                                                  : Which::largest_magnitude;
  lo.ncv = opt.lanczos_ncv;
  lo.tol = opt.tol;
  lo.max_restarts = opt.max_iter;
  lo.seed = opt.seed;
  lo.vectors = opt.vectors;
  lo.residuals = opt.residuals;
  lo.basis_in_double = opt.lanczos_basis_in_double;
  // The operator is the upper triangle packed into strips (packed_symmetric.hpp): half the
  // bytes of the full matrix, read sequentially, and a pass serves up to 4 vectors. Rows
  // stored contiguously were packed by scan_input; other layouts go through the symmetric copy S.
  if (!in.packed) {
    in.make_S();
    in.packed.emplace(n, in.S.data(), n);
  }
  PackedSymmetric<T>& P = *in.packed;
  const index_t block = opt.lanczos_block > 0 ? opt.lanczos_block : (n >= 256 ? 2 : 1);
  auto op = [&P](const T* X, T* Y, index_t b) { P.multiply_block(X, Y, b); };
  // the basis needs k + 2·block ≤ n (k wanted, one block to extend, one residual block)
  LanczosResult<T> lr = lanczos_block<T>(op, n, lo, std::max<index_t>(1, std::min(block, (n - k) / 2)));
  info.sweeps = lr.restarts;
  info.iterations = lr.iterations;
  info.matvecs = lr.matvecs;
  info.converged = lr.converged;
  info.all_converged = lr.all_converged;
  info.residuals = lr.residuals;
  info.residual_estimates = lr.residual_estimates;
  EighPairs<T> out;
  for (index_t i = 0; i < k; ++i) out.w.push_back(static_cast<double>(lr.values.data()[i]));
  if (opt.vectors) out.vec = lr.vectors;
  return out;
}

// Cyclic Jacobi in the compute type C (double for float input unless opt.jacobi_in_double is off).
template <class C, class T>
EighPairs<T> run_jacobi(EighInput<T>& in, index_t k, const EighOptions& opt, EighInfo& info) {
  const index_t n = in.n;
  const bool want_vec = opt.vectors || opt.residuals;
  in.make_S();
  std::vector<double> all(static_cast<std::size_t>(n));
  // Padded rows: Jacobi writes columns with stride ld, and a power-of-two stride would map
  // them all to a few cache sets.
  const index_t ld = n + 64 / static_cast<index_t>(sizeof(C));
  std::vector<C> M(static_cast<std::size_t>(n * ld));
  for (index_t i = 0; i < n; ++i) std::copy_n(in.S.data() + i * n, n, M.data() + i * ld);
  std::vector<C> Vt;
  if (want_vec) {
    Vt.assign(static_cast<std::size_t>(n * ld), C(0));
    for (index_t i = 0; i < n; ++i) Vt[i * ld + i] = C(1);
  }
  const double tol = opt.tol > 0 ? opt.tol : std::numeric_limits<C>::epsilon();
  const index_t sweeps = opt.max_iter > 0 ? opt.max_iter : 60;
  JacobiStats st = jacobi<C>(n, M.data(), ld, all.data(), want_vec ? Vt.data() : nullptr, ld, tol, sweeps);
  info.sweeps = st.sweeps;
  info.iterations = st.rotations;
  info.off_norm = st.off_norm;
  info.all_converged = st.converged;
  info.converged = st.converged ? k : 0;
  sort_eigenpairs<C>(n, all.data(), want_vec ? Vt.data() : nullptr, ld);
  const auto idx = select_indices(all.data(), n, opt);
  EighPairs<T> out;
  for (index_t i : idx) out.w.push_back(all[i]);
  if (want_vec) {
    out.vec = Tensor<T>::empty({n, k});
    for (index_t c = 0; c < k; ++c)
      for (index_t r = 0; r < n; ++r) out.vec.data()[r * k + c] = static_cast<T>(Vt[idx[c] * ld + r]);
  }
  return out;
}

// Householder + divide and conquer (or QL) + back-transformation of the selected vectors.
template <class T>
EighPairs<T> run_tridiagonal(EighInput<T>& in, index_t k, const EighOptions& opt, EighInfo& info) {
  const index_t n = in.n;
  const bool want_vec = opt.vectors || opt.residuals;
  in.make_S();
  std::vector<T> M;  // the solver destroys its copy; keep S only if residuals need it
  if (opt.residuals) M = in.S;
  else M.swap(in.S);
  std::vector<double> all(static_cast<std::size_t>(n));
  EighPairs<T> out;
  if (!want_vec || opt.subset == EighSubset::largest_magnitude) {
    // Eigenvalues first (cheap); for largest_magnitude they decide which vectors to compute.
    if (!want_vec || n == 0) {
      if (n > 0) {
        DenseStats st = dense_eigh<T>(n, M.data(), n, all.data(), nullptr, 0, 0, n, opt.tridiag_solver);
        info.sweeps = st.ql_sweeps;
      }
      const auto idx = select_indices(all.data(), n, opt);
      for (index_t i : idx) out.w.push_back(all[i]);
    } else {
      // Vectors for both ends of the spectrum: one contiguous range covering all of them
      // would waste back-transformations, so compute all vectors, then pick.
      out.vec = Tensor<T>::empty({n, n});
      DenseStats st = dense_eigh<T>(n, M.data(), n, all.data(), out.vec.data(), n, 0, n, opt.tridiag_solver);
      info.sweeps = st.ql_sweeps;
      const auto idx = select_indices(all.data(), n, opt);
      Tensor<T> pick = Tensor<T>::empty({n, k});
      for (index_t r = 0; r < n; ++r)
        for (index_t c = 0; c < k; ++c) pick.data()[r * k + c] = out.vec.data()[r * n + idx[c]];
      for (index_t i : idx) out.w.push_back(all[i]);
      out.vec = pick;
    }
  } else {
    const auto idx = select_indices(all.data(), n, opt);  // contiguous for these subsets
    const index_t first = idx.empty() ? 0 : idx.front();
    out.vec = Tensor<T>::empty({n, k});
    out.w.resize(static_cast<std::size_t>(k));
    if (n > 0) {
      DenseStats st = dense_eigh<T>(n, M.data(), n, out.w.data(), out.vec.data(), k, first, k, opt.tridiag_solver);
      info.sweeps = st.ql_sweeps;
    }
  }
  info.converged = k;
  info.all_converged = true;
  return out;
}

// Final order and conventions: sign-normalized vectors, residuals of the direct methods, the
// requested order.
template <class T>
void finish(EighInput<T>& in, index_t k, EighPairs<T>& p, const EighOptions& opt, EighResult<T>& res) {
  const index_t n = in.n;
  Tensor<T>& vec = p.vec;
  if (vec.defined()) normalize_signs(n, k, vec.data(), k);
  res.values = Tensor<T>::empty({k});
  for (index_t i = 0; i < k; ++i) res.values.data()[i] = static_cast<T>(p.w[i]);
  if (opt.residuals && res.info.method != EighMethod::lanczos && vec.defined()) {
    in.make_S();
    compute_residuals(in.S, n, res.values, vec, res.info.residuals);
  }
  if (opt.descending && k > 1) {
    std::reverse(res.values.data(), res.values.data() + k);
    std::reverse(res.info.residuals.begin(), res.info.residuals.end());
    std::reverse(res.info.residual_estimates.begin(), res.info.residual_estimates.end());
    if (vec.defined())
      for (index_t r = 0; r < n; ++r) std::reverse(vec.data() + r * k, vec.data() + (r + 1) * k);
  }
  if (opt.vectors && vec.defined()) res.vectors = vec;
}

}  // namespace detail

// The steps: subset size, method, a scan for finite entries and symmetry, the method, finish.
template <class T>
EighResult<T> eigh(const Tensor<T>& A, const EighOptions& opt = {}) {
  static_assert(std::is_floating_point_v<T>, "eigh: T must be float or double");
  BILIN_CHECK(A.dim() == 2 && A.size(0) == A.size(1), "eigh", "expected a square 2-D matrix, got shape ",
              to_string(A.shape()));
  const index_t n = A.size(0);
  const index_t k = detail::subset_size(n, opt);
  const EighMethod method = detail::choose_method(n, k, opt);
  detail::EighInput<T> in{A.data(), n, A.stride(0), A.stride(1)};
  detail::scan_input(in, method);
  if (opt.check_symmetry) detail::check_symmetry(in, opt);

  EighResult<T> res;
  res.info.method = method;
  detail::EighPairs<T> pairs;
  if (method == EighMethod::lanczos) pairs = detail::run_lanczos(in, k, opt, res.info);
  else if (method == EighMethod::jacobi && std::is_same_v<T, float> && opt.jacobi_in_double)
    pairs = detail::run_jacobi<double>(in, k, opt, res.info);
  else if (method == EighMethod::jacobi) pairs = detail::run_jacobi<T>(in, k, opt, res.info);
  else pairs = detail::run_tridiagonal(in, k, opt, res.info);
  detail::finish(in, k, pairs, opt, res);
  return res;
}

}  // namespace bilin::linalg
