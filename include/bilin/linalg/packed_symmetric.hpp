// bilin/linalg/packed_symmetric.hpp — a symmetric matrix packed for fast matrix-vector products.
//
// Contract (namespace bilin::linalg):
//   PackedSymmetric<T> S(n, A, lda)   copies the UPPER triangle (diagonal included) of the
//                                     row-major n×n A (lda ≥ n); the strictly lower part is
//                                     never read. Errors (bilin::Error): n < 1, lda < n.
//   PackedSymmetric<T> S(n, A, lda, PackedSymmetric<T>::symmetrize, &scan)
//                                     packs (A + Aᵀ)/2 instead, reading both triangles (each
//                                     entry rounded once, as 0.5·a_ij + 0.5·a_ji: a symmetric
//                                     A is packed unchanged, but for subnormal entries). If
//                                     scan is given (may be null) it receives what the pass
//                                     saw: max|a_ij|, max|a_ij − a_ji|, and whether every
//                                     entry was finite (if not, the other two are meaningless).
//   S.multiply(x, y)                  y = S·x (x, y: n elements each).
//   S.multiply_block(X, Y, b)         Y[c] = S·X[c] for the b vectors stored as ROWS of X and Y
//                                     (b × n, row-major), any b ≥ 0; Y must not overlap X.
//   S.n(), S.bytes()                  the size, and the packed storage in bytes.
// Why: a dense symmetric matvec is bound by reading the matrix, and a Lanczos run does
// hundreds of them. Packing halves the bytes (each off-diagonal entry is read once and used
// for both y_i += a_ij·x_j and y_j += a_ij·x_i), the layout is one sequential stream (no
// 4 KiB-strided rows competing for the same L1 sets), and up to four vectors share each
// read. With 2 or more vectors the pass is bound by the FMA units (n² FMA lanes per vector),
// not by memory (figures: bench/RESULTS.md).
// Layout: the matrix is padded with zeros to a multiple of W (the SIMD width of T: 16 floats
// or 8 doubles on AVX-512) and cut into strips of H = 4 rows. Strip s (rows 4s..4s+3, inside
// block row I = 4s / W) stores the H×W blocks J = I, I+1, …, each row-major. Block I is the
// strip's slice of the diagonal W×W tile, stored with both triangles, so it contributes only
// to y_I; the blocks J > I contribute A_sJ·x_J to the strip's rows (W-lane accumulators,
// summed across lanes once per strip by a shuffle tree) and A_sJᵀ·x_s to y_J.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

#include "../core/error.hpp"
#include "vector_kernels.hpp"

namespace bilin::linalg {

template <class T>
class PackedSymmetric {
  static_assert(std::is_floating_point_v<T>, "PackedSymmetric: T must be float or double");

 public:
  static constexpr index_t W = detail::vk_simd<T> ? detail::VK<T>::W : 8;  // block width
  static constexpr index_t H = 4;                                          // strip height
  static constexpr index_t NB = 4;                                         // vectors per pass

  struct Symmetrize {};
  static constexpr Symmetrize symmetrize{};
  struct Scan {
    double absmax = 0, asymmetry = 0;
    bool finite = true;
  };

  PackedSymmetric(index_t n, const T* A, index_t lda) : PackedSymmetric(n, lda) { pack<false>(A, lda); }
  // Folding the symmetrization into the packing saves eigh a full n×n pass over a transposed
  // copy when its input is symmetric only to rounding. The scan saves eigh its own two passes
  // over A (the finiteness and the symmetry check).
  PackedSymmetric(index_t n, const T* A, index_t lda, Symmetrize, Scan* scan = nullptr) : PackedSymmetric(n, lda) {
    const Scan sc = pack<true>(A, lda);
    if (scan) *scan = sc;
  }

  index_t n() const { return n_; }
  std::size_t bytes() const { return static_cast<std::size_t>(elements()) * sizeof(T); }

  void multiply(const T* x, T* y) { multiply_block(x, y, 1); }

  void multiply_block(const T* X, T* Y, index_t b) {
    static_assert(NB == 4, "multiply_block hands out groups of 4 vectors");
    detail::in_groups_of_4(b, [&](auto nbc, index_t c0) {
      constexpr index_t nb = decltype(nbc)::value;
      for (index_t c = 0; c < nb; ++c) {
        std::copy_n(X + (c0 + c) * n_, n_, xp_.get() + c * np());
        std::fill(xp_.get() + c * np() + n_, xp_.get() + (c + 1) * np(), T(0));
      }
      std::fill_n(yp_.get(), nb * np(), T(0));
      sweep<nb>();
      for (index_t c = 0; c < nb; ++c) std::copy_n(yp_.get() + c * np(), n_, Y + (c0 + c) * n_);
    });
  }

 private:
  PackedSymmetric(index_t n, index_t lda) : n_(n), nt_((n + W - 1) / W) {
    BILIN_CHECK(n >= 1, "PackedSymmetric", "needs n >= 1, got ", n);
    BILIN_CHECK(lda >= n, "PackedSymmetric", "leading dimension ", lda, " is smaller than n = ", n);
    data_ = alloc(elements(), false);  // pack writes every element, padding included
    xp_ = alloc(NB * np());
    yp_ = alloc(NB * np());
  }

  // W×W tile by W×W tile of the upper triangle; row r of tile (I, J) is row r % H of its strip's
  // block J − I. With Sym the tile is (A_IJ + A_JIᵀ)/2, the mirror tile A_JI read row by row and
  // transposed in registers. (Walked strip by strip instead, the mirror entries would form a
  // column of A, rows 4 KiB apart at n = 1024 that share a few cache sets.) Whole tiles move
  // by vector loads and stores, several times faster than through a scalar buffer, which only
  // the edge tiles use. Edge tiles write their zero padding too, so data_ needs no zero fill
  // (a second pass over the storage). With Sym the pass also returns the Scan (vector maxima,
  // reduced once).
  template <bool Sym>
  Scan pack(const T* A, index_t lda) {
    Scan scan;
    T amax = 0, asym = 0, poison = 0;  // poison: Σ (x − x), NaN once any entry is not finite
    // the same three as SIMD lanes, for whole tiles (a plain 0 where there is no SIMD type)
    [[maybe_unused]] auto zero = [] {
      if constexpr (detail::vk_simd<T>) return typename detail::VK<T>::B(T(0));
      else return 0;
    };
    [[maybe_unused]] auto vamax = zero(), vasym = zero(), vpoison = zero();
    for (index_t I = 0; I < nt_; ++I) {
      const index_t ni = std::min(W, n_ - I * W);
      for (index_t J = I; J < nt_; ++J) {
        const index_t nj = std::min(W, n_ - J * W);
        auto dst = [&](index_t r) {  // where row r of tile (I, J) goes
          const index_t i = I * W + r;
          return data_.get() + strip_offset(i / H) + (i % H) * W + (J - I) * H * W;
        };
        if constexpr (detail::vk_simd<T>) {
          if (ni == W && nj == W && (Sym || J > I)) {
            using V = detail::VK<T>;
            typename V::B low[W];
            if constexpr (Sym) {
              for (index_t c = 0; c < W; ++c) low[c] = V::load(A + (J * W + c) * lda + I * W);
              detail::transpose_tile<T>(low);
            }
            for (index_t r = 0; r < W; ++r) {
              const auto up = V::load(A + (I * W + r) * lda + J * W);
              if constexpr (Sym) {
                V::store(dst(r), T(0.5) * up + T(0.5) * low[r]);
                vamax = V::absmax(V::absmax(vamax, up), low[r]);
                vasym = V::absmax(vasym, up - low[r]);
                vpoison = vpoison + ((up - up) + (low[r] - low[r]));
              } else {
                V::store(dst(r), up);
              }
            }
            continue;
          }
        }
        T tile[W * W] = {};  // tile[r·W + c] = packed entry (I·W + r, J·W + c)
        for (index_t r = 0; r < ni; ++r) {
          const T* up = A + (I * W + r) * lda + J * W;
          for (index_t c = 0; c < nj; ++c) tile[r * W + c] = up[c];
        }
        if constexpr (Sym) {
          T low[W * W] = {};  // low[c·W + r] = A(J·W + c, I·W + r)
          for (index_t c = 0; c < nj; ++c) std::copy_n(A + (J * W + c) * lda + I * W, ni, low + c * W);
          for (index_t r = 0; r < ni; ++r)
            for (index_t c = 0; c < nj; ++c) {
              const T up = tile[r * W + c], lo = low[c * W + r];
              tile[r * W + c] = T(0.5) * up + T(0.5) * lo;
              amax = std::max({amax, std::fabs(up), std::fabs(lo)});
              asym = std::max(asym, std::fabs(up - lo));
              poison += (up - up) + (lo - lo);
            }
        } else if (J == I) {
          for (index_t r = 0; r < ni; ++r)  // diagonal tile: the lower half mirrors the upper
            for (index_t c = 0; c < r; ++c) tile[r * W + c] = tile[c * W + r];
        }
        for (index_t r = 0; r < W; ++r) std::copy_n(tile + r * W, W, dst(r));  // with the padding
      }
    }
    if constexpr (Sym) {
      if constexpr (detail::vk_simd<T>) {
        using V = detail::VK<T>;
        alignas(64) T l[3][V::W];
        vamax.store_aligned(l[0]);
        vasym.store_aligned(l[1]);
        vpoison.store_aligned(l[2]);
        for (index_t q = 0; q < V::W; ++q) {
          amax = std::max(amax, l[0][q]);
          asym = std::max(asym, l[1][q]);
          poison += l[2][q];
        }
      }
      scan.absmax = static_cast<double>(amax);
      scan.asymmetry = static_cast<double>(asym);
      scan.finite = poison == T(0);
    }
    return scan;
  }

  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  using Buf = std::unique_ptr<T[], Free>;
  static Buf alloc(index_t count, bool zero = true) {
    const std::size_t bytes = (static_cast<std::size_t>(count) * sizeof(T) + 63) / 64 * 64;
    T* p = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!p) throw std::bad_alloc();
    if (zero) std::fill_n(p, count, T(0));
    return Buf(p);
  }
  index_t np() const { return nt_ * W; }
  // Strips in block row I hold nt − I blocks each; W/H strips per block row.
  index_t elements() const { return nt_ * (nt_ + 1) / 2 * (W / H) * H * W; }

  // Strip s starts after the W/H strips of each earlier block row I' (nt − I' blocks each)
  // and the earlier strips of its own block row.
  index_t strip_offset(index_t s) const {
    const index_t I = s * H / W, q = s - I * (W / H);
    return ((I * nt_ - I * (I - 1) / 2) * (W / H) + q * (nt_ - I)) * H * W;
  }

  template <index_t B>
  void sweep() {
    for (index_t s = 0; s < np() / H; ++s) strip<B>(s);
  }

  // Strip s: rows i0..i0+3 against blocks J = I..nt−1, for B vectors.
  template <index_t B>
  void strip(index_t s) {
    const index_t i0 = s * H, I = i0 / W, ld = np();
    const T* p = data_.get() + strip_offset(s);
    const T* x = xp_.get();
    T* y = yp_.get();
    if constexpr (detail::vk_simd<T>) {
      using V = detail::VK<T>;
      using Bt = typename V::B;
      constexpr index_t Z = H * NB;  // accumulators: row r, vector c at r * NB + c
      constexpr index_t Zp = (Z + W - 1) / W * W;
      Bt z[Zp];
#pragma GCC unroll 16
      for (index_t q = 0; q < Zp; ++q) z[q] = Bt(T(0));
#pragma GCC unroll 4
      for (index_t c = 0; c < B; ++c) {
        const Bt xI = Bt::load_aligned(x + c * ld + I * W);
#pragma GCC unroll 4
        for (index_t r = 0; r < H; ++r) z[r * NB + c] = V::fma(Bt::load_aligned(p + r * W), xI, z[r * NB + c]);
      }
      p += H * W;
      // x_c[i0 + r] broadcast once per strip, kept in L1 as whole vectors: a full-width load
      // folds into the FMA, a broadcast from memory costs an extra shuffle per use
      alignas(64) T bx[H * B * W];
      for (index_t c = 0; c < B; ++c)
        for (index_t r = 0; r < H; ++r) Bt(x[c * ld + i0 + r]).store_aligned(bx + (c * H + r) * W);
      for (index_t J = I + 1; J < nt_; ++J, p += H * W) {
        const Bt a0 = Bt::load_aligned(p), a1 = Bt::load_aligned(p + W), a2 = Bt::load_aligned(p + 2 * W),
                 a3 = Bt::load_aligned(p + 3 * W);
#pragma GCC unroll 4
        for (index_t c = 0; c < B; ++c) {
          const T* xc = x + c * ld;
          const Bt xJ = Bt::load_aligned(xc + J * W);
          z[0 * NB + c] = V::fma(a0, xJ, z[0 * NB + c]);
          z[1 * NB + c] = V::fma(a1, xJ, z[1 * NB + c]);
          z[2 * NB + c] = V::fma(a2, xJ, z[2 * NB + c]);
          z[3 * NB + c] = V::fma(a3, xJ, z[3 * NB + c]);
          T* yJ = y + c * ld + J * W;
          // two short chains (the y load overlaps the first): 5 operations for 4 products
          const T* bc = bx + c * H * W;
          const Bt u = V::fma(a1, Bt::load_aligned(bc + W), a0 * Bt::load_aligned(bc));
          const Bt v =
              V::fma(a3, Bt::load_aligned(bc + 3 * W), V::fma(a2, Bt::load_aligned(bc + 2 * W), Bt::load_aligned(yJ)));
          (u + v).store_aligned(yJ);
        }
      }
      alignas(64) T sums[Zp];
      for (index_t g = 0; g < Zp; g += W) detail::row_sums<T>(z + g).store_aligned(sums + g);
      for (index_t c = 0; c < B; ++c)
        for (index_t r = 0; r < H; ++r) y[c * ld + i0 + r] += sums[r * NB + c];
    } else {
      for (index_t J = I; J < nt_; ++J, p += H * W)
        for (index_t c = 0; c < B; ++c) {
          const T* xc = x + c * ld;
          T* yc = y + c * ld;
          for (index_t r = 0; r < H; ++r)
            for (index_t k = 0; k < W; ++k) {
              yc[i0 + r] += p[r * W + k] * xc[J * W + k];
              if (J > I) yc[J * W + k] += p[r * W + k] * xc[i0 + r];
            }
        }
    }
  }

  index_t n_, nt_;
  Buf data_, xp_, yp_;
};

}  // namespace bilin::linalg
