// Tests for linalg::lanczos (thick-restart, matrix-free) against dense eigh and closed forms.
#include <catch2/catch.hpp>

#include <bilin/linalg/eigh.hpp>
#include <bilin/linalg/lanczos.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

using namespace bilin;
using namespace bilin::linalg;

namespace {

// A = Q diag(lam) Qᵀ with Q the eigenvectors of a random symmetric matrix (computed in double
// by the dense solver, which the closed-form tests cover): dense, with a prescribed spectrum.
template <class T>
Tensor<T> orthogonal_with_spectrum(const std::vector<double>& lam, std::uint64_t seed) {
  const index_t n = static_cast<index_t>(lam.size());
  Generator g(seed);
  Tensor<double> R = Tensor<double>::empty({n, n});
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j) R.data()[i * n + j] = R.data()[j * n + i] = g.normal();
  const Tensor<double> Q = eigh(R).vectors;
  std::vector<double> QL(n * n);
  for (index_t i = 0; i < n; ++i)
    for (index_t c = 0; c < n; ++c) QL[i * n + c] = Q.data()[i * n + c] * lam[c];
  Tensor<double> A = Tensor<double>::empty({n, n});
  kernels::gemm_reference<double>(kernels::Trans::N, kernels::Trans::T, n, n, n, 1.0, QL.data(), n, Q.data(), n, 0.0,
                                  A.data(), n);
  Tensor<T> out = Tensor<T>::empty({n, n});
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j <= i; ++j)
      out.data()[i * n + j] = out.data()[j * n + i] = static_cast<T>(0.5 * (A.data()[i * n + j] + A.data()[j * n + i]));
  return out;
}

// A few dominant eigenvalues with a near-cluster, then a bulk in [−1, 1] — like an
// interaction matrix.
std::vector<double> dominant_spectrum(index_t n) {
  std::vector<double> lam = {-9.0, 12.0, 11.0, 11.0 + 2e-3, 11.0 - 2e-3, 8.0, 6.5, 6.0, -5.0, 4.0, 3.9, 3.8, 3.0, 2.5, 2.0};
  Generator g(99);
  while (static_cast<index_t>(lam.size()) < n) lam.push_back(g.uniform(-1.0, 1.0));
  return lam;
}

template <class T>
auto dense_op(const Tensor<T>& A) {
  const index_t n = A.size(0);
  const T* p = A.data();
  return [p, n](const T* x, T* y) {
    for (index_t i = 0; i < n; ++i) {
      double s = 0;
      for (index_t j = 0; j < n; ++j) s += static_cast<double>(p[i * n + j]) * x[j];
      y[i] = static_cast<T>(s);
    }
  };
}

template <class T>
void check_against_dense(const Tensor<T>& A, const LanczosResult<T>& lr, Which which, double rel) {
  const index_t n = A.size(0), k = lr.values.numel();
  auto full = eigh(A);
  std::vector<double> ref(full.values.data(), full.values.data() + n);
  std::vector<double> want;
  if (which == Which::largest) want.assign(ref.end() - k, ref.end());
  else if (which == Which::smallest) want.assign(ref.begin(), ref.begin() + k);
  else {
    std::vector<double> m = ref;
    std::sort(m.begin(), m.end(), [](double a, double b) { return std::fabs(a) > std::fabs(b); });
    want.assign(m.begin(), m.begin() + k);
    std::sort(want.begin(), want.end());
  }
  double scale = 0;
  for (double v : ref) scale = std::max(scale, std::fabs(v));
  for (index_t i = 0; i < k; ++i) {
    INFO("i = " << i << " lanczos " << lr.values.data()[i] << " dense " << want[i]);
    CHECK(std::fabs(lr.values.data()[i] - want[i]) <= rel * std::fabs(want[i]) + 1e-7 * scale);
  }
  // vectors: unit, orthogonal, small true residual, sign convention
  const T* V = lr.vectors.data();
  for (index_t a = 0; a < k; ++a) {
    for (index_t b = a; b < k; ++b) {
      double s = 0;
      for (index_t i = 0; i < n; ++i) s += static_cast<double>(V[i * k + a]) * V[i * k + b];
      CHECK(std::fabs(s - (a == b)) <= 1e-5);
    }
    index_t best = 0;
    for (index_t i = 1; i < n; ++i)
      if (std::fabs(V[i * k + a]) > std::fabs(V[best * k + a])) best = i;
    CHECK(V[best * k + a] > 0);
  }
  REQUIRE(lr.residuals.size() == static_cast<std::size_t>(k));
  for (double r : lr.residuals) CHECK(r <= 1e-4 * scale);
}

}  // namespace

TEST_CASE("lanczos: float top-k with gaps and clusters agrees with dense eigh", "[linalg][lanczos]") {
  const index_t n = 400;
  auto A = orthogonal_with_spectrum<float>(dominant_spectrum(n), 1);
  for (index_t k : {1, 5, 10})
    for (bool dbl : {false, true}) {
      LanczosOptions o;
      o.k = k;
      o.basis_in_double = dbl;
      auto lr = lanczos<float>(dense_op(A), n, o);
      INFO("k = " << k << " basis_in_double " << dbl << " restarts " << lr.restarts << " matvecs " << lr.matvecs);
      CHECK(lr.all_converged);
      CHECK(lr.converged == k);
      CHECK(lr.matvecs >= lr.iterations + k);
      check_against_dense(A, lr, Which::largest, 1e-5);
    }
}

TEST_CASE("lanczos: smallest and largest magnitude, generic random matrix", "[linalg][lanczos]") {
  const index_t n = 300;
  Generator g(4);
  auto A = Tensor<float>::empty({n, n});
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j) A.data()[i * n + j] = A.data()[j * n + i] = static_cast<float>(g.normal());
  for (bool dbl : {false, true}) {
    INFO("basis_in_double " << dbl);
    LanczosOptions o;
    o.k = 6;
    o.basis_in_double = dbl;
    o.which = Which::smallest;
    auto lo = lanczos<float>(dense_op(A), n, o);
    CHECK(lo.all_converged);
    check_against_dense(A, lo, Which::smallest, 1e-5);
    o.which = Which::largest_magnitude;
    auto lm = lanczos<float>(dense_op(A), n, o);
    CHECK(lm.all_converged);
    check_against_dense(A, lm, Which::largest_magnitude, 1e-5);
  }
}

TEST_CASE("lanczos: double, std::function operator, closed-form spectrum", "[linalg][lanczos]") {
  // Tridiagonal Toeplitz (2, −1) as a matrix-free operator: λ_j = 2 − 2cos(jπ/(n+1)).
  const index_t n = 200;
  std::function<void(const double*, double*)> op = [n](const double* x, double* y) {
    for (index_t i = 0; i < n; ++i) y[i] = 2 * x[i] - (i > 0 ? x[i - 1] : 0.0) - (i + 1 < n ? x[i + 1] : 0.0);
  };
  LanczosOptions o;
  o.k = 4;
  o.ncv = 60;
  o.tol = 1e-10;
  auto lr = lanczos<double>(op, n, o);
  CHECK(lr.all_converged);
  const double pi = 3.14159265358979323846;
  for (index_t i = 0; i < 4; ++i) {
    const index_t j = n - 3 + i;
    CHECK(lr.values.data()[i] == Approx(2.0 - 2.0 * std::cos(j * pi / (n + 1))).epsilon(1e-9));
    CHECK(lr.residuals[i] <= 1e-8);
  }
  // the same seed gives the same result bit for bit
  auto again = lanczos<double>(op, n, o);
  CHECK(again.matvecs == lr.matvecs);
  for (index_t i = 0; i < 4; ++i) CHECK(again.values.data()[i] == lr.values.data()[i]);
}

TEST_CASE("lanczos: honest report when the iteration budget is too small", "[linalg][lanczos]") {
  const index_t n = 300;
  Generator g(5);
  auto A = Tensor<float>::empty({n, n});
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j) A.data()[i * n + j] = A.data()[j * n + i] = static_cast<float>(g.normal());
  LanczosOptions o;
  o.k = 10;
  o.ncv = 21;
  o.max_restarts = 1;
  o.tol = 1e-7;
  auto lr = lanczos<float>(dense_op(A), n, o);
  CHECK_FALSE(lr.all_converged);
  CHECK(lr.converged < 10);
  CHECK(lr.restarts == 1);
  REQUIRE(lr.residual_estimates.size() == 10u);
}

TEST_CASE("lanczos: invariant start subspace (breakdown) is handled", "[linalg][lanczos]") {
  // A diagonal operator with few distinct values: the Krylov space is exhausted after 3 steps.
  const index_t n = 50;
  auto op = [n](const double* x, double* y) {
    for (index_t i = 0; i < n; ++i) y[i] = (i < 10 ? 5.0 : (i < 20 ? 2.0 : 1.0)) * x[i];
  };
  LanczosOptions o;
  o.k = 2;
  o.ncv = 20;
  auto lr = lanczos<double>(op, n, o);
  CHECK(lr.all_converged);
  // the multiplicity-10 eigenvalue 5 can be found twice only after a breakdown restart
  CHECK(lr.values.data()[1] == Approx(5.0));
  CHECK(lr.values.data()[0] == Approx(5.0));
}

TEST_CASE("eigh with the lanczos method", "[linalg][lanczos][eigh]") {
  const index_t n = 400;
  auto A = orthogonal_with_spectrum<float>(dominant_spectrum(n), 2);
  EighOptions o;
  o.method = EighMethod::lanczos;
  o.subset = EighSubset::largest;
  o.k = 8;
  o.descending = true;
  auto r = eigh(A, o);
  CHECK(r.info.method == EighMethod::lanczos);
  CHECK(r.info.all_converged);
  CHECK(r.info.matvecs > 0);
  // true residuals only on request (k more products); the estimates always
  CHECK(r.info.residuals.empty());
  REQUIRE(r.info.residual_estimates.size() == 8u);
  o.residuals = true;
  auto rr = eigh(A, o);
  CHECK(rr.info.matvecs == r.info.matvecs + 8);
  REQUIRE(rr.info.residuals.size() == 8u);
  REQUIRE(rr.info.residual_estimates == r.info.residual_estimates);
  for (index_t i = 0; i < 8; ++i) {
    CHECK(rr.values.data()[i] == r.values.data()[i]);
    // the estimate met the tolerance (1e-6·‖A‖, ‖A‖ = 12 here); the true residual differs
    // from it only by the products' rounding
    CHECK(rr.info.residual_estimates[i] <= 1.2e-5 * (1 + 1e-9));
    CHECK(rr.info.residuals[i] <= 2.4e-5);
  }
  o.residuals = false;
  o.method = EighMethod::tridiagonal;
  auto d = eigh(A, o);
  for (index_t i = 0; i < 8; ++i) {
    CHECK(r.values.data()[i] == Approx(d.values.data()[i]).epsilon(1e-5));
    // same sign convention → same vectors (distinct eigenvalues; the 2e-3 cluster limits it)
    double diff = 0;
    for (index_t j = 0; j < n; ++j) diff = std::max(diff, static_cast<double>(std::fabs(r.vectors.data()[j * 8 + i] - d.vectors.data()[j * 8 + i])));
    CHECK(diff < 2e-3);
  }
}

TEST_CASE("lanczos: argument errors", "[linalg][lanczos][errors]") {
  using Catch::Matchers::Contains;
  auto op = [](const float* x, float* y) { y[0] = x[0]; };
  LanczosOptions o;
  o.k = 0;
  REQUIRE_THROWS_WITH(lanczos<float>(op, 10, o), Contains("lanczos") && Contains("k = 0"));
  o.k = 10;
  REQUIRE_THROWS_WITH(lanczos<float>(op, 10, o), Contains("k = 10"));
  o.k = 3;
  o.ncv = 3;
  REQUIRE_THROWS_WITH(lanczos<float>(op, 10, o), Contains("ncv = 3"));
  o.ncv = 11;
  REQUIRE_THROWS_WITH(lanczos<float>(op, 10, o), Contains("ncv = 11"));
}

TEST_CASE("eigh lanczos on a packed 1000x1000 float matrix: top-20 agrees with dense eigh", "[linalg][lanczos][eigh]") {
  // n not a multiple of the SIMD width, a semicircle bulk (clustered top eigenvalues) plus
  // gaps from a few planted directions: the bench's two matrix kinds in one.
  const index_t n = 1000;
  Generator g(21);
  std::vector<double> S(static_cast<std::size_t>(n * n));
  for (index_t i = 0; i < n; ++i)
    for (index_t j = i; j < n; ++j) S[i * n + j] = S[j * n + i] = g.normal() / std::sqrt(static_cast<double>(n));
  for (double st : {6.0, -5.0, 4.0, 3.0}) {
    std::vector<double> u(static_cast<std::size_t>(n));
    double nu = 0;
    for (auto& x : u) {
      x = g.normal();
      nu += x * x;
    }
    for (index_t i = 0; i < n; ++i)
      for (index_t j = 0; j < n; ++j) S[i * n + j] += st * u[i] * u[j] / nu;
  }
  auto A = Tensor<float>::empty({n, n});
  for (index_t i = 0; i < n * n; ++i) A.data()[i] = static_cast<float>(S[i]);
  EighOptions od;
  od.subset = EighSubset::largest;
  od.k = 20;
  auto d = eigh(A, od);
  for (bool dbl : {false, true}) {
    INFO("basis_in_double " << dbl);
    EighOptions o = od;
    o.method = EighMethod::lanczos;
    o.lanczos_basis_in_double = dbl;
    o.residuals = true;
    auto r = eigh(A, o);
    CHECK(r.info.all_converged);
    REQUIRE(r.info.residuals.size() == 20u);
    for (index_t i = 0; i < 20; ++i) {
      CHECK(std::fabs(r.values.data()[i] - d.values.data()[i]) <= 1e-5 * std::fabs(d.values.data()[i]));
      CHECK(r.info.residuals[i] <= 1e-5 * 6.0);
    }
  }
}
