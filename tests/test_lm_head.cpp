// Fused unembedding + cross-entropy (ops/lm_head.hpp): equals linear + cross_entropy in value
// and gradient (several chunk sizes, ragged last chunk), gradcheck in double, errors.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>
#include <bilin/ops/lm_head.hpp>

using namespace bilin;
using Catch::Matchers::Contains;
using In = std::vector<TensorD>;

TEST_CASE("linear_cross_entropy equals cross_entropy(linear(x, W), t)") {
  Generator gen(1);
  const index_t B = 3, Tn = 7, D = 10, V = 37;
  auto tgt = IndexTensor::empty({B, Tn});
  for (index_t i = 0; i < tgt.numel(); ++i) tgt.data()[i] = static_cast<std::int64_t>(gen.randint(V));
  for (index_t chunk : {1, 4, 21, 512}) {
    auto x = TensorD::randn({B, Tn, D}, gen), W = TensorD::randn({V, D}, gen);
    auto x2 = x.clone(), W2 = W.clone();
    x.requires_grad_();
    W.requires_grad_();
    x2.requires_grad_();
    W2.requires_grad_();
    auto a = linear_cross_entropy(x, W, tgt, chunk);
    auto b = cross_entropy(linear(x2, W2), tgt);
    CHECK(a.item() == Approx(b.item()).epsilon(1e-13));
    (a * 2.5).backward();
    (b * 2.5).backward();
    const auto gx = x.grad().to_vector(), gx2 = x2.grad().to_vector();
    for (std::size_t i = 0; i < gx.size(); ++i) CHECK(gx[i] == Approx(gx2[i]).epsilon(1e-11).margin(1e-14));
    const auto gw = W.grad().to_vector(), gw2 = W2.grad().to_vector();
    for (std::size_t i = 0; i < gw.size(); ++i) CHECK(gw[i] == Approx(gw2[i]).epsilon(1e-11).margin(1e-14));
  }
  // float agrees with double
  auto x = TensorD::randn({64, 32}, gen), W = TensorD::randn({300, 32}, gen);
  auto t = IndexTensor::empty({64});
  for (index_t i = 0; i < 64; ++i) t.data()[i] = static_cast<std::int64_t>(gen.randint(300));
  CHECK(linear_cross_entropy(x.to<float>(), W.to<float>(), t).item() ==
        Approx(linear_cross_entropy(x, W, t).item()).epsilon(1e-5));
}

TEST_CASE("gradcheck: linear_cross_entropy (double)") {
  Generator gen(2);
  auto tgt = IndexTensor::from_vector({0, 4, 2, 4, 1, 3, 6, 0}, {2, 4});
  auto r = gradcheck([&](In& in) { return linear_cross_entropy(in[0], in[1], tgt, 3); },
                     {TensorD::randn({2, 4, 5}, gen), TensorD::randn({7, 5}, gen)});
  INFO(r.report());
  CHECK(r.max_error <= 1e-6);
}

TEST_CASE("linear_cross_entropy errors") {
  CHECK_THROWS_WITH(linear_cross_entropy(TensorF::zeros({2, 3}), TensorF::zeros({5, 4}), IndexTensor::zeros({2})),
                    Contains("does not match weight"));
  CHECK_THROWS_WITH(linear_cross_entropy(TensorF::zeros({2, 3}), TensorF::zeros({5, 3}), IndexTensor::zeros({3})),
                    Contains("targets of shape"));
  CHECK_THROWS_WITH(linear_cross_entropy(TensorF::zeros({2, 3}), TensorF::zeros({5, 3}), IndexTensor::from_vector({0, 5})),
                    Contains("target 5 at row 1"));
}
