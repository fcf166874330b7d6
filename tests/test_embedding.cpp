// nn::Embedding: lookup, N(0,1) init, gradcheck with repeated ids, range errors.
#include <catch2/catch.hpp>

#include <bilin/bilin.hpp>
#include <bilin/nn/embedding.hpp>

using namespace bilin;
using Catch::Matchers::Contains;
using In = std::vector<TensorD>;

TEST_CASE("Embedding picks rows and accumulates gradients of repeated ids") {
  Generator gen(1);
  nn::Embedding<double> emb(10, 4, gen);
  CHECK(emb.weight.shape() == Shape{10, 4});
  CHECK(emb.named_parameters()[0].first == "weight");
  auto ids = IndexTensor::from_vector({3, 1, 3, 9, 0, 3}, {2, 3});
  auto y = emb(ids);
  REQUIRE(y.shape() == Shape{2, 3, 4});
  for (index_t c = 0; c < 4; ++c) {
    CHECK(y.at({0, 0, c}) == emb.weight.at({3, c}));
    CHECK(y.at({1, 0, c}) == emb.weight.at({9, c}));
  }
  auto r = gradcheck([&](In& w) { return embedding(w[0], ids); }, {TensorD::randn({10, 4}, gen)});
  INFO(r.report());
  CHECK(r.max_error <= 1e-6);
  sum(emb(ids)).backward();
  CHECK(emb.weight.grad().at({3, 0}) == 3.0);
  CHECK(emb.weight.grad().at({2, 0}) == 0.0);
  CHECK_THROWS_WITH(emb(IndexTensor::from_vector({10}, {1})), Contains("out of range"));
}

TEST_CASE("Embedding init is N(0, 1)") {
  Generator gen(2);
  nn::Embedding<float> emb(1000, 64, gen);
  const auto v = emb.weight.to_vector();
  double s = 0, s2 = 0;
  for (float x : v) {
    s += x;
    s2 += static_cast<double>(x) * x;
  }
  const double m = s / v.size(), var = s2 / v.size() - m * m;
  CHECK(std::abs(m) < 0.01);
  CHECK(var == Approx(1.0).epsilon(0.02));
}
