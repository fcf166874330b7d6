// Tests for linalg::eigh (Jacobi, Householder + D&C / QL) against closed forms and invariants.
#include <catch2/catch.hpp>

#include <bilin/linalg/eigh.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace bilin;
using namespace bilin::linalg;

namespace {

// The three dense methods every closed-form case runs through.
struct MethodCase {
  const char* name;
  EighMethod method;
  TridiagSolver solver;
};
const MethodCase kDense[] = {{"jacobi", EighMethod::jacobi, TridiagSolver::automatic},
                             {"tridiagonal+dc", EighMethod::tridiagonal, TridiagSolver::dc},
                             {"tridiagonal+ql", EighMethod::tridiagonal, TridiagSolver::ql}};

template <class T>
Tensor<T> from_fn(index_t n, const std::function<double(index_t, index_t)>& f) {
  Tensor<T> A = Tensor<T>::empty({n, n});
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j) A.data()[i * n + j] = static_cast<T>(f(i, j));
  return A;
}

template <class T>
Tensor<T> copy_of(const Tensor<T>& A) {
  return Tensor<T>::from_vector(A.to_vector(), A.shape());
}

template <class T>
Tensor<T> random_symmetric(index_t n, std::uint64_t seed) {
  Generator g(seed);
  Tensor<T> A = Tensor<T>::empty({n, n});
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j) A.data()[i * n + j] = A.data()[j * n + i] = static_cast<T>(g.normal());
  return A;
}

// Q diag(lam) Qᵀ with Q = (I − 2uuᵀ)(I − 2wwᵀ): a dense matrix with a prescribed spectrum.
template <class T>
Tensor<T> with_spectrum(const std::vector<double>& lam, std::uint64_t seed) {
  const index_t n = static_cast<index_t>(lam.size());
  Generator g(seed);
  std::vector<double> u(n), w(n);
  double nu = 0, nw = 0;
  for (index_t i = 0; i < n; ++i) {
    u[i] = g.normal();
    w[i] = g.normal();
    nu += u[i] * u[i];
    nw += w[i] * w[i];
  }
  for (index_t i = 0; i < n; ++i) {
    u[i] /= std::sqrt(nu);
    w[i] /= std::sqrt(nw);
  }
  std::vector<double> Q(n * n);
  const double uw = [&] { double s = 0; for (index_t i = 0; i < n; ++i) s += u[i] * w[i]; return s; }();
  // (I − 2uuᵀ)(I − 2wwᵀ) = I − 2uuᵀ − 2wwᵀ + 4 (uᵀw) u wᵀ
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < n; ++j)
      Q[i * n + j] = (i == j) - 2 * u[i] * u[j] - 2 * w[i] * w[j] + 4 * uw * u[i] * w[j];
  return from_fn<T>(n, [&](index_t i, index_t j) {
    double s = 0;
    for (index_t c = 0; c < n; ++c) s += Q[i * n + c] * lam[c] * Q[j * n + c];
    return s;
  });
}

// max|A v − λ v| / ‖A‖₂ and max|VᵀV − I|, in double, naive loops (independent of the GEMM).
template <class T>
std::pair<double, double> quality(const Tensor<T>& A, const EighResult<T>& r) {
  const index_t n = A.size(0), k = r.values.numel();
  double anorm = 0;  // ‖A‖₂ ≥ max|λ| of the returned ones; use the Frobenius norm bound's safe side
  for (index_t i = 0; i < n * n; ++i) anorm += static_cast<double>(A.data()[i]) * A.data()[i];
  anorm = std::sqrt(anorm);
  // columns of V as contiguous double rows, so the O(n³) loops below stream memory
  std::vector<double> Vt(static_cast<std::size_t>(k * n)), Ad(static_cast<std::size_t>(n * n));
  for (index_t i = 0; i < n; ++i)
    for (index_t c = 0; c < k; ++c) Vt[c * n + i] = r.vectors.data()[i * k + c];
  for (index_t i = 0; i < n * n; ++i) Ad[i] = A.data()[i];
  auto dotd = [n](const double* x, const double* y) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    index_t i = 0;
    for (; i + 4 <= n; i += 4) {
      s0 += x[i] * y[i];
      s1 += x[i + 1] * y[i + 1];
      s2 += x[i + 2] * y[i + 2];
      s3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; ++i) s0 += x[i] * y[i];
    return (s0 + s1) + (s2 + s3);
  };
  double res = 0, orth = 0;
  for (index_t c = 0; c < k; ++c)
    for (index_t i = 0; i < n; ++i)
      res = std::max(res, std::fabs(dotd(Ad.data() + i * n, Vt.data() + c * n) -
                                    static_cast<double>(r.values.data()[c]) * Vt[c * n + i]));
  for (index_t a = 0; a < k; ++a)
    for (index_t b = a; b < k; ++b)
      orth = std::max(orth, std::fabs(dotd(Vt.data() + a * n, Vt.data() + b * n) - (a == b ? 1.0 : 0.0)));
  // ‖A‖₂ of a symmetric matrix is max|λ|; when all values were computed use it exactly.
  if (k == n && n > 0) {
    double lmax = 0;
    for (index_t i = 0; i < n; ++i) lmax = std::max(lmax, std::fabs(static_cast<double>(r.values.data()[i])));
    anorm = lmax;
  }
  return {anorm > 0 ? res / anorm : res, orth};
}

template <class T>
void check_quality(const Tensor<T>& A, const EighResult<T>& r) {
  const index_t n = A.size(0);
  const double bound = 20.0 * static_cast<double>(std::max<index_t>(n, 1)) * std::numeric_limits<T>::epsilon();
  const auto [res, orth] = quality(A, r);
  INFO("n = " << n << " residual " << res << " orthogonality " << orth << " bound " << bound);
  CHECK(res <= bound);
  CHECK(orth <= bound);
}

template <class T>
void check_signs(const EighResult<T>& r) {
  const index_t n = r.vectors.size(0), k = r.vectors.size(1);
  for (index_t c = 0; c < k; ++c) {
    index_t best = 0;
    for (index_t i = 1; i < n; ++i)
      if (std::fabs(r.vectors.data()[i * k + c]) > std::fabs(r.vectors.data()[best * k + c])) best = i;
    CHECK(r.vectors.data()[best * k + c] > 0);
  }
}

template <class T>
EighResult<T> run(const Tensor<T>& A, const MethodCase& m, EighOptions o = {}) {
  o.method = m.method;
  o.tridiag_solver = m.solver;
  return eigh(A, o);
}

}  // namespace

TEMPLATE_TEST_CASE("eigh: closed forms", "[linalg][eigh]", float, double) {
  using T = TestType;
  const double eps = std::numeric_limits<T>::epsilon();
  for (const auto& m : kDense) {
    SECTION(m.name) {
      // diagonal: values are the sorted diagonal, vectors the unit vectors (sign: +1)
      {
        const std::vector<double> dg = {3, -1, 7, 0.5, -4, 2};
        auto A = from_fn<T>(6, [&](index_t i, index_t j) { return i == j ? dg[i] : 0.0; });
        auto r = run(A, m);
        std::vector<double> s = dg;
        std::sort(s.begin(), s.end());
        for (index_t i = 0; i < 6; ++i) {
          CHECK(r.values.data()[i] == Approx(s[i]).margin(10 * eps));
          const index_t src = std::find(dg.begin(), dg.end(), s[i]) - dg.begin();
          CHECK(r.vectors.data()[src * 6 + i] == Approx(1.0).margin(10 * eps));
        }
        check_quality(A, r);
      }
      // 2×2: λ = (a+c)/2 ± sqrt(((a−c)/2)² + b²)
      {
        const double a = 1.5, b = -0.75, c = -2.0;
        auto A = from_fn<T>(2, [&](index_t i, index_t j) { return i != j ? b : (i == 0 ? a : c); });
        auto r = run(A, m);
        const double mid = 0.5 * (a + c), rad = std::sqrt(0.25 * (a - c) * (a - c) + b * b);
        CHECK(r.values.data()[0] == Approx(mid - rad).epsilon(10 * eps));
        CHECK(r.values.data()[1] == Approx(mid + rad).epsilon(10 * eps));
        check_quality(A, r);
        check_signs(r);
      }
      // tridiagonal Toeplitz (2, −1): λ_j = 2 − 2cos(jπ/(n+1)), v_j(i) ∝ sin(i·j·π/(n+1))
      for (index_t n : {50, 200}) {
        auto A = from_fn<T>(n, [](index_t i, index_t j) { return i == j ? 2.0 : (std::abs(i - j) == 1 ? -1.0 : 0.0); });
        auto r = run(A, m);
        const double pi = 3.14159265358979323846;
        for (index_t j = 1; j <= n; ++j) {
          const double lam = 2.0 - 2.0 * std::cos(j * pi / (n + 1));
          CHECK(std::fabs(r.values.data()[j - 1] - lam) <= 10 * n * eps);
          double dotv = 0;
          for (index_t i = 1; i <= n; ++i)
            dotv += std::sqrt(2.0 / (n + 1)) * std::sin(i * j * pi / (n + 1)) * r.vectors.data()[(i - 1) * n + (j - 1)];
          // the gap between neighbours is ~π²/n², so float vectors are only good to ε·n²
          CHECK(std::fabs(std::fabs(dotv) - 1.0) <= 10.0 * n * n * eps);
        }
        check_quality(A, r);
      }
      // rank-1 update of the identity: I + uuᵀ has 1 (n−1 times) and 1 + ‖u‖², vector u/‖u‖
      {
        const index_t n = 40;
        std::vector<double> u(n);
        double nu = 0;
        for (index_t i = 0; i < n; ++i) {
          u[i] = std::sin(0.3 * i + 0.1);
          nu += u[i] * u[i];
        }
        auto A = from_fn<T>(n, [&](index_t i, index_t j) { return (i == j) + u[i] * u[j]; });
        auto r = run(A, m);
        for (index_t i = 0; i < n - 1; ++i) CHECK(r.values.data()[i] == Approx(1.0).margin(20 * n * eps));
        CHECK(r.values.data()[n - 1] == Approx(1.0 + nu).epsilon(20 * n * eps));
        double dotv = 0;
        for (index_t i = 0; i < n; ++i) dotv += u[i] / std::sqrt(nu) * r.vectors.data()[i * n + n - 1];
        CHECK(std::fabs(dotv) == Approx(1.0).margin(20 * n * eps));
        check_quality(A, r);
      }
      // repeated eigenvalues in a dense basis
      {
        std::vector<double> lam = {1, 1, 1, 2, 2, -3, -3, -3, -3, 5, 0, 0};
        auto A = with_spectrum<T>(lam, 11);
        auto r = run(A, m);
        std::sort(lam.begin(), lam.end());
        for (index_t i = 0; i < 12; ++i) CHECK(r.values.data()[i] == Approx(lam[i]).margin(200 * eps));
        check_quality(A, r);
      }
      // zero matrix, 1×1 and 0×0
      {
        auto Z = Tensor<T>::zeros({7, 7});
        auto r = run(Z, m);
        for (index_t i = 0; i < 7; ++i) CHECK(r.values.data()[i] == 0);
        check_quality(Z, r);
        check_signs(r);
        auto one = from_fn<T>(1, [](index_t, index_t) { return -2.5; });
        auto r1 = run(one, m);
        CHECK(r1.values.data()[0] == T(-2.5));
        CHECK(r1.vectors.data()[0] == T(1));
        auto r0 = run(Tensor<T>::zeros({0, 0}), m);
        CHECK(r0.values.numel() == 0);
      }
    }
  }
}

TEMPLATE_TEST_CASE("eigh: random symmetric matrices", "[linalg][eigh]", float, double) {
  using T = TestType;
  for (index_t n : {3, 17, 33, 64, 129, 300}) {
    auto A = random_symmetric<T>(n, 100 + n);
    // trace and Frobenius norm are independent invariants of the spectrum
    double tr = 0, fro = 0;
    for (index_t i = 0; i < n; ++i) tr += A.data()[i * n + i];
    for (index_t i = 0; i < n * n; ++i) fro += static_cast<double>(A.data()[i]) * A.data()[i];
    std::vector<std::vector<double>> all;
    for (const auto& m : kDense) {
      if (m.method == EighMethod::jacobi && n > 129) continue;  // O(n³) per sweep: keep the suite fast
      INFO(m.name << " n = " << n);
      auto r = run(A, m);
      check_quality(A, r);
      check_signs(r);
      double s = 0, s2 = 0;
      for (index_t i = 0; i < n; ++i) {
        s += r.values.data()[i];
        s2 += static_cast<double>(r.values.data()[i]) * r.values.data()[i];
        if (i) CHECK(r.values.data()[i - 1] <= r.values.data()[i]);
      }
      const double eps = std::numeric_limits<T>::epsilon();
      CHECK(std::fabs(s - tr) <= 20 * n * eps * std::sqrt(fro));
      CHECK(std::fabs(s2 - fro) <= 20 * n * eps * fro);
      all.emplace_back(r.values.data(), r.values.data() + n);
    }
    for (std::size_t a = 1; a < all.size(); ++a)
      for (index_t i = 0; i < n; ++i)
        CHECK(std::fabs(all[a][i] - all[0][i]) <= 20 * n * std::numeric_limits<T>::epsilon() * std::sqrt(fro));
  }
}

TEST_CASE("eigh: n = 1024 float, divide and conquer", "[linalg][eigh][large]") {
  auto A = random_symmetric<float>(1024, 7);
  auto r = eigh(A);
  CHECK(r.info.method == EighMethod::tridiagonal);
  check_quality(A, r);
  check_signs(r);
}

TEST_CASE("eigh: n = 384 double, all three solvers agree on vectors", "[linalg][eigh]") {
  auto A = random_symmetric<double>(384, 3);
  EighOptions o;
  o.method = EighMethod::tridiagonal;
  o.tridiag_solver = TridiagSolver::dc;
  auto dc = eigh(A, o);
  o.tridiag_solver = TridiagSolver::ql;
  auto ql = eigh(A, o);
  check_quality(A, dc);
  check_quality(A, ql);
  // The sign convention makes the vectors comparable entry by entry (random spectra have no
  // repeated eigenvalues). Tolerance: ε·‖A‖/gap, with gaps ≳ 1e-3 here.
  double diff = 0;
  for (index_t i = 0; i < 384 * 384; ++i) diff = std::max(diff, std::fabs(dc.vectors.data()[i] - ql.vectors.data()[i]));
  CHECK(diff < 1e-9);
}

TEMPLATE_TEST_CASE("eigh: Jacobi is at least as accurate as the tridiagonal path", "[linalg][eigh][jacobi]", float,
                   double) {
  using T = TestType;
  // A graded positive definite matrix (D H D, eigenvalues over 10 orders of magnitude for
  // double): Jacobi's relative criterion resolves the small eigenvalues to relative accuracy.
  const index_t n = 24;
  const double range = std::is_same_v<T, float> ? 4.0 : 10.0;
  std::vector<double> dsc(n);
  for (index_t i = 0; i < n; ++i) dsc[i] = std::pow(10.0, -range * i / (n - 1));
  auto A = from_fn<T>(n, [&](index_t i, index_t j) { return dsc[i] * dsc[j] * (i == j ? 2.0 : 1.0 / (1.0 + std::abs(i - j))); });
  EighOptions o;
  o.method = EighMethod::jacobi;
  auto jr = eigh(A, o);
  CHECK(jr.info.all_converged);
  CHECK(jr.info.sweeps < 20);
  check_quality(A, jr);
  // reference: Jacobi in long double on the same (rounded) matrix, via the detail routine
  std::vector<long double> M(n * n);
  for (index_t i = 0; i < n * n; ++i) M[i] = A.data()[i];
  std::vector<double> ref(n);
  linalg::detail::jacobi<long double>(n, M.data(), n, ref.data(), nullptr, n, 1e-19, 100);
  std::sort(ref.begin(), ref.end());
  for (index_t i = 0; i < n; ++i) {
    INFO("i = " << i << " ref " << ref[i] << " jacobi " << jr.values.data()[i]);
    CHECK(std::fabs(jr.values.data()[i] - ref[i]) <= 4 * std::numeric_limits<T>::epsilon() * std::fabs(ref[i]));
  }
}

TEMPLATE_TEST_CASE("eigh: subsets, order and values-only", "[linalg][eigh]", float, double) {
  using T = TestType;
  const index_t n = 90;
  auto A = random_symmetric<T>(n, 5);
  for (index_t i = 0; i < n; ++i) A.data()[i * n + i] += static_cast<T>(i % 7 == 0 ? -30.0 : 0.0);  // big negatives
  for (const auto& m : kDense) {
    INFO(m.name);
    auto full = run(A, m);
    const T* fv = full.values.data();
    const double tol = 50 * n * std::numeric_limits<T>::epsilon() * 40;
    auto same_vec = [&](const EighResult<T>& r, index_t c, index_t src) {
      const index_t k = r.values.numel();
      double d = 0;
      for (index_t i = 0; i < n; ++i) d = std::max(d, static_cast<double>(std::fabs(r.vectors.data()[i * k + c] - full.vectors.data()[i * n + src])));
      return d;
    };
    EighOptions o;
    o.subset = EighSubset::largest;
    o.k = 5;
    auto top = run(A, m, o);
    REQUIRE(top.values.numel() == 5);
    for (index_t i = 0; i < 5; ++i) {
      CHECK(top.values.data()[i] == Approx(fv[n - 5 + i]).margin(tol));
      CHECK(same_vec(top, i, n - 5 + i) < 1e-3);
    }
    o.descending = true;
    auto topd = run(A, m, o);
    for (index_t i = 0; i < 5; ++i) {
      CHECK(topd.values.data()[i] == top.values.data()[4 - i]);
      CHECK(same_vec(topd, i, n - 1 - i) < 1e-3);
    }
    o = {};
    o.subset = EighSubset::smallest;
    o.k = 3;
    auto bot = run(A, m, o);
    for (index_t i = 0; i < 3; ++i) CHECK(bot.values.data()[i] == Approx(fv[i]).margin(tol));
    o.subset = EighSubset::index_range;
    o.first = 10;
    o.last = 20;
    auto mid = run(A, m, o);
    REQUIRE(mid.vectors.size(1) == 10);
    for (index_t i = 0; i < 10; ++i) {
      CHECK(mid.values.data()[i] == Approx(fv[10 + i]).margin(tol));
      CHECK(same_vec(mid, i, 10 + i) < 1e-3);
    }
    o.subset = EighSubset::largest_magnitude;
    o.k = 8;
    auto mag = run(A, m, o);
    std::vector<T> bym(fv, fv + n);
    std::sort(bym.begin(), bym.end(), [](T a, T b) { return std::fabs(a) > std::fabs(b); });
    std::vector<T> want(bym.begin(), bym.begin() + 8);
    std::sort(want.begin(), want.end());
    for (index_t i = 0; i < 8; ++i) CHECK(mag.values.data()[i] == Approx(want[i]).margin(tol));
    check_signs(mag);
    o = {};
    o.vectors = false;
    auto vals = run(A, m, o);
    CHECK(!vals.vectors.defined());
    for (index_t i = 0; i < n; ++i) CHECK(vals.values.data()[i] == Approx(fv[i]).margin(tol));
    o.residuals = true;
    auto withres = run(A, m, o);
    REQUIRE(withres.info.residuals.size() == static_cast<std::size_t>(n));
    for (double rr : withres.info.residuals) CHECK(rr <= 20 * n * std::numeric_limits<T>::epsilon() * 40);
  }
}

TEST_CASE("eigh: asymmetric input with check_symmetry off uses the symmetric part", "[linalg][eigh]") {
  auto A = random_symmetric<double>(20, 9);
  auto B = copy_of(A);
  for (index_t i = 0; i < 20; ++i)
    for (index_t j = i + 1; j < 20; ++j) {
      B.data()[i * 20 + j] += 0.25;
      B.data()[j * 20 + i] -= 0.25;
    }
  EighOptions o;
  o.check_symmetry = false;
  auto ra = eigh(A), rb = eigh(B, o);
  for (index_t i = 0; i < 20; ++i) CHECK(rb.values.data()[i] == Approx(ra.values.data()[i]).margin(1e-12));
  // the lanczos method packs the symmetric part straight from B's rows, and through a
  // symmetrized copy for a transposed view
  EighOptions ol = o;
  ol.method = EighMethod::lanczos;
  ol.subset = EighSubset::largest;
  ol.k = 3;
  for (const auto& M : {B, B.t()}) {
    auto rl = eigh(M, ol);
    REQUIRE(rl.info.all_converged);
    for (index_t i = 0; i < 3; ++i) CHECK(rl.values.data()[i] == Approx(ra.values.data()[17 + i]).margin(1e-9));
  }
  // a rounding-level asymmetry passes the default check
  auto C = copy_of(A);
  C.data()[1] *= 1 + 1e-15;
  CHECK_NOTHROW(eigh(C));
}

TEST_CASE("eigh: errors name what is wrong", "[linalg][eigh][errors]") {
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH(eigh(Tensor<float>::zeros({3, 4})), Contains("eigh") && Contains("square") && Contains("[3,4]"));
  REQUIRE_THROWS_WITH(eigh(Tensor<float>::zeros({3})), Contains("square"));
  auto A = random_symmetric<float>(5, 1);
  auto N = copy_of(A);
  N.data()[1 * 5 + 2] = std::numeric_limits<float>::quiet_NaN();
  REQUIRE_THROWS_WITH(eigh(N), Contains("entry (1, 2)") && Contains("nan"));
  auto I = copy_of(A);
  I.data()[4 * 5 + 0] = std::numeric_limits<float>::infinity();
  REQUIRE_THROWS_WITH(eigh(I), Contains("entry (4, 0)") && Contains("inf"));
  auto S = copy_of(A);
  S.data()[0 * 5 + 3] += 1.0f;
  REQUIRE_THROWS_WITH(eigh(S), Contains("not symmetric") && Contains("A(0,3)"));
  EighOptions o;
  o.subset = EighSubset::largest;
  o.k = 0;
  REQUIRE_THROWS_WITH(eigh(A, o), Contains("k = 0") && Contains("out of range"));
  o.k = 6;
  REQUIRE_THROWS_WITH(eigh(A, o), Contains("k = 6"));
  o.subset = EighSubset::index_range;
  o.first = 3;
  o.last = 3;
  REQUIRE_THROWS_WITH(eigh(A, o), Contains("index range [3, 3)"));
  o = {};
  o.method = EighMethod::lanczos;
  REQUIRE_THROWS_WITH(eigh(A, o), Contains("lanczos") && Contains("subset"));
  o.subset = EighSubset::largest;
  o.k = 5;
  REQUIRE_THROWS_WITH(eigh(A, o), Contains("k <= n - 2"));
  // the lanczos method finds the same faults in the pass that packs the matrix
  {
    const index_t n = 40;
    EighOptions ol;
    ol.method = EighMethod::lanczos;
    ol.subset = EighSubset::largest;
    ol.k = 3;
    auto L = random_symmetric<float>(n, 2);
    CHECK_NOTHROW(eigh(L, ol));
    auto LN = copy_of(L);
    LN.data()[33 * n + 7] = std::numeric_limits<float>::quiet_NaN();
    REQUIRE_THROWS_WITH(eigh(LN, ol), Contains("entry (33, 7)") && Contains("nan"));
    auto LI = copy_of(L);
    LI.data()[2 * n + 39] = -std::numeric_limits<float>::infinity();
    REQUIRE_THROWS_WITH(eigh(LI, ol), Contains("entry (2, 39)") && Contains("inf"));
    auto LS = copy_of(L);
    LS.data()[38 * n + 5] += 1.0f;
    REQUIRE_THROWS_WITH(eigh(LS, ol), Contains("not symmetric") && Contains("A(5,38)"));
  }
  try {
    eigh(Tensor<double>::zeros({2, 5}));
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.op() == "eigh");
  }
}
