// Tests for the building blocks under linalg::eigh: vector kernels against naive loops,
// Householder tridiagonalization against a reconstruction, and divide and conquer against QL
// on matrices that stress deflation (Wilkinson and glued Wilkinson matrices).
#include <catch2/catch.hpp>

#include <bilin/core/random.hpp>
#include <bilin/linalg/householder_tridiag.hpp>
#include <bilin/linalg/jacobi.hpp>
#include <bilin/linalg/packed_symmetric.hpp>
#include <bilin/linalg/tridiag_dc.hpp>
#include <bilin/linalg/tridiag_ql.hpp>
#include <bilin/linalg/vector_kernels.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace bilin;
namespace ld = bilin::linalg::detail;

namespace {

template <class T>
std::vector<T> randv(index_t n, std::uint64_t seed) {
  Generator g(seed);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(g.normal());
  return v;
}

// Y (b rows of n) against S·X row by row, in double, for the symmetric S with entries sym(i, j):
// the largest error (kept even when NaN, which std::max would drop: a NaN is a read of
// poisoned storage) and the largest Σ_j |s_ij·x_j| that error is measured against.
struct PackedError {
  double worst = 0, scale = 1;
};
template <class T, class Sym>
PackedError packed_product_error(index_t n, index_t b, const std::vector<T>& X, const std::vector<T>& Y, Sym sym) {
  PackedError e;
  for (index_t c = 0; c < b; ++c)
    for (index_t i = 0; i < n; ++i) {
      double s = 0, a = 0;
      for (index_t j = 0; j < n; ++j) {
        s += sym(i, j) * X[c * n + j];
        a += std::fabs(sym(i, j) * X[c * n + j]);
      }
      const double d = std::fabs(Y[c * n + i] - s);
      if (!(d <= e.worst)) e.worst = d;
      e.scale = std::max(e.scale, a);
    }
  return e;
}

}  // namespace

TEMPLATE_TEST_CASE("vector kernels match naive loops", "[linalg][kernels]", float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 2e-4 : 1e-12;
  for (index_t n : {1, 3, 16, 17, 50, 131}) {
    INFO("n = " << n);
    const index_t lda = n + 3;
    auto A = randv<T>(n * lda, 1 + n);
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < i; ++j) A[i * lda + j] = A[j * lda + i];  // symmetric
    auto x = randv<T>(n, 2 + n), y = randv<T>(n, 3 + n);
    double ref = 0;
    for (index_t i = 0; i < n; ++i) ref += static_cast<double>(x[i]) * y[i];
    CHECK(ld::dot(n, x.data(), y.data()) == Approx(ref).margin(tol * n));
    std::vector<T> out(n), naive(n);
    for (index_t i = 0; i < n; ++i) {
      double s = 0;
      for (index_t j = 0; j < n; ++j) s += static_cast<double>(A[i * lda + j]) * x[j];
      naive[i] = static_cast<T>(s);
    }
    ld::gemv_n(n, n, A.data(), lda, x.data(), out.data());
    for (index_t i = 0; i < n; ++i) CHECK(out[i] == Approx(naive[i]).margin(tol * n));
    // symv_upper must not read the strictly lower triangle: poison it
    auto U = A;
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < i; ++j) U[i * lda + j] = std::numeric_limits<T>::quiet_NaN();
    ld::symv_upper(n, U.data(), lda, x.data(), out.data());
    for (index_t i = 0; i < n; ++i) CHECK(out[i] == Approx(naive[i]).margin(tol * n));
    for (index_t b : {1, 2, 3, 4, 5, 8, 9}) {
      INFO("b = " << b);
      // multi_dot: C[i·b + t] = V_i · X_t, for j = 0 (nothing), fewer and more rows than a group
      for (index_t j : {0, 3, 7, 19}) {
        INFO("j = " << j);
        const index_t ldv = n + 1;
        auto Vm = randv<T>(j * ldv + 1, 11 + j), X = randv<T>(b * n, 12 + j), C = randv<T>(j * b + 1, 13);
        ld::multi_dot(b, j, n, Vm.data(), ldv, X.data(), n, C.data(), b);
        for (index_t i = 0; i < j; ++i)
          for (index_t t = 0; t < b; ++t) {
            double s = 0;
            for (index_t c = 0; c < n; ++c) s += static_cast<double>(Vm[i * ldv + c]) * X[t * n + c];
            CHECK(C[i * b + t] == Approx(s).margin(tol * n));
          }
        // multi_sub: X_t −= Σ_i C[i·b + t] V_i
        auto Xref = X;
        for (index_t t = 0; t < b; ++t)
          for (index_t i = 0; i < j; ++i)
            for (index_t c = 0; c < n; ++c) Xref[t * n + c] -= C[i * b + t] * Vm[i * ldv + c];
        ld::multi_sub(b, j, n, C.data(), b, Vm.data(), ldv, X.data(), n);
        for (index_t i = 0; i < b * n; ++i) CHECK(X[i] == Approx(Xref[i]).margin(tol * 10 * (j + 1)));
      }
    }
    auto r0 = x, r1 = y;
    ld::rot(n, r0.data(), r1.data(), T(0.6), T(0.8));
    for (index_t i = 0; i < n; ++i) {
      CHECK(r0[i] == Approx(0.6 * x[i] - 0.8 * y[i]).margin(tol));
      CHECK(r1[i] == Approx(0.8 * x[i] + 0.6 * y[i]).margin(tol));
    }
  }
}

TEST_CASE("tridiagonalize: Q T Qᵀ reconstructs the matrix", "[linalg][tridiag]") {
  for (index_t n : {2, 3, 31, 32, 33, 100}) {
    for (index_t nb : {1, 8, 32}) {
      INFO("n = " << n << " nb = " << nb);
      Generator g(n * 10 + nb);
      std::vector<double> S(n * n);
      for (index_t i = 0; i < n; ++i)
        for (index_t j = i; j < n; ++j) S[i * n + j] = S[j * n + i] = g.normal();
      auto A = S;
      std::vector<double> d(n), e(n, 0.0), tau(n, 0.0);
      ld::tridiagonalize(n, A.data(), n, d.data(), e.data(), tau.data(), nb);
      // Q = apply_q(I); then Q T Qᵀ == S and QᵀQ == I
      std::vector<double> Q(n * n, 0.0);
      for (index_t i = 0; i < n; ++i) Q[i * n + i] = 1;
      ld::apply_q(n, A.data(), n, tau.data(), Q.data(), n, n, nb);
      double err = 0, orth = 0;
      for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j) {
          double s = 0, o = 0;
          for (index_t c = 0; c < n; ++c) {
            double tq = d[c] * Q[j * n + c];
            if (c > 0) tq += e[c - 1] * Q[j * n + c - 1];
            if (c + 1 < n) tq += e[c] * Q[j * n + c + 1];
            s += Q[i * n + c] * tq;
            o += Q[c * n + i] * Q[c * n + j];
          }
          err = std::max(err, std::fabs(s - S[i * n + j]));
          orth = std::max(orth, std::fabs(o - (i == j)));
        }
      CHECK(err < 1e-13 * n);
      CHECK(orth < 1e-14 * n);
    }
  }
}

TEMPLATE_TEST_CASE("divide and conquer on deflation-heavy tridiagonals", "[linalg][tridiag][dc]", float, double) {
  using T = TestType;
  const double eps = std::numeric_limits<T>::epsilon();
  // Wilkinson W21+ (d_i = |10 − i|, e = 1): eigenvalue pairs equal to ~1e-14; glued copies
  // (coupled by 1e-7) give clusters of up to 8 nearly equal eigenvalues.
  auto wilkinson = [](index_t copies, double glue) {
    std::vector<double> d, e;
    for (index_t c = 0; c < copies; ++c) {
      for (index_t i = 0; i < 21; ++i) {
        d.push_back(std::fabs(10.0 - i));
        if (i < 20) e.push_back(1.0);
      }
      if (c + 1 < copies) e.push_back(glue);
    }
    return std::make_pair(d, e);
  };
  for (auto [copies, glue] : {std::pair<index_t, double>{1, 0.0}, {3, 1e-7}, {8, 1e-7}, {8, 0.0}, {20, 1e-12}}) {
    auto [d, e] = wilkinson(copies, glue);
    const index_t n = static_cast<index_t>(d.size());
    INFO("copies = " << copies << " glue = " << glue << " n = " << n);
    auto dq = d, eq = e;
    eq.push_back(0);
    ld::tridiag_ql<double>(n, dq.data(), eq.data(), nullptr, 0);
    std::sort(dq.begin(), dq.end());
    auto dd = d;
    std::vector<T> Q(n * n);
    ld::tridiag_dc<T>(n, dd.data(), e.data(), Q.data(), n, 8);
    double res = 0, orth = 0;
    for (index_t i = 0; i < n; ++i) CHECK(std::fabs(dd[i] - dq[i]) <= 20 * n * eps * 11);
    for (index_t c = 0; c < n; ++c)
      for (index_t i = 0; i < n; ++i) {
        double s = d[i] * Q[i * n + c];
        if (i > 0) s += e[i - 1] * Q[(i - 1) * n + c];
        if (i + 1 < n) s += e[i] * Q[(i + 1) * n + c];
        res = std::max(res, std::fabs(s - dd[c] * Q[i * n + c]));
      }
    for (index_t a = 0; a < n; ++a)
      for (index_t b = a; b < n; ++b) {
        double s = 0;
        for (index_t i = 0; i < n; ++i) s += static_cast<double>(Q[i * n + a]) * Q[i * n + b];
        orth = std::max(orth, std::fabs(s - (a == b)));
      }
    CHECK(res <= 20 * n * eps * 11);  // ‖T‖ ≤ 12
    CHECK(orth <= 20 * n * eps);
  }
}

TEST_CASE("secular equation roots are bracketed and accurate", "[linalg][tridiag][dc]") {
  // D + ρzzᵀ with poles extremely close to roots (tiny z_i) and a root near a far pole.
  const std::vector<double> dl = {-3.0, -1.0, 0.0, 1e-9, 2.0, 5.0};
  const std::vector<double> w2 = {1e-30, 0.3, 1e-20, 0.2, 0.25, 0.25};
  const double r = 1.5;
  const index_t k = 6;
  std::vector<double> delta(k);
  for (index_t j = 0; j < k; ++j) {
    const double lam = ld::secular_root(k, dl.data(), w2.data(), r, j, delta.data());
    // λ_j may round onto the pole (here λ_0 = −3 + 5e-31), but δ keeps the strict order
    CHECK(lam >= dl[j]);
    if (j + 1 < k) CHECK(lam <= dl[j + 1]);
    CHECK(delta[j] < 0);
    if (j + 1 < k) CHECK(delta[j + 1] > 0);
    // residual of the secular function, evaluated with the returned δ (relative accuracy)
    double f = 1, fabs_sum = 1;
    for (index_t i = 0; i < k; ++i) {
      f += r * w2[i] / delta[i];
      fabs_sum += std::fabs(r * w2[i] / delta[i]);
    }
    CHECK(std::fabs(f) <= 1e-13 * fabs_sum);
    // away from the pole the plain difference agrees with δ
    for (index_t i = 0; i < k; ++i)
      if (std::fabs(dl[i] - lam) > 1e-6) CHECK(delta[i] == Approx(dl[i] - lam).epsilon(1e-9));
  }
}

TEST_CASE("jacobi: rotations keep both triangles consistent", "[linalg][jacobi]") {
  const index_t n = 40, ld_ = 47;
  Generator g(3);
  std::vector<double> A(n * ld_, 0.0), S(n * n);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j) S[i * n + j] = S[j * n + i] = g.normal();
  for (index_t i = 0; i < n; ++i) std::copy_n(S.data() + i * n, n, A.data() + i * ld_);
  std::vector<double> Vt(n * ld_, 0.0), w(n);
  for (index_t i = 0; i < n; ++i) Vt[i * ld_ + i] = 1;
  auto st = ld::jacobi<double>(n, A.data(), ld_, w.data(), Vt.data(), ld_, 1e-15, 50);
  CHECK(st.converged);
  // V diag(w) Vᵀ == S
  double err = 0;
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j) {
      double s = 0;
      for (index_t c = 0; c < n; ++c) s += Vt[c * ld_ + i] * w[c] * Vt[c * ld_ + j];
      err = std::max(err, std::fabs(s - S[i * n + j]));
    }
  CHECK(err < 1e-12);
}

TEMPLATE_TEST_CASE("PackedSymmetric: products of 1..9 vectors match a naive symmetric matvec", "[linalg][kernels]",
                   float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 3e-5 : 1e-13;
  // sizes around the strip height (4) and the SIMD block width (8 or 16), and a large one
  for (index_t n : {1, 2, 3, 4, 5, 15, 16, 17, 33, 64, 100, 257}) {
    INFO("n = " << n);
    const index_t lda = n + 5;
    auto A = randv<T>(n * lda, 40 + n);
    // only the upper triangle may be read: poison the strictly lower part and the padding
    for (index_t i = 0; i < n; ++i) {
      for (index_t j = 0; j < i; ++j) A[i * lda + j] = std::numeric_limits<T>::quiet_NaN();
      for (index_t j = n; j < lda; ++j) A[i * lda + j] = std::numeric_limits<T>::quiet_NaN();
    }
    auto sym = [&](index_t i, index_t j) { return static_cast<double>(i <= j ? A[i * lda + j] : A[j * lda + i]); };
    linalg::PackedSymmetric<T> P(n, A.data(), lda);
    CHECK(P.n() == n);
    CHECK(P.bytes() >= static_cast<std::size_t>(n * (n + 1) / 2) * sizeof(T));
    for (index_t b : {1, 2, 3, 4, 5, 9}) {
      INFO("b = " << b);
      auto X = randv<T>(b * n, 50 + b);
      std::vector<T> Y(static_cast<std::size_t>(b * n), T(-7));
      P.multiply_block(X.data(), Y.data(), b);
      const PackedError e = packed_product_error(n, b, X, Y, sym);
      CHECK(e.worst <= tol * e.scale);
      // the single-vector entry point agrees with the block one
      std::vector<T> y1(static_cast<std::size_t>(n));
      P.multiply(X.data(), y1.data());
      for (index_t i = 0; i < n; ++i) CHECK(y1[i] == Approx(Y[i]).margin(tol * e.scale));
    }
  }
  // a full 16×16 tile: GCC 12's -Warray-bounds follows the (unreachable) inlined packing of
  // these throwing calls into the buffer
  const std::vector<T> one(256, T(1));
  REQUIRE_THROWS_WITH(linalg::PackedSymmetric<T>(0, one.data(), 1), Catch::Matchers::Contains("n >= 1"));
  REQUIRE_THROWS_WITH(linalg::PackedSymmetric<T>(2, one.data(), 1, linalg::PackedSymmetric<T>::symmetrize),
                      Catch::Matchers::Contains("leading dimension 1"));
  REQUIRE_THROWS_WITH(linalg::PackedSymmetric<T>(2, one.data(), 1), Catch::Matchers::Contains("leading dimension 1"));
}

TEMPLATE_TEST_CASE("PackedSymmetric::symmetrize packs (A + A^T)/2 of a non-symmetric matrix", "[linalg][kernels]",
                   float, double) {
  using T = TestType;
  const double tol = std::is_same_v<T, float> ? 3e-5 : 1e-13;
  for (index_t n : {1, 3, 4, 9, 16, 17, 100}) {
    INFO("n = " << n);
    const index_t lda = n + 3;
    auto A = randv<T>(n * lda, 70 + n);  // both triangles independent: far from symmetric
    for (index_t i = 0; i < n; ++i)
      for (index_t j = n; j < lda; ++j) A[i * lda + j] = std::numeric_limits<T>::quiet_NaN();  // padding
    auto sym = [&](index_t i, index_t j) {
      return 0.5 * static_cast<double>(A[i * lda + j]) + 0.5 * static_cast<double>(A[j * lda + i]);
    };
    linalg::PackedSymmetric<T> P(n, A.data(), lda, linalg::PackedSymmetric<T>::symmetrize);
    for (index_t b : {1, 2, 5}) {
      INFO("b = " << b);
      auto X = randv<T>(b * n, 80 + b);
      std::vector<T> Y(static_cast<std::size_t>(b * n));
      P.multiply_block(X.data(), Y.data(), b);
      const PackedError e = packed_product_error(n, b, X, Y, sym);
      CHECK(e.worst <= tol * e.scale);
    }
  }
}

TEMPLATE_TEST_CASE("PackedSymmetric::symmetrize reports max|A|, max|A - A^T| and non-finite entries",
                   "[linalg][kernels]", float, double) {
  using T = TestType;
  // sizes below, at and across the SIMD width (whole tiles go through registers, edge tiles
  // through a buffer), with the largest entry and the worst asymmetric pair planted in either
  for (index_t n : {1, 3, 16, 17, 40, 100}) {
    const index_t lda = n + 3;
    auto A = randv<T>(n * lda, 90 + n);
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < i; ++j) A[i * lda + j] = A[j * lda + i] + T(0.01) * A[i * lda + j];
    for (index_t i = 0; i < n; ++i)
      for (index_t j = n; j < lda; ++j) A[i * lda + j] = std::numeric_limits<T>::quiet_NaN();  // padding
    const index_t places[][2] = {{0, n - 1}, {n - 1, 0}, {n / 2, n / 3}, {n - 1, n - 1}};
    for (const auto& p : places) {
      INFO("n = " << n << ", planted at (" << p[0] << ", " << p[1] << ")");
      auto B = A;
      B[p[0] * lda + p[1]] = T(-9);  // the largest |entry|, and (off the diagonal) the worst pair
      double amax = 0, asym = 0;
      for (index_t i = 0; i < n; ++i)
        for (index_t j = 0; j < n; ++j) {
          amax = std::max(amax, std::fabs(static_cast<double>(B[i * lda + j])));
          asym = std::max(asym, std::fabs(static_cast<double>(B[i * lda + j]) - static_cast<double>(B[j * lda + i])));
        }
      typename linalg::PackedSymmetric<T>::Scan scan;
      linalg::PackedSymmetric<T> P(n, B.data(), lda, linalg::PackedSymmetric<T>::symmetrize, &scan);
      CHECK(scan.finite);
      CHECK(scan.absmax == amax);
      CHECK(scan.asymmetry == Approx(asym).epsilon(1e-6));  // a_ij − a_ji rounded once in T
      for (T bad : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                    -std::numeric_limits<T>::infinity()}) {
        auto Cb = B;
        Cb[p[0] * lda + p[1]] = bad;
        linalg::PackedSymmetric<T> Q(n, Cb.data(), lda, linalg::PackedSymmetric<T>::symmetrize, &scan);
        CHECK_FALSE(scan.finite);
      }
    }
  }
}
