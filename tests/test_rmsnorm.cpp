// Fused RMSNorm (ops/rmsnorm.hpp, nn/rmsnorm.hpp): against the composition of primitive ops
// (the official x · rsqrt(mean(x²) + eps)), gradcheck with and without weight, errors.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>
#include <bilin/nn/rmsnorm.hpp>

using namespace bilin;
using Catch::Matchers::Contains;
using In = std::vector<TensorD>;

TEST_CASE("rms_norm equals x * rsqrt(mean(x^2) + eps)") {
  Generator gen(1);
  for (index_t D : {1, 7, 16, 37}) {
    auto x = TensorD::randn({3, 4, D}, gen);
    auto ref = x * rsqrt(mean(square(x), {-1}, true) + 1e-8);
    auto y = rms_norm(x);
    const auto a = y.to_vector(), b = ref.to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).epsilon(1e-13));
    auto w = TensorD::randn({D}, gen);
    const auto c = rms_norm(x, w, 1e-5).to_vector(), d = (x * rsqrt(mean(square(x), {-1}, true) + 1e-5) * w).to_vector();
    for (std::size_t i = 0; i < c.size(); ++i) CHECK(c[i] == Approx(d[i]).epsilon(1e-13));
  }
  // float path agrees with double
  auto x = TensorD::randn({50, 64}, gen);
  const auto a = rms_norm(x.to<float>()).to_vector();
  const auto b = rms_norm(x).to_vector();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).epsilon(1e-5).margin(1e-6));
}

TEST_CASE("gradcheck: rms_norm (double)") {
  Generator gen(2);
  auto r = gradcheck([](In& x) { return rms_norm(x[0]); }, {TensorD::randn({4, 19}, gen)});
  INFO(r.report());
  CHECK(r.max_error <= 1e-6);
  auto r2 = gradcheck([](In& x) { return rms_norm(x[0], x[1], 1e-3); }, {TensorD::randn({3, 2, 9}, gen), TensorD::randn({9}, gen)});
  INFO(r2.report());
  CHECK(r2.max_error <= 1e-6);
  auto r3 = gradcheck([](In& x) { return rms_norm(x[0].t()); }, {TensorD::randn({6, 3}, gen)});  // strided input
  INFO(r3.report());
  CHECK(r3.max_error <= 1e-6);
  // many rows: the threaded path of the weight gradient
  auto x = TensorD::randn({600, 64}, gen), w = TensorD::randn({64}, gen);
  auto x2 = x.clone(), w2 = w.clone();
  x.requires_grad_();
  w.requires_grad_();
  x2.requires_grad_();
  w2.requires_grad_();
  auto seed = TensorD::randn({600, 64}, gen);
  rms_norm(x, w).backward(seed);
  (x2 * rsqrt(mean(square(x2), {-1}, true) + 1e-8) * w2).backward(seed);
  const auto ga = w.grad().to_vector(), gb = w2.grad().to_vector();
  for (std::size_t i = 0; i < ga.size(); ++i) CHECK(ga[i] == Approx(gb[i]).epsilon(1e-11));
  const auto xa = x.grad().to_vector(), xb = x2.grad().to_vector();
  for (std::size_t i = 0; i < xa.size(); ++i) CHECK(xa[i] == Approx(xb[i]).epsilon(1e-9).margin(1e-12));
}

TEST_CASE("nn::RMSNorm: official default has no parameters; affine has a ones weight") {
  nn::RMSNorm<float> n(8);
  CHECK(n.num_parameters() == 0);
  CHECK(n.eps() == 1e-8);
  nn::RMSNorm<float> a(8, 1e-6, true);
  REQUIRE(a.named_parameters().size() == 1);
  CHECK(a.named_parameters()[0].first == "weight");
  CHECK(a.weight.to_vector() == std::vector<float>(8, 1.0f));
  CHECK_THROWS_WITH(n.forward(TensorF::zeros({2, 7})), Contains("RMSNorm"));
  CHECK_THROWS_WITH(rms_norm(TensorF::zeros({2, 8}), TensorF::ones({7})), Contains("rms_norm"));
  // zero input stays finite thanks to eps
  auto y = n.forward(TensorF::zeros({1, 8}));
  for (float v : y.to_vector()) CHECK(v == 0.0f);
}
