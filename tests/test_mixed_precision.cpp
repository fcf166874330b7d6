// Mixed-precision training (ops/precision_scope.hpp): under PrecisionScope(bf16) every GEMM of
// linear, the bilinear layer, matmul, linear_cross_entropy and causal_attention — forward and
// backward — equals an fp64 reference computed from explicitly bf16-rounded operands, within
// the fp32 summation bound of kernels/gemm_bf16.hpp:
//   |C − Σ_k rb(a_k)·rb(b_k)| ≤ (K + 2)·2⁻²⁴·Σ_k |rb(a_k)·rb(b_k)|
// (K products exact in fp32, K − 1 additions, the alpha scaling and a bias or beta·C add).
// Operands that the op computes itself (softmax probabilities, dS, d(logits), the bilinear
// product's gradient) are known only to within a bound δ of their fp64 reference; for those the
// reference widens each term by how far bf16 rounding can move a value anywhere in [v − δ, v + δ]
// (rounding is monotonic, so that is max(rb(v + δ) − rb(v), rb(v) − rb(v − δ))) — still a
// rigorous bound, and zero for all but the few values near a rounding midpoint.
// Every bf16 result must also differ from the fp32 one by about bf16 rounding (so a silently
// ignored precision fails), the precision must be the one captured at forward time, fp32 must
// stay the default and bit-identical, and the three trainers must train under bf16 to within a
// tolerance of fp32 and record their precision in checkpoints that resume.
#include <bilin/core.hpp>
#include <bilin/io/safetensors.hpp>
#include <bilin/train/classifier_trainer.hpp>
#include <bilin/train/lm_trainer.hpp>
#include <bilin/train/sae_trainer.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "classifier_support.hpp"
#include "test_support.hpp"

using namespace bilin;

namespace {

constexpr double kMpU = 1.0 / 16777216.0;  // 2⁻²⁴, fp32's unit roundoff

double mp_rb(double v) { return static_cast<double>(round_bf16(static_cast<float>(v))); }

// How far bf16 rounding of a value within δ of v can land from rb(v).
double mp_slack(double v, double delta) {
  if (delta <= 0) return 0;
  const double r = mp_rb(v);
  return std::max(mp_rb(v + delta) - r, r - mp_rb(v - delta));
}

using MpGet = std::function<double(index_t, index_t)>;

// Reference of C[i, j] = alpha·Σ_k rb(A(i, k))·rb(B(k, j)) in fp64 and the bound on an fp32-
// accumulated result: operand errors (slacks sa, sb of the rounded operands; null = exact
// operands) plus the summation bound. abs32 = Σ|a·b| of the unrounded operands.
struct MpRef {
  index_t M = 0, N = 0;
  std::vector<double> val, bound, abs32;
};

MpRef mp_ref(index_t M, index_t N, index_t K, double alpha, const MpGet& A, const MpGet& B, const MpGet& sa = nullptr,
             const MpGet& sb = nullptr) {
  MpRef r;
  r.M = M, r.N = N;
  r.val.resize(static_cast<std::size_t>(M * N));
  r.bound.resize(r.val.size());
  r.abs32.resize(r.val.size());
  for (index_t i = 0; i < M; ++i)
    for (index_t j = 0; j < N; ++j) {
      double v = 0, mag = 0, operand = 0, a32 = 0;
      for (index_t k = 0; k < K; ++k) {
        const double a = A(i, k), b = B(k, j), ra = mp_rb(a), rbv = mp_rb(b);
        const double ea = sa ? mp_slack(a, sa(i, k)) : 0.0, eb = sb ? mp_slack(b, sb(k, j)) : 0.0;
        v += ra * rbv;
        mag += (std::abs(ra) + ea) * (std::abs(rbv) + eb);
        operand += ea * std::abs(rbv) + eb * std::abs(ra) + ea * eb;
        a32 += std::abs(a * b);
      }
      const auto e = static_cast<std::size_t>(i * N + j);
      r.val[e] = alpha * v;
      r.bound[e] = std::abs(alpha) * (operand + static_cast<double>(K + 2) * kMpU * mag) + 1e-30;
      r.abs32[e] = std::abs(alpha) * a32;
    }
  return r;
}

// got (bf16) within the reference bound (plus `extra` per element, e.g. a bias's magnitude).
void mp_check_ref(const std::vector<float>& got, const MpRef& ref, const char* what,
                  const std::vector<double>& extra_val = {}, const std::vector<double>& extra_bound = {}) {
  INFO(what);
  REQUIRE(got.size() == ref.val.size());
  std::size_t bad = 0;
  double worst = 0;
  for (std::size_t e = 0; e < got.size(); ++e) {
    const double want = ref.val[e] + (extra_val.empty() ? 0.0 : extra_val[e]);
    const double tol = ref.bound[e] + (extra_bound.empty() ? 0.0 : extra_bound[e]);
    const double err = std::abs(static_cast<double>(got[e]) - want);
    worst = std::max(worst, err / tol);
    bad += !(err <= tol);
  }
  INFO("worst error / bound = " << worst);
  CHECK(bad == 0);
}

// bf16 and fp32 results differ by about bf16 rounding: somewhere by more than 2⁻¹² of Σ|a·b|
// (fp32 summation alone stays below K·2⁻²⁴ of it), nowhere by more than `hi` of it
// (2·2⁻⁸ + 2⁻¹⁶ + 2K·2⁻²⁴ for exact operands, per kernels/gemm_bf16.hpp).
void mp_check_differs(const std::vector<float>& bf, const std::vector<float>& fp, const std::vector<double>& abs32,
                      const char* what, double hi = 1.0 / 64) {
  INFO(what);
  REQUIRE(bf.size() == fp.size());
  double most = 0;
  std::size_t over = 0;
  for (std::size_t e = 0; e < bf.size(); ++e) {
    const double d = std::abs(static_cast<double>(bf[e]) - fp[e]) / (abs32[e] + 1e-30);
    most = std::max(most, d);
    over += d > hi;
  }
  INFO("largest difference / sum|a b| = " << most);
  CHECK(most > 1.0 / 4096);
  CHECK(over == 0);
}

TensorF mp_randn(const Shape& s, std::uint64_t seed, double mean = 0, double stddev = 1) {
  Generator g(seed);
  return TensorF::randn(s, g, mean, stddev);
}

std::vector<float> mp_grad(const TensorF& t) { return t.grad().to_vector(); }

}  // namespace

TEST_CASE("precision scope: fp32 by default, nests, restores, and is per thread", "[mixed]") {
  CHECK(matmul_precision() == Precision::fp32);
  {
    const PrecisionScope outer(Precision::bf16);
    CHECK(matmul_precision() == Precision::bf16);
    {
      const PrecisionScope inner(Precision::fp32);
      CHECK(matmul_precision() == Precision::fp32);
    }
    CHECK(matmul_precision() == Precision::bf16);
    // an OpenMP worker does not inherit the scope (ops read it before their parallel regions)
    std::vector<Precision> seen(2, Precision::bf16);
    int team = 1;
#pragma omp parallel num_threads(2)
    {
      seen[static_cast<std::size_t>(omp_get_thread_num())] = matmul_precision();
#pragma omp single
      team = omp_get_num_threads();
    }
    CHECK(seen[0] == Precision::bf16);
    if (team == 2) CHECK(seen[1] == Precision::fp32);
  }
  CHECK(matmul_precision() == Precision::fp32);

  // the default path is exactly kernels::gemm<float>
  const TensorF x = mp_randn({7, 33}, 1), W = mp_randn({9, 33}, 2);
  std::vector<float> want(7 * 9);
  kernels::gemm<float>(kernels::Trans::N, kernels::Trans::T, 7, 9, 33, 1.0f, x.data(), 33, W.data(), 33, 0.0f,
                       want.data(), 9);
  CHECK(linear(x, W).to_vector() == want);
  CHECK(matmul(x, W.t()).to_vector() == want);
  {
    const PrecisionScope s(Precision::bf16);
    CHECK(linear(x, W).to_vector() != want);
    const PrecisionScope back(Precision::fp32);
    CHECK(linear(x, W).to_vector() == want);
  }
  // double tensors ignore the scope (gradchecks and fp64 references stay fp64)
  const TensorD xd = mp_randn({4, 5}, 3).to<double>(), Wd = mp_randn({3, 5}, 4).to<double>();
  const auto plain = linear(xd, Wd).to_vector();
  const PrecisionScope s(Precision::bf16);
  CHECK(linear(xd, Wd).to_vector() == plain);
}

TEST_CASE("linear under bf16: forward, dx, dW match the bf16-operand reference; db stays fp32", "[mixed]") {
  const index_t n = 15, in = 24, out = 20;
  const TensorF x0 = mp_randn({3, 5, in}, 10), W0 = mp_randn({out, in}, 11), b0 = mp_randn({out}, 12);
  const TensorF g = mp_randn({3, 5, out}, 13);
  struct Run {
    std::vector<float> y, dx, dW, db;
  };
  auto run = [&](Precision p) {
    TensorF x = x0.clone().requires_grad_(), W = W0.clone().requires_grad_(), b = b0.clone().requires_grad_();
    TensorF y;
    {
      const PrecisionScope s(p);
      y = linear(x, W, b);
    }
    y.backward(g);  // outside the scope: the node kept the forward's precision
    return Run{y.to_vector(), mp_grad(x), mp_grad(W), mp_grad(b)};
  };
  const Run bf = run(Precision::bf16), fp = run(Precision::fp32);
  const float *xp = x0.data(), *Wp = W0.data(), *gp = g.data();
  const MpRef y = mp_ref(
      n, out, in, 1, [&](index_t i, index_t k) { return xp[i * in + k]; },
      [&](index_t k, index_t j) { return Wp[j * in + k]; });
  std::vector<double> bias(y.val.size()), bias_bound(y.val.size());
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < out; ++j) {
      bias[i * out + j] = b0.data()[j];
      bias_bound[i * out + j] = 2 * kMpU * std::abs(b0.data()[j]);
    }
  mp_check_ref(bf.y, y, "y = x Wᵀ + b", bias, bias_bound);
  mp_check_differs(bf.y, fp.y, y.abs32, "y", 1.0 / 64 + 1e-3);
  const MpRef dx = mp_ref(
      n, in, out, 1, [&](index_t i, index_t j) { return gp[i * out + j]; },
      [&](index_t j, index_t k) { return Wp[j * in + k]; });
  mp_check_ref(bf.dx, dx, "dx = g W");
  mp_check_differs(bf.dx, fp.dx, dx.abs32, "dx");
  const MpRef dW = mp_ref(
      out, in, n, 1, [&](index_t j, index_t i) { return gp[i * out + j]; },
      [&](index_t i, index_t k) { return xp[i * in + k]; });
  mp_check_ref(bf.dW, dW, "dW = gᵀ x");
  mp_check_differs(bf.dW, fp.dW, dW.abs32, "dW");
  CHECK(bf.db == fp.db);  // a reduction: fp32 either way
}

TEST_CASE("the precision is captured by the node: backward follows the forward's scope", "[mixed]") {
  const TensorF x0 = mp_randn({6, 16}, 20), W0 = mp_randn({8, 16}, 21), g = mp_randn({6, 8}, 22);
  auto grads = [&](Precision fwd, Precision bwd) {
    TensorF x = x0.clone().requires_grad_(), W = W0.clone().requires_grad_();
    TensorF y;
    {
      const PrecisionScope s(fwd);
      y = matmul(x, W.t());
    }
    const PrecisionScope s(bwd);
    y.backward(g);
    return std::make_pair(mp_grad(x), mp_grad(W));
  };
  const auto bf_in = grads(Precision::bf16, Precision::bf16), bf_out = grads(Precision::bf16, Precision::fp32);
  const auto fp_in = grads(Precision::fp32, Precision::bf16), fp_out = grads(Precision::fp32, Precision::fp32);
  CHECK(bf_in == bf_out);
  CHECK(fp_in == fp_out);
  CHECK(bf_in.first != fp_in.first);
  CHECK(bf_in.second != fp_in.second);
}

TEST_CASE("batched matmul under bf16 (a transposed operand): forward and both gradients", "[mixed]") {
  const index_t B = 2, M = 6, K = 20, N = 7;
  const TensorF a0 = mp_randn({B, M, K}, 30), bt0 = mp_randn({B, N, K}, 31), g = mp_randn({B, M, N}, 32);
  auto run = [&](Precision p) {
    TensorF a = a0.clone().requires_grad_(), bt = bt0.clone().requires_grad_();
    TensorF y;
    {
      const PrecisionScope s(p);
      y = matmul(a, bt.transpose(-1, -2));  // read through Trans::T, no copy
    }
    y.backward(g);
    return std::vector<std::vector<float>>{y.to_vector(), mp_grad(a), mp_grad(bt)};
  };
  const auto bf = run(Precision::bf16), fp = run(Precision::fp32);
  for (index_t bi = 0; bi < B; ++bi) {
    const float* ap = a0.data() + bi * M * K;
    const float* bp = bt0.data() + bi * N * K;
    const float* gp = g.data() + bi * M * N;
    auto part = [](const std::vector<float>& v, index_t off, index_t len) {
      return std::vector<float>(v.begin() + off, v.begin() + off + len);
    };
    const MpRef y = mp_ref(
        M, N, K, 1, [&](index_t i, index_t k) { return ap[i * K + k]; },
        [&](index_t k, index_t j) { return bp[j * K + k]; });
    mp_check_ref(part(bf[0], bi * M * N, M * N), y, "a bᵀ");
    mp_check_differs(part(bf[0], bi * M * N, M * N), part(fp[0], bi * M * N, M * N), y.abs32, "a bᵀ");
    const MpRef da = mp_ref(
        M, K, N, 1, [&](index_t i, index_t j) { return gp[i * N + j]; },
        [&](index_t j, index_t k) { return bp[j * K + k]; });
    mp_check_ref(part(bf[1], bi * M * K, M * K), da, "da = g b");
    mp_check_differs(part(bf[1], bi * M * K, M * K), part(fp[1], bi * M * K, M * K), da.abs32, "da");
    const MpRef dbt = mp_ref(
        N, K, M, 1, [&](index_t j, index_t i) { return gp[i * N + j]; },
        [&](index_t i, index_t k) { return ap[i * K + k]; });
    mp_check_ref(part(bf[2], bi * N * K, N * K), dbt, "d(bᵀ)ᵀ = gᵀ a");
    mp_check_differs(part(bf[2], bi * N * K, N * K), part(fp[2], bi * N * K, N * K), dbt.abs32, "dbt");
  }
}

TEST_CASE("the bilinear layer under bf16: output and weight/input gradients", "[mixed]") {
  Generator gen(40);
  const index_t n = 12, in = 16, h = 10;
  nn::Bilinear<float> layer(in, h, Gate::None, true, gen);
  const TensorF x0 = mp_randn({n, in}, 41), g = mp_randn({n, h}, 42);
  const std::vector<float> W0 = layer.weight.to_vector(), b0 = layer.bias.to_vector();
  auto run = [&](Precision p) {
    layer.zero_grad();
    TensorF x = x0.clone().requires_grad_();
    TensorF y;
    {
      const PrecisionScope s(p);
      y = layer.forward(x);
    }
    y.backward(g);
    return std::vector<std::vector<float>>{y.to_vector(), mp_grad(x), mp_grad(layer.weight)};
  };
  const auto bf = run(Precision::bf16), fp = run(Precision::fp32);
  const float *xp = x0.data(), *gp = g.data();
  // z = x [W; V]ᵀ + b, its bound e; y = l ⊙ r
  const MpRef z = mp_ref(
      n, 2 * h, in, 1, [&](index_t i, index_t k) { return xp[i * in + k]; },
      [&](index_t k, index_t j) { return W0[j * in + k]; });
  std::vector<double> zv(z.val.size()), ze(z.val.size());
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < 2 * h; ++j) {
      const auto e = static_cast<std::size_t>(i * 2 * h + j);
      zv[e] = z.val[e] + b0[j];
      ze[e] = z.bound[e] + 2 * kMpU * (std::abs(zv[e]) + std::abs(b0[j]));
    }
  auto L = [&](index_t i, index_t j) { return static_cast<std::size_t>(i * 2 * h + j); };
  auto R = [&](index_t i, index_t j) { return static_cast<std::size_t>(i * 2 * h + h + j); };
  std::size_t bad = 0;
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < h; ++j) {
      const double l = zv[L(i, j)], r = zv[R(i, j)], el = ze[L(i, j)], er = ze[R(i, j)];
      const double tol = std::abs(l) * er + std::abs(r) * el + el * er + 2 * kMpU * std::abs(l * r);
      bad += !(std::abs(bf[0][i * h + j] - l * r) <= tol);
    }
  CHECK(bad == 0);
  CHECK(bf[0] != fp[0]);
  // dz = [g ⊙ r, g ⊙ l], computed in fp32 from the bf16 z: an operand known to within δ
  auto dz = [&](index_t i, index_t j) {
    return j < h ? gp[i * h + j] * zv[R(i, j)] : gp[i * h + j - h] * zv[L(i, j - h)];
  };
  auto dz_delta = [&](index_t i, index_t j) {
    const double gg = std::abs(j < h ? gp[i * h + j] : gp[i * h + j - h]);
    return gg * (j < h ? ze[R(i, j)] : ze[L(i, j - h)]) + 2 * kMpU * std::abs(dz(i, j));
  };
  const MpRef dx = mp_ref(
      n, in, 2 * h, 1, dz, [&](index_t j, index_t k) { return W0[j * in + k]; }, dz_delta);
  mp_check_ref(bf[1], dx, "dx = dz [W; V]");
  mp_check_differs(bf[1], fp[1], dx.abs32, "dx", 1.0 / 16);
  const MpRef dW = mp_ref(
      2 * h, in, n, 1, [&](index_t j, index_t i) { return dz(i, j); },
      [&](index_t i, index_t k) { return xp[i * in + k]; }, [&](index_t j, index_t i) { return dz_delta(i, j); });
  mp_check_ref(bf[2], dW, "d[W; V] = dzᵀ x");
  mp_check_differs(bf[2], fp[2], dW.abs32, "dW", 1.0 / 16);
}

TEST_CASE("linear_cross_entropy (the unembedding) under bf16: loss, dx, dW", "[mixed]") {
  const index_t Nr = 16, D = 24, V = 30;
  const TensorF x0 = mp_randn({2, 8, D}, 50), W0 = mp_randn({V, D}, 51, 0, 0.5);
  IndexTensor t = IndexTensor::empty({2, 8});
  Generator tg(52);
  for (index_t i = 0; i < Nr; ++i) t.data()[i] = static_cast<std::int64_t>(tg.randint(V));
  auto run = [&](Precision p) {
    TensorF x = x0.clone().requires_grad_(), W = W0.clone().requires_grad_();
    TensorF loss;
    {
      const PrecisionScope s(p);
      loss = linear_cross_entropy(x, W, t);
    }
    loss.backward();
    return std::make_tuple(static_cast<double>(loss.item()), mp_grad(x), mp_grad(W));
  };
  const auto [loss_bf, dx_bf, dW_bf] = run(Precision::bf16);
  const auto [loss_fp, dx_fp, dW_fp] = run(Precision::fp32);
  const float *xp = x0.data(), *Wp = W0.data();
  const MpRef logits = mp_ref(
      Nr, V, D, 1, [&](index_t i, index_t k) { return xp[i * D + k]; },
      [&](index_t k, index_t j) { return Wp[j * D + k]; });
  // fp64 softmax of the reference logits, and how far the fp32 one can be from it
  std::vector<double> dL(static_cast<std::size_t>(Nr * V)), dL_delta(dL.size());
  double loss_ref = 0, loss_tol = 0;
  for (index_t i = 0; i < Nr; ++i) {
    const double* l = logits.val.data() + i * V;
    double mx = l[0], emax = 0, s = 0;
    for (index_t j = 0; j < V; ++j) mx = std::max(mx, l[j]), emax = std::max(emax, logits.bound[i * V + j]);
    for (index_t j = 0; j < V; ++j) s += std::exp(l[j] - mx);
    const std::int64_t ti = t.data()[i];
    loss_ref += (mx + std::log(s) - l[ti]) / Nr;
    loss_tol += (2 * emax + 16 * kMpU * (std::abs(mx) + 1)) / Nr;
    for (index_t j = 0; j < V; ++j) {
      const double p = std::exp(l[j] - mx) / s;
      const auto e = static_cast<std::size_t>(i * V + j);
      dL[e] = (p - (j == ti)) / Nr;
      dL_delta[e] = (p * (std::exp(2 * emax) - 1 + 32 * kMpU) + 4 * kMpU) / Nr;
    }
  }
  CHECK(std::abs(loss_bf - loss_ref) <= loss_tol + 4 * kMpU * loss_ref);
  CHECK(loss_bf != loss_fp);
  const MpRef dx = mp_ref(
      Nr, D, V, 1, [&](index_t i, index_t j) { return dL[i * V + j]; },
      [&](index_t j, index_t k) { return Wp[j * D + k]; }, [&](index_t i, index_t j) { return dL_delta[i * V + j]; });
  mp_check_ref(dx_bf, dx, "dx = dL W");
  mp_check_differs(dx_bf, dx_fp, dx.abs32, "dx", 1.0 / 16);
  const MpRef dW = mp_ref(
      V, D, Nr, 1, [&](index_t j, index_t i) { return dL[i * V + j]; },
      [&](index_t i, index_t k) { return xp[i * D + k]; }, [&](index_t j, index_t i) { return dL_delta[i * V + j]; });
  mp_check_ref(dW_bf, dW, "dW = dLᵀ x");
  mp_check_differs(dW_bf, dW_fp, dW.abs32, "dW", 1.0 / 16);
}

TEST_CASE("causal attention under bf16: output and d(qkv) against the bf16-operand reference", "[mixed]") {
  const index_t T = 10, H = 2, dh = 8, D = H * dh, ld = 3 * D;
  const TensorF qkv0 = mp_randn({1, T, ld}, 60), g = mp_randn({1, T, D}, 61);
  auto run = [&](Precision p) {
    TensorF qkv = qkv0.clone().requires_grad_();
    TensorF o;
    {
      const PrecisionScope s(p);
      o = causal_attention(qkv, H);
    }
    o.backward(g);
    return std::make_pair(o.to_vector(), mp_grad(qkv));
  };
  const auto [o_bf, d_bf] = run(Precision::bf16);
  const auto [o_fp, d_fp] = run(Precision::fp32);
  const double scale = static_cast<double>(static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh))));
  const float* X = qkv0.data();
  const float* G = g.data();
  for (index_t h = 0; h < H; ++h) {
    INFO("head " << h);
    auto q = [&](index_t t, index_t c) { return static_cast<double>(X[t * ld + h * dh + c]); };
    auto k = [&](index_t t, index_t c) { return static_cast<double>(X[t * ld + D + h * dh + c]); };
    auto v = [&](index_t t, index_t c) { return static_cast<double>(X[t * ld + 2 * D + h * dh + c]); };
    auto dO = [&](index_t t, index_t c) { return static_cast<double>(G[t * D + h * dh + c]); };
    auto head = [&](const std::vector<float>& all, index_t width, index_t off) {
      std::vector<float> r;
      for (index_t t = 0; t < T; ++t)
        for (index_t c = 0; c < dh; ++c) r.push_back(all[t * width + off + h * dh + c]);
      return r;
    };
    // S = scale q kᵀ (one rounding more for the scale), P = causal softmax, δP its bound
    const MpRef S = mp_ref(T, T, dh, scale, q, [&](index_t c, index_t j) { return k(j, c); });
    std::vector<double> P(T * T, 0.0), dP_delta(T * T, 0.0);
    for (index_t i = 0; i < T; ++i) {
      double mx = -1e300, emax = 0, smax = 0, s = 0;
      for (index_t j = 0; j <= i; ++j) {
        mx = std::max(mx, S.val[i * T + j]);
        smax = std::max(smax, std::abs(S.val[i * T + j]));
        emax = std::max(emax, S.bound[i * T + j] + kMpU * std::abs(S.val[i * T + j]));
      }
      for (index_t j = 0; j <= i; ++j) s += std::exp(S.val[i * T + j] - mx);
      for (index_t j = 0; j <= i; ++j) {
        P[i * T + j] = std::exp(S.val[i * T + j] - mx) / s;
        // S errors move the exponent S − lse by ≤ 2·emax; fp32 rounding of S − m, of lse and
        // exp's own error add a few ulps of |S| and of the result
        dP_delta[i * T + j] = P[i * T + j] * (std::exp(2 * emax + 8 * kMpU * (2 * smax + 1)) - 1 + 32 * kMpU);
      }
    }
    const MpRef O = mp_ref(
        T, dh, T, 1, [&](index_t i, index_t j) { return P[i * T + j]; }, v,
        [&](index_t i, index_t j) { return dP_delta[i * T + j]; });
    mp_check_ref(head(o_bf, D, 0), O, "o = P v");
    mp_check_differs(head(o_bf, D, 0), head(o_fp, D, 0), O.abs32, "o", 1.0 / 16);
    // backward: dV = Pᵀ dO, dP = dO vᵀ (exact operands), Di = Σ dO ⊙ O, dS = scale P (dP − Di)
    const MpRef dV = mp_ref(
        T, dh, T, 1, [&](index_t j, index_t i) { return P[i * T + j]; }, dO,
        [&](index_t j, index_t i) { return dP_delta[i * T + j]; });
    mp_check_ref(head(d_bf, ld, 2 * D), dV, "dv = Pᵀ dO");
    const MpRef dPm = mp_ref(T, T, dh, 1, dO, [&](index_t c, index_t j) { return v(j, c); });
    std::vector<double> dS(T * T, 0.0), dS_delta(T * T, 0.0);
    for (index_t i = 0; i < T; ++i) {
      double Di = 0, Di_delta = 0;
      for (index_t c = 0; c < dh; ++c) {
        Di += dO(i, c) * O.val[i * dh + c];
        Di_delta += std::abs(dO(i, c)) * O.bound[i * dh + c];
      }
      Di_delta += 2 * kMpU * std::abs(Di) + 1e-30;
      for (index_t j = 0; j <= i; ++j) {
        const auto e = static_cast<std::size_t>(i * T + j);
        const double diff = dPm.val[e] - Di, diff_delta = dPm.bound[e] + Di_delta;
        dS[e] = scale * P[e] * diff;
        dS_delta[e] = scale * (dP_delta[e] * (std::abs(diff) + diff_delta) + P[e] * diff_delta) +
                      4 * kMpU * std::abs(dS[e]);
      }
    }
    const MpRef dQ = mp_ref(
        T, dh, T, 1, [&](index_t i, index_t j) { return dS[i * T + j]; }, k,
        [&](index_t i, index_t j) { return dS_delta[i * T + j]; });
    mp_check_ref(head(d_bf, ld, 0), dQ, "dq = dS k");
    // no upper bound here: the first query sees one key, so its dS = P (dP − Di) cancels to
    // rounding noise in both precisions
    mp_check_differs(head(d_bf, ld, 0), head(d_fp, ld, 0), dQ.abs32, "dq", 1e300);
    const MpRef dK = mp_ref(
        T, dh, T, 1, [&](index_t j, index_t i) { return dS[i * T + j]; }, q,
        [&](index_t j, index_t i) { return dS_delta[i * T + j]; });
    mp_check_ref(head(d_bf, ld, D), dK, "dk = dSᵀ q");
  }
}

TEST_CASE("topk_encode under bf16: pre-activations from the bf16 GEMM", "[mixed]") {
  const index_t rows = 6, d = 12, n = 40, k = 4;
  const TensorF x = mp_randn({rows, d}, 70), W = mp_randn({n, d}, 71), b = mp_randn({d}, 72, 0, 0.1);
  SparseCode<float> bf, fp;
  {
    const PrecisionScope s(Precision::bf16);
    bf = topk_encode(x, W, b, k);
  }
  fp = topk_encode(x, W, b, k);
  // reference: the selected pre-activations rb(x − b) · rb(W[j]) (x − b is formed in fp32 first)
  auto xc = [&](index_t i, index_t c) {
    return static_cast<double>(static_cast<float>(x.data()[i * d + c] - b.data()[c]));
  };
  const MpRef pre = mp_ref(rows, n, d, 1, xc, [&](index_t c, index_t j) { return W.data()[j * d + c]; });
  std::size_t bad = 0;
  double diff = 0;
  for (index_t i = 0; i < rows; ++i)
    for (index_t s = 0; s < k; ++s) {
      const auto e = static_cast<std::size_t>(i * k + s);
      const auto j = static_cast<std::size_t>(bf.indices.data()[e]);
      bad += !(std::abs(bf.values.data()[e] - pre.val[i * n + j]) <= pre.bound[i * n + j]);
      if (fp.indices.data()[e] == bf.indices.data()[e]) diff = std::max(diff, static_cast<double>(std::abs(bf.values.data()[e] - fp.values.data()[e])));
    }
  CHECK(bad == 0);
  CHECK(diff > 0);
}

namespace {

train::TrainConfig mp_classifier_config(Precision p) {
  train::TrainConfig c = bilin_test::quadrant_config();
  c.precision = p;
  return c;
}

std::vector<std::vector<float>> mp_params(const std::vector<TensorF>& ps) {
  std::vector<std::vector<float>> out;
  for (const auto& p : ps) out.push_back(p.to_vector());
  return out;
}

// Every tensor of a checkpoint file is stored as fp32 or an integer type, never bf16/fp16.
void mp_check_fp32_file(const std::string& path) {
  for (const auto& [name, t] : io::load_safetensors(path)) {
    INFO(path << ": " << name);
    CHECK(t.file_dtype() != "BF16");
    CHECK(t.file_dtype() != "F16");
  }
}

}  // namespace

TEST_CASE("ClassifierTrainer under bf16: trains like fp32, records and resumes its precision", "[mixed][train]") {
  const auto train_set = bilin_test::quadrant_images(320, 1), test_set = bilin_test::quadrant_images(200, 2);
  train::ClassifierTrainer fp(mp_classifier_config(Precision::fp32), train_set, test_set);
  train::ClassifierTrainer bf(mp_classifier_config(Precision::bf16), train_set, test_set);
  bilin_test::run_classifier_steps(fp, 25);
  bilin_test::run_classifier_steps(bf, 25);
  CHECK(mp_params(fp.model().parameters()) != mp_params(bf.model().parameters()));
  const auto efp = fp.evaluate_test(), ebf = bf.evaluate_test();
  CHECK(efp.acc > 0.9);
  CHECK(std::abs(ebf.acc - efp.acc) <= 0.03);
  CHECK(std::abs(ebf.loss - efp.loss) <= 0.1 * efp.loss + 0.01);

  CHECK(train::TrainConfig::from_json(bf.config().to_json()).precision == Precision::bf16);
  CHECK(train::TrainConfig::from_json("{}").precision == Precision::fp32);  // older checkpoints
  CHECK_THAT(bilin_test::error_of([] { train::TrainConfig::from_json(R"({"precision": "fp16"})"); }),
             Catch::Matchers::Contains("unknown precision 'fp16'"));

  // checkpoint round trip: fp32 file, precision in the metadata, bit-identical continuation
  bilin_test::TempDir dir("mixed_classifier");
  const std::string path = dir.path + "/ckpt.safetensors";
  train::ClassifierTrainer a(mp_classifier_config(Precision::bf16), train_set, test_set);
  bilin_test::run_classifier_steps(a, 12);
  a.save(path);
  mp_check_fp32_file(path);
  CHECK_THAT(io::read_checkpoint_metadata(path).at("train.config"), Catch::Matchers::Contains(R"("precision":"bf16")"));
  bilin_test::run_classifier_steps(a, 8);
  auto r = train::ClassifierTrainer::resume(path, train_set, test_set);
  CHECK(r->config().precision == Precision::bf16);
  bilin_test::run_classifier_steps(*r, 8);
  CHECK(mp_params(r->model().parameters()) == mp_params(a.model().parameters()));
  // resuming at the other precision is allowed (the weights are fp32) and changes the steps
  auto r32 = train::ClassifierTrainer::resume(path, train_set, test_set);
  r32->set_precision(Precision::fp32);
  bilin_test::run_classifier_steps(*r32, 8);
  CHECK(mp_params(r32->model().parameters()) != mp_params(a.model().parameters()));
}

namespace {

train::LmTrainConfig mp_lm_config(Precision p) {
  train::LmTrainConfig c;
  c.model.vocab = 16;
  c.model.n_layer = 1;
  c.model.d_model = 32;
  c.model.n_head = 2;
  c.model.d_hidden = 64;
  c.model.n_ctx = 16;
  c.batch = 8;
  c.steps = 40;
  c.warmup = 4;
  c.eval_every = 40;
  c.eval_windows = 8;
  c.ckpt_every = 40;
  c.log_every = 40;
  c.lr = 1e-2;
  c.min_lr = 1e-3;
  c.precision = p;
  return c;
}

// A learnable token stream: x_{t+1} = (5 x_t + 3) mod 16 with a random token every 8th step.
std::vector<data::token_t> mp_tokens(std::size_t n, std::uint64_t seed) {
  Generator g(seed);
  std::vector<data::token_t> out(n);
  data::token_t x = 0;
  for (std::size_t i = 0; i < n; ++i) {
    x = i % 8 == 0 ? static_cast<data::token_t>(g.randint(16)) : static_cast<data::token_t>((5 * x + 3) % 16);
    out[i] = x;
  }
  return out;
}

}  // namespace

TEST_CASE("LmTrainer under bf16: validation loss near fp32's, precision in the run config", "[mixed][train]") {
  const auto train_tokens = mp_tokens(4000, 1), val_tokens = mp_tokens(1200, 2);
  auto run = [&](Precision p, const std::string& out) {
    train::LmTrainer t(mp_lm_config(p), train_tokens, val_tokens, "tokenizer", out);
    t.begin(false);
    const auto r = t.run();
    return std::make_pair(r.val_loss, mp_params(t.model().parameters()));
  };
  bilin_test::TempDir dir32("mixed_lm32"), dir16("mixed_lm16");
  const auto [v32, p32] = run(Precision::fp32, dir32.path);
  const auto [v16, p16] = run(Precision::bf16, dir16.path);
  CHECK(p32 != p16);
  CHECK(v32 < 0.75 * std::log(16.0));  // it learned something
  CHECK(std::abs(v16 - v32) <= 0.05 * v32);
  const std::string ckpt = dir16.path + "/ckpt.safetensors";
  mp_check_fp32_file(ckpt);
  CHECK_THAT(io::read_checkpoint_metadata(ckpt).at("run_config"), Catch::Matchers::Contains(R"("precision":"bf16")"));
  // a bf16 checkpoint resumes at fp32 (run 5 more steps)
  auto cfg = mp_lm_config(Precision::fp32);
  cfg.steps = 45;
  train::LmTrainer more(cfg, train_tokens, val_tokens, "tokenizer", dir16.path);
  CHECK(more.begin(true));
  CHECK(more.step() == 40);
  CHECK(std::isfinite(more.run().val_loss));
  CHECK(more.step() == 45);
}

TEST_CASE("SaeTrainer under bf16: reconstruction loss near fp32's, precision in the checkpoint", "[mixed][train]") {
  // low-rank data plus noise: something an SAE can reconstruct
  Generator gen(80);
  const TensorF basis = TensorF::randn({6, 16}, gen);
  auto batch = [&](index_t rows) {
    const TensorF c = TensorF::randn({rows, 6}, gen);
    NoGradGuard ng;
    return (matmul(c, basis) + TensorF::randn({rows, 16}, gen, 0, 0.05)).contiguous();
  };
  std::vector<TensorF> xs;
  for (int s = 0; s < 60; ++s) xs.push_back(batch(64));
  auto options = [](Precision p) {
    train::SaeTrainOptions o;
    o.k = 4;
    o.batch = 64;
    o.steps = 60;
    o.lr = 1e-2;
    o.min_lr = 1e-3;
    o.precision = p;
    return o;
  };
  auto run = [&](Precision p) {
    auto t = std::make_unique<train::SaeTrainer>(nn::SaeConfig{16, 64, 4}, options(p), 3);
    double last = 0;
    for (const auto& x : xs) last = t->step(x);
    return std::make_pair(last, std::move(t));
  };
  const auto [l32, t32] = run(Precision::fp32);
  const auto [l16, t16] = run(Precision::bf16);
  CHECK(t16->precision() == Precision::bf16);
  CHECK(mp_params(t32->sae().parameters()) != mp_params(t16->sae().parameters()));
  CHECK(l32 < 1.5);  // well below the data's variance (~6 per element)
  CHECK(std::abs(l16 - l32) <= 0.1 * l32 + 1e-3);
  bilin_test::TempDir dir("mixed_sae");
  const std::string path = dir.path + "/ckpt.safetensors";
  t16->save(path, {});
  mp_check_fp32_file(path);
  CHECK(io::read_checkpoint_metadata(path).at("precision") == "bf16");
  train::SaeTrainer back(nn::SaeConfig{16, 64, 4}, options(Precision::fp32), 9);
  back.load(path);
  CHECK(mp_params(back.sae().parameters()) == mp_params(t16->sae().parameters()));
  CHECK(back.steps_done() == 60);
}
