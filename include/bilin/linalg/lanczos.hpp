// bilin/linalg/lanczos.hpp — thick-restart (block) Lanczos for a few eigenpairs of a symmetric
// operator that is only available as a matrix-vector product.
//
// Contract:
//   template <class T, class MatVec>
//   LanczosResult<T> lanczos(MatVec&& op, index_t n, const LanczosOptions& opt = {})
// - op(const T* x, T* y) must write y = A·x for a symmetric n×n operator A (a lambda, a functor
//   or a std::function<void(const T*, T*)>). It is called with distinct, non-overlapping
//   buffers of n elements.
//   template <class T, class BlockMatVec>
//   LanczosResult<T> lanczos_block(BlockMatVec&& op, index_t n, const LanczosOptions& opt, index_t block)
// - op(const T* X, T* Y, index_t b) must write Y[c] = A·X[c] for the b ≤ block vectors stored as
//   the ROWS of X and Y (b × n, row-major). Worth it when b products cost less than b single
//   ones (a dense matrix read once for all b; eigh's lanczos method uses block 2 on a packed
//   matrix, packed_symmetric.hpp).
// - Finds opt.k eigenpairs: the largest algebraic (Which::largest), smallest algebraic
//   (Which::smallest) or largest in magnitude (Which::largest_magnitude).
// - Result: values [k] in ASCENDING algebraic order (whatever `which` is), vectors [n, k] with
//   column i the unit eigenvector of values[i] (omitted when opt.vectors is false), each column
//   sign-normalized (largest-|component| entry positive, ties → lowest index).
// - Convergence: Ritz pair i is converged when its residual estimate ‖B·y_last,i‖ (B the
//   coupling to the next block; |β_m y_{m,i}| for block 1) is ≤ tol·‖A‖, ‖A‖ estimated by the
//   largest |Ritz value| or |diagonal entry| seen. tol = 0 means 1e-6 for float, 1e-12 for double;
//   tolerances below 4ε of T are raised to it (the operator's rounding is the floor).
//   The run stops when all k wanted pairs converged or after max_restarts restarts; the result
//   always says how many converged (`converged`, `all_converged`), the residual estimates, and
//   — with opt.residuals (default) — the TRUE residual norms ‖A v − λ v‖₂ of the returned pairs
//   (computed with k extra products, counted in `matvecs`).
// - Errors (bilin::Error, op "lanczos"): n < 2, k < 1 or k ≥ n, block outside [1, n/2], ncv
//   outside [k + block, n − block].
// - Exact multiple eigenvalues: a Krylov space from one start vector (block) sees at most
//   `block` copies of an eigenvalue until rounding or a breakdown restart brings in more, so
//   a cluster larger than the block may be returned incompletely; use the dense method when
//   multiplicities matter.
// Method (Wu & Simon 2000, "Thick-restart Lanczos method for large symmetric eigenvalue
// problems", here in block form): a Krylov basis of about ncv vectors is grown block by block
// with full re-orthogonalization (block classical Gram–Schmidt against the last two blocks,
// then against the whole basis, that pass repeated where it cancelled);
// the projected matrix (built from the Gram–Schmidt coefficients, so it is the exact Rayleigh
// quotient of the basis) is diagonalized by small_eigh; the best `keep` Ritz vectors plus the
// last block start the next cycle, which is cut short when the residuals' recent decay
// predicts convergence within less than a full cycle. The coefficients and the Rayleigh–Ritz
// problem are in double; the basis is in T (or in double with opt.basis_in_double), since a
// float basis orthogonal to ~ε_float costs the eigenvalues nothing measurable while halving
// the bytes Gram–Schmidt streams per step (the eigenvalues agree with dense eigh equally well
// with either basis; bench/RESULTS.md).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"
#include "../kernels/gemm.hpp"
#include "conventions.hpp"
#include "tridiagonal.hpp"
#include "vector_kernels.hpp"

namespace bilin::linalg {

enum class Which { largest, smallest, largest_magnitude };

struct LanczosOptions {
  index_t k = 6;                // number of eigenpairs wanted
  Which which = Which::largest;
  index_t ncv = 0;              // basis size per cycle; 0: min(n − b, max(2k + 20, 40) + 4b) for block b > 1,
                                //   min(n − 1, max(2k + 20, 40)) for b = 1
  double tol = 0;               // relative residual tolerance; 0: 1e-6 (float) / 1e-12 (double)
  index_t max_restarts = 0;     // 0: 1000
  std::uint64_t seed = 0;       // start vector = normal(Generator(seed)), normalized
  bool vectors = true;          // return eigenvectors
  bool residuals = true;        // compute true residuals ‖Av − λv‖ (k extra matvecs)
  bool basis_in_double = false; // float operator: keep the Krylov basis in double instead of
                                //   float (twice the bytes per Gram–Schmidt pass, so slower;
                                //   smaller true residuals; the same eigenvalues)
};

template <class T>
struct LanczosResult {
  Tensor<T> values;                          // [k], ascending
  Tensor<T> vectors;                         // [n, k], column i ↔ values[i] (empty if !vectors)
  index_t converged = 0;                     // wanted pairs meeting the tolerance at exit
  bool all_converged = false;
  index_t restarts = 0;                      // thick restarts performed
  index_t iterations = 0;                    // block steps (basis extensions by one block)
  index_t matvecs = 0;                       // operator applications (vectors), incl. the residual check
  double anorm = 0;                          // estimate of ‖A‖₂ (largest |Ritz value|)
  double tol = 0;                            // the tolerance that was used
  std::vector<double> residual_estimates;    // ‖B y_last,i‖, same order as values
  std::vector<double> residuals;             // true ‖A v_i − λ_i v_i‖₂ (if opt.residuals)
};

namespace detail {

// Row stride of the Krylov basis. Rows a multiple of 512 bytes apart (n = 1024 floats: 4 KiB)
// fall into the same few L1 sets, and Gram–Schmidt reads 8 rows at a time, so they would evict
// each other: each such row is padded by one cache line.
template <class U>
index_t basis_ld(index_t n) {
  constexpr index_t line = 64 / static_cast<index_t>(sizeof(U));
  index_t ld = (n + line - 1) / line * line;
  if ((ld * static_cast<index_t>(sizeof(U))) % 512 == 0) ld += line;
  return ld;
}

// Y = A X for b vectors stored as rows ld apart, counting the vectors multiplied. The user's
// operator takes b × n contiguous rows, so padded rows (ld > n) and a basis type U wider than
// the operator's T (a float operator, double basis) pass through T buffers.
template <class T, class U, class BlockOp>
struct CountingOp {
  BlockOp& op;
  index_t n, ld;
  std::vector<T> xb, yb;
  index_t calls = 0;  // vectors multiplied
  void operator()(const U* X, U* Y, index_t b) {
    calls += b;
    if constexpr (std::is_same_v<T, U>) {
      if (ld == n) return op(X, Y, b);
    }
    xb.resize(static_cast<std::size_t>(n * b));
    yb.resize(static_cast<std::size_t>(n * b));
    for (index_t t = 0; t < b; ++t)
      for (index_t i = 0; i < n; ++i) xb[t * n + i] = static_cast<T>(X[t * ld + i]);
    op(static_cast<const T*>(xb.data()), yb.data(), b);
    for (index_t t = 0; t < b; ++t)
      for (index_t i = 0; i < n; ++i) Y[t * ld + i] = static_cast<U>(yb[t * n + i]);
  }
};

// Orthogonalize the b rows of W against the first j rows of V (rows ld apart in both), twice
// where needed (block CGS2). C (j × b, C[i·b + t]) receives the summed coefficients in double;
// tmp (j × b) is scratch. Each pass reads V twice (multi_dot, multi_sub) for all b rows at once.
// local > 0: first remove the components along the last `local` rows alone. In a Lanczos step
// those carry nearly all of A·v (the three-term recurrence), so the full pass that follows
// only corrects rounding, cancels little, and rarely needs its second pass (without the local
// pass, most steps of a float basis need the second pass).
template <class U>
void block_cgs2(index_t j, index_t b, index_t n, index_t ld, const U* V, U* W, double* C, U* tmp,
                double reorth_ratio, index_t local = 0) {
  if (j == 0) return;
  std::fill_n(C, j * b, 0.0);
  if (local > 0 && local < j) {
    const U* Vl = V + (j - local) * ld;
    multi_dot(b, local, n, Vl, ld, W, ld, tmp, b);
    multi_sub(b, local, n, tmp, b, Vl, ld, W, ld);
    for (index_t q = 0; q < local * b; ++q) C[(j - local) * b + q] += static_cast<double>(tmp[q]);
  }
  double before[64] = {};  // read only when track (b ≤ 64)
  const bool track = b <= 64 && reorth_ratio < 1.0;
  if (track)
    for (index_t t = 0; t < b; ++t) before[t] = dot(n, W + t * ld, W + t * ld);
  for (int pass = 0; pass < 2; ++pass) {
    multi_dot(b, j, n, V, ld, W, ld, tmp, b);
    multi_sub(b, j, n, tmp, b, V, ld, W, ld);
    for (index_t q = 0; q < j * b; ++q) C[q] += static_cast<double>(tmp[q]);
    if (pass == 0 && track) {
      // Second pass only where the first one cancelled most of a vector (Daniel–Gragg–
      // Kaufman–Stewart): the leftover error is ε·‖before‖/‖after‖ relative to what remains.
      bool again = false;
      for (index_t t = 0; t < b && !again; ++t) again = dot(n, W + t * ld, W + t * ld) < reorth_ratio * reorth_ratio * before[t];
      if (!again) break;
    }
  }
}

// Orthonormalize the b rows of W (already orthogonal to V[0..j)) among themselves: W = R Q
// with R stored so that R[t*b + s] = coefficient of q_s in w_t (lower triangle, s ≤ t). A row
// that has (numerically) no new direction is replaced by a random one orthogonal to
// everything, with zero coupling — the block analogue of a Lanczos breakdown.
// A reorth_ratio ≥ 1 makes block_cgs2 run both passes unconditionally: used for the random
// vector that replaces a breakdown, rare enough that the second pass costs nothing.
inline constexpr double kAlwaysTwice = 2.0;

template <class U>
void block_orthonormalize(index_t j, index_t b, index_t n, index_t ld, const U* V, U* W, double* R, Generator& gen,
                          double* C, U* tmp) {
  std::fill_n(R, b * b, 0.0);
  for (index_t t = 0; t < b; ++t) {
    U* w = W + t * ld;
    const double before = std::sqrt(dot(n, w, w));
    for (int pass = 0; pass < 2; ++pass)
      for (index_t s = 0; s < t; ++s) {
        const double c = dot(n, W + s * ld, w);
        axpy(n, static_cast<U>(-c), W + s * ld, w);
        R[t * b + s] += c;
      }
    double nrm = std::sqrt(dot(n, w, w));
    if (!(nrm > 1e-10 * before) || nrm == 0.0) {
      // breakdown: a fresh random direction, orthogonal to V[0..j) and to w_0..w_{t-1}
      for (index_t s = 0; s < t; ++s) R[t * b + s] = 0.0;
      for (int attempt = 0; attempt < 5; ++attempt) {
        gen.fill_normal(w, n, 0.0, 1.0);
        block_cgs2(j, 1, n, ld, V, w, C, tmp, kAlwaysTwice);
        for (int pass = 0; pass < 2; ++pass)
          for (index_t s = 0; s < t; ++s) axpy(n, static_cast<U>(-dot(n, W + s * ld, w)), W + s * ld, w);
        nrm = std::sqrt(dot(n, w, w));
        if (nrm > 1e-8) break;
      }
      R[t * b + t] = 0.0;
    } else {
      R[t * b + t] = nrm;
    }
    if (nrm > 0) scal(n, static_cast<U>(1.0 / nrm), w);
  }
}

// Share (percent) of the unwanted Ritz vectors a thick restart keeps besides the wanted ones.
// On the bench matrices anything from 30 to 50 needs about the same number of products
// (bench/RESULTS.md); keeping fewer means fewer restarts.
inline constexpr index_t kRestartKeepPercent = 35;

// The state of one block_lanczos run, with its steps as methods: grow the basis to the cycle's
// end, Rayleigh–Ritz on the projected matrix, residual estimates, thick restart, the next
// cycle's length, and the finish (selection, Ritz vectors, true residuals).
template <class T, class U, class BlockOp>
struct BlockLanczos {
  const LanczosOptions& opt;
  index_t n, b, k, m, mm, ld, max_restarts;
  double tol, reorth_ratio;
  CountingOp<T, U, BlockOp> A;
  LanczosResult<T> res;
  std::vector<U> V;  // the basis, rows ld apart, padding stays 0
  std::vector<double> H, Hc, theta, Y, C, R, Rlast, RY;
  std::vector<U> tmp, Vnew;
  std::vector<index_t> order;
  Generator gen;
  index_t l = 0, cur = 0, nconv = 0;
  index_t mcyc;           // where this cycle ends (≤ m; shorter when convergence is predicted)
  double prev_worst = 0;  // worst (see estimate_residuals) at the previous restart
  std::vector<double> est;

  BlockLanczos(BlockOp& op_block, index_t n_, const LanczosOptions& o, index_t b_)
      : opt(o), n(n_), b(b_), k(o.k), A{op_block, n_, basis_ld<U>(n_), {}, {}, 0}, gen(o.seed) {
    BILIN_CHECK(n >= 2, "lanczos", "needs an operator of size n >= 2, got n = ", n);
    BILIN_CHECK(k >= 1 && k < n, "lanczos", "k = ", k, " is out of range [1, n-1] for n = ", n,
                " (use eigh with the dense method for all eigenpairs)");
    BILIN_CHECK(b >= 1 && b <= n / 2, "lanczos", "block size ", b, " must be in [1, n/2] (n = ", n, ")");
    m = opt.ncv > 0 ? opt.ncv : std::min(n - b, std::max<index_t>(2 * k + 20, 40) + (b > 1 ? 4 * b : 0));
    BILIN_CHECK(m >= k + b && m + b <= n, "lanczos", "ncv = ", m, " must satisfy k + block <= ncv <= n - block (k = ", k,
                ", block = ", b, ", n = ", n, ")");
    // The operator's own rounding (ε of T times ‖A‖) is a floor no residual estimate can go far
    // below; asking for less would only burn restarts until max_restarts.
    tol = std::max(opt.tol > 0 ? opt.tol : (std::is_same_v<T, float> ? 1e-6 : 1e-12),
                   4.0 * std::numeric_limits<T>::epsilon());
    max_restarts = opt.max_restarts > 0 ? opt.max_restarts : 1000;
    ld = A.ld;
    // A basis wider than the operator (double for a float operator): one Gram–Schmidt pass
    // leaves errors of ε_U·(cancellation), far below what the matvec itself introduces, so the
    // second pass is needed only on a 10⁴-fold cancellation. Same precision: the classic 1/√2.
    reorth_ratio = sizeof(U) > sizeof(T) ? 1e-4 : 0.7071;
    res.tol = tol;
    mm = m + b;
    V.assign(static_cast<std::size_t>(mm * ld), U(0));
    H.assign(static_cast<std::size_t>(mm * mm), 0.0);
    theta.resize(static_cast<std::size_t>(mm));
    Y.resize(static_cast<std::size_t>(mm * mm));
    C.resize(static_cast<std::size_t>(mm * b));
    R.resize(static_cast<std::size_t>(b * b));
    Rlast.assign(static_cast<std::size_t>(b * b), 0.0);
    tmp.resize(static_cast<std::size_t>(mm * b));
    mcyc = m;
    // Start block: random, orthonormal.
    for (index_t t = 0; t < b; ++t) gen.fill_normal(V.data() + t * ld, n, 0.0, 1.0);
    block_orthonormalize(0, b, n, ld, V.data(), V.data(), R.data(), gen, C.data(), tmp.data());
  }

  // Extends the basis block by block from l to the cycle's end; the Gram–Schmidt coefficients
  // fill H, so H is the exact Rayleigh quotient of the basis. Leaves cur = the projected size
  // (V[cur..cur+b) is the residual block).
  void grow_basis() {
    index_t c = l;
    for (; c + b <= mcyc; c += b) {
      U* Vc = V.data() + c * ld;
      U* W = V.data() + (c + b) * ld;  // next block's slot doubles as the work block
      A(Vc, W, b);
      res.iterations += 1;
      const index_t j = c + b;
      block_cgs2(j, b, n, ld, V.data(), W, C.data(), tmp.data(), reorth_ratio, 2 * b);
      // H[0..j, c..c+b) = projections; mirrored into the lower part; diagonal block symmetrized.
      for (index_t i = 0; i < j; ++i)
        for (index_t t = 0; t < b; ++t) {
          const double v = C[i * b + t];
          if (i >= c && i - c > t) continue;  // lower half of the diagonal block: set by mirror
          if (i >= c && i - c == t) {
            H[i * mm + c + t] = v;
            continue;
          }
          if (i >= c) {
            const double sym = 0.5 * (v + C[(c + t) * b + (i - c)]);
            H[i * mm + c + t] = H[(c + t) * mm + i] = sym;
          } else {
            H[i * mm + c + t] = H[(c + t) * mm + i] = v;
          }
        }
      for (index_t t = 0; t < b; ++t) res.anorm = std::max(res.anorm, std::fabs(H[(c + t) * mm + c + t]));
      block_orthonormalize(j, b, n, ld, V.data(), W, R.data(), gen, C.data(), tmp.data());
      // A V_c = … + Q R_upper, with R_upper[s][t] = R[t*b + s] (coefficient of q_s in w_t).
      if (c + 2 * b <= mcyc) {
        for (index_t t = 0; t < b; ++t)
          for (index_t s = 0; s < b; ++s) {
            const double v = s <= t ? R[t * b + s] : 0.0;
            H[(c + b + s) * mm + c + t] = H[(c + t) * mm + c + b + s] = v;
          }
      } else {
        Rlast = R;
      }
    }
    cur = c;
  }

  // Eigenpairs (theta, Y) of the projected matrix; `order` ranks them, wanted first.
  void rayleigh_ritz() {
    Hc.assign(static_cast<std::size_t>(cur * cur), 0.0);
    for (index_t i = 0; i < cur; ++i) std::copy_n(H.data() + i * mm, cur, Hc.data() + i * cur);
    small_eigh(cur, Hc.data(), cur, theta.data(), Y.data(), cur);
    res.anorm = std::max({res.anorm, std::fabs(theta[0]), std::fabs(theta[cur - 1])});
    order.resize(static_cast<std::size_t>(cur));
    std::iota(order.begin(), order.end(), index_t{0});
    std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t bb) {
      switch (opt.which) {
        case Which::largest: return theta[a] > theta[bb];
        case Which::smallest: return theta[a] < theta[bb];
        default: return std::fabs(theta[a]) > std::fabs(theta[bb]);
      }
    });
  }

  // Residual of Ritz pair i: ‖R_lastᵀ-coupling · Y[last block rows, i]‖. Counts the converged
  // wanted pairs and returns the largest est / (tol·‖A‖) among them (≤ 1 when all converged).
  double estimate_residuals() {
    RY.assign(static_cast<std::size_t>(b * cur), 0.0);
    est.assign(static_cast<std::size_t>(cur), 0.0);
    for (index_t i = 0; i < cur; ++i) {
      double s2 = 0;
      for (index_t sidx = 0; sidx < b; ++sidx) {
        double acc = 0;
        for (index_t t = sidx; t < b; ++t) acc += Rlast[t * b + sidx] * Y[(cur - b + t) * cur + i];
        RY[sidx * cur + i] = acc;
        s2 += acc * acc;
      }
      est[i] = std::sqrt(s2);
    }
    nconv = 0;
    double worst = 0;
    for (index_t i = 0; i < k; ++i) {
      if (est[order[i]] <= tol * res.anorm) ++nconv;
      worst = std::max(worst, est[order[i]] / (tol * res.anorm));
    }
    return worst;
  }

  // Thick restart: the best `keep` Ritz vectors plus the residual block start the next cycle;
  // H becomes their diagonal with the coupling to the residual block. Returns keep. It keeps
  // the wanted pairs plus kRestartKeepPercent of the rest (nearest first): fewer restarts, each
  // one a GEMM and an O(ncv³) Rayleigh–Ritz solve, without more products.
  index_t thick_restart() {
    const index_t keep = std::min(m - b, k + (kRestartKeepPercent * (cur - k)) / 100);
    Vnew.resize(static_cast<std::size_t>(keep * ld));
    std::vector<U> Yk(static_cast<std::size_t>(cur * keep));
    for (index_t r = 0; r < cur; ++r)
      for (index_t q = 0; q < keep; ++q) Yk[r * keep + q] = static_cast<U>(Y[r * cur + order[q]]);
    kernels::gemm<U>(kernels::Trans::T, kernels::Trans::N, keep, n, cur, U(1), Yk.data(), keep, V.data(), ld, U(0),
                     Vnew.data(), ld);
    std::copy_n(V.data() + cur * ld, b * ld, V.data() + keep * ld);
    std::copy_n(Vnew.data(), keep * ld, V.data());
    std::fill(H.begin(), H.end(), 0.0);
    for (index_t q = 0; q < keep; ++q) {
      H[q * mm + q] = theta[order[q]];
      for (index_t sidx = 0; sidx < b; ++sidx)
        H[q * mm + keep + sidx] = H[(keep + sidx) * mm + q] = RY[sidx * cur + order[q]];
    }
    return keep;
  }

  // Length of the next cycle. Convergence comes at restarts, so a full last cycle mostly
  // overshoots: the last two restarts give the rate at which the worst residual falls per
  // added vector, and when that rate predicts convergence within less than a cycle, the next
  // one is cut to the prediction plus a quarter and a block. The decay is superlinear, so the
  // prediction errs long; when it errs short, one more (smaller) restart follows.
  void plan_next_cycle(index_t keep, double worst) {
    mcyc = m;
    if (prev_worst > worst && worst > 1.0) {
      const double per_vector = std::log(prev_worst / worst) / static_cast<double>(cur - l);
      const double need = std::log(worst) / per_vector;
      const double len = 1.25 * need + static_cast<double>(b);
      if (len < static_cast<double>(m - keep)) {
        const index_t steps = std::max<index_t>(2, static_cast<index_t>(std::ceil(len / static_cast<double>(b))));
        mcyc = std::min(m, keep + steps * b);
      }
    }
    prev_worst = worst;
    l = keep;
    ++res.restarts;
  }

  // True residuals of what is returned (vectors and values rounded to T), b at a time.
  void true_residuals(const Tensor<T>& vec) {
    res.residuals.assign(static_cast<std::size_t>(k), 0.0);
    std::vector<U> Xr(static_cast<std::size_t>(b * ld)), Yr(static_cast<std::size_t>(b * ld));
    for (index_t q0 = 0; q0 < k; q0 += b) {
      const index_t nb = std::min(b, k - q0);
      std::fill(Xr.begin(), Xr.end(), U(0));
      for (index_t q = 0; q < nb; ++q)
        for (index_t r = 0; r < n; ++r) Xr[q * ld + r] = static_cast<U>(vec.data()[r * k + q0 + q]);
      A(Xr.data(), Yr.data(), b);
      A.calls -= b - nb;
      for (index_t q = 0; q < nb; ++q) {
        const double lam = static_cast<double>(res.values.data()[q0 + q]);
        double s2 = 0;
        for (index_t r = 0; r < n; ++r) {
          const double d = static_cast<double>(Yr[q * ld + r]) - lam * static_cast<double>(Xr[q * ld + r]);
          s2 += d * d;
        }
        res.residuals[q0 + q] = std::sqrt(s2);
      }
    }
  }

  // The wanted pairs in ascending algebraic order, their Ritz vectors and true residuals.
  LanczosResult<T> finish() {
    std::vector<index_t> sel(order.begin(), order.begin() + k);
    std::sort(sel.begin(), sel.end(), [&](index_t a, index_t bb) { return theta[a] < theta[bb]; });
    res.converged = nconv;
    res.all_converged = nconv == k;
    res.values = Tensor<T>::empty({k});
    res.residual_estimates.resize(static_cast<std::size_t>(k));
    for (index_t i = 0; i < k; ++i) {
      res.values.data()[i] = static_cast<T>(theta[sel[i]]);
      res.residual_estimates[i] = est[sel[i]];
    }
    if (opt.vectors || opt.residuals) {
      std::vector<U> Ysel(static_cast<std::size_t>(cur * k)), X(static_cast<std::size_t>(n * k));
      for (index_t r = 0; r < cur; ++r)
        for (index_t q = 0; q < k; ++q) Ysel[r * k + q] = static_cast<U>(Y[r * cur + sel[q]]);
      // X (n × k) = Vᵀ Ysel: the Ritz vectors as columns.
      kernels::gemm<U>(kernels::Trans::T, kernels::Trans::N, n, k, cur, U(1), V.data(), ld, Ysel.data(), k, U(0),
                       X.data(), k);
      Tensor<T> vec = Tensor<T>::empty({n, k});
      for (index_t i = 0; i < n * k; ++i) vec.data()[i] = static_cast<T>(X[i]);
      normalize_signs(n, k, vec.data(), k);
      if (opt.residuals) true_residuals(vec);
      if (opt.vectors) res.vectors = vec;
    }
    res.matvecs = A.calls;
    return res;
  }
};

// Cycles of basis growth, Rayleigh–Ritz and residual estimates until the k wanted pairs
// converged or max_restarts restarts were spent, each cycle after the first begun by a thick
// restart.
template <class T, class U, class BlockOp>
LanczosResult<T> block_lanczos(BlockOp& op_block, index_t n, const LanczosOptions& opt, index_t b) {
  BlockLanczos<T, U, BlockOp> run(op_block, n, opt, b);
  for (;;) {
    run.grow_basis();
    run.rayleigh_ritz();
    const double worst = run.estimate_residuals();
    if (run.nconv == run.k || run.res.restarts >= run.max_restarts) break;
    const index_t keep = run.thick_restart();
    run.plan_next_cycle(keep, worst);
  }
  return run.finish();
}

}  // namespace detail

template <class T, class BlockMatVec>
LanczosResult<T> lanczos_block(BlockMatVec&& op, index_t n, const LanczosOptions& opt = {}, index_t block = 4) {
  static_assert(std::is_floating_point_v<T>, "lanczos_block: T must be float or double");
  if (std::is_same_v<T, float> && opt.basis_in_double) return detail::block_lanczos<T, double>(op, n, opt, block);
  return detail::block_lanczos<T, T>(op, n, opt, block);
}

template <class T, class MatVec>
LanczosResult<T> lanczos(MatVec&& op, index_t n, const LanczosOptions& opt = {}) {
  static_assert(std::is_floating_point_v<T>, "lanczos: T must be float or double");
  auto block = [&op, n](const T* X, T* Y, index_t b) {
    for (index_t c = 0; c < b; ++c) op(X + c * n, Y + c * n);
  };
  return lanczos_block<T>(block, n, opt, 1);
}

}  // namespace bilin::linalg
